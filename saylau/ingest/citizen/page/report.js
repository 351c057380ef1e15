// The public report page: no account, no cookie, no storage on the phone. It asks the
// gateway for a proof-of-work challenge, solves it (SHA-256 in plain JS, so it also works
// on a plain-http address where crypto.subtle is unavailable), then sends the report.
"use strict";
(function () {
  const $ = (selector) => document.querySelector(selector);
  let texts = {};
  let config = null;
  const t = (text) => texts[text] || text;

  // --- SHA-256 (FIPS 180-4), bytes in, bytes out ---------------------------------------
  const K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);
  function sha256(bytes) {
    const length = bytes.length;
    const padded = new Uint8Array(((length + 9 + 63) >> 6) << 6);
    padded.set(bytes);
    padded[length] = 0x80;
    const view = new DataView(padded.buffer);
    view.setUint32(padded.length - 4, length * 8);
    view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
    const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    const w = new Uint32Array(64);
    for (let offset = 0; offset < padded.length; offset += 64) {
      for (let i = 0; i < 16; i++) w[i] = view.getUint32(offset + i * 4);
      for (let i = 16; i < 64; i++) {
        const a = w[i - 15], b = w[i - 2];
        const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      let [a, b, c, d, e, f, g, hh] = h;
      for (let i = 0; i < 64; i++) {
        const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
        const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
        const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
    }
    const out = new Uint8Array(32);
    for (let i = 0; i < 32; i++) out[i] = (h[i >> 2] >>> (24 - 8 * (i & 3))) & 0xff;
    return out;
  }
  function zeroBits(digest) {
    let bits = 0;
    for (const byte of digest) {
      if (byte === 0) { bits += 8; continue; }
      return bits + Math.clz32(byte) - 24;
    }
    return bits;
  }
  function solve(challenge, bits) {
    const encoder = new TextEncoder();
    for (let nonce = 0; ; nonce++) {
      if (zeroBits(sha256(encoder.encode(challenge + ":" + nonce))) >= bits) return String(nonce);
    }
  }

  // --- texts and choices --------------------------------------------------------------
  function choose(select, values, label) {
    select.replaceChildren(...values.map((value) => {
      const option = document.createElement("option");
      option.value = value;
      option.textContent = label(value);
      return option;
    }));
  }
  async function language(code) {
    texts = await (await fetch(`/report/i18n/${code}.json`)).json();
    document.documentElement.lang = code;
    document.querySelectorAll("[data-t]").forEach((node) => { node.textContent = t(node.dataset.t); });
    document.title = t("Report employer pressure or administrative resource");
    const form = $("#report");
    choose(form.category, config.categories, (c) => t("category:" + c));
    choose(form.sector, config.sectors, (s) => t("sector:" + s));
    choose(form.region_code, config.regions, (r) => r);
  }
  function languageButtons() {
    $("#languages").replaceChildren(...config.languages.map((code) => {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = { kk: "Қазақша", ru: "Русский", en: "English" }[code] || code;
      button.addEventListener("click", () => language(code));
      return button;
    }));
  }

  // --- sending ------------------------------------------------------------------------
  const base64 = (buffer) => {
    let binary = "";
    const bytes = new Uint8Array(buffer);
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  };
  function say(text, error) {
    const status = $("#status");
    status.textContent = text;
    status.className = error ? "error" : "";
  }
  async function submit(event) {
    event.preventDefault();
    const form = event.target;
    if (!form.description.value.trim()) { say(t("Please say what was said or done."), true); return; }
    const files = Array.from(form.evidence.files || []);
    if (files.length > config.max_evidence) { say(t("Too many files."), true); return; }
    say(t("Sending…"));
    const evidence = [];
    for (const file of files) {
      evidence.push({ mime: file.type, data: base64(await file.arrayBuffer()) });
    }
    const when = form.occurred_at.value ? new Date(form.occurred_at.value).toISOString() : null;
    const issued = await (await fetch("/v1/citizen-reports/challenge", { cache: "no-store" })).json();
    const nonce = solve(issued.challenge, issued.bits);
    const body = {
      category: form.category.value, sector: form.sector.value,
      organisation: form.organisation.value, region_code: form.region_code.value,
      settlement: form.settlement.value, description: form.description.value,
      evidence, pow: { challenge: issued.challenge, nonce },
    };
    if (when) body.occurred_at = when;
    if (config.contact_enabled && form.contact.value.trim()) body.contact = form.contact.value;
    const answer = await fetch("/v1/citizen-reports", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body), credentials: "omit", referrerPolicy: "no-referrer",
    });
    if (answer.status === 202) {
      const { case_id } = await answer.json();
      form.reset();
      say(t("Thank you. Your report was received. Its reference:") + " " + case_id);
    } else {
      say(t("The report was not accepted:") + " " + ((await answer.json()).detail || answer.status), true);
    }
  }

  async function start() {
    config = await (await fetch("/report/config.json")).json();
    if (!config.contact_enabled) $("#contact-field").hidden = true;
    languageButtons();
    const wanted = new URLSearchParams(location.search).get("lang") || (navigator.language || "en").slice(0, 2);
    await language(config.languages.includes(wanted) ? wanted : "en");
    $("#report").addEventListener("submit", (event) => {
      submit(event).catch(() => say(t("The report could not be sent. Check the connection and try again."), true));
    });
    document.body.dataset.ready = "1";
  }
  start();
})();
