// Saylau field app: plain JavaScript, no build step, everything from the gateway.
// Every report goes to the outbox (IndexedDB) first, with its event_id made here, and is
// sent from there: "saved on phone" -> "delivered" (202) or the gateway's refusal in words.
// Re-sending is safe: the same event_id is de-duplicated by the worker.
"use strict";

const EARTH_RADIUS_M = 6371008.8; // the same mean radius as saylau/geo/distance.py
const SMS_AFTER_MS = 10 * 60 * 1000; // offer SMS after this long without reaching the gateway
const RETRY_MS = 5000;
const SMS_CODES = {employer_pressure: "EP", admin_resource: "AR", ballot_stuffing: "BS",
  carousel_voting: "CV", vote_buying: "VB", observer_obstruction: "OB", observer_removed: "OR",
  secrecy_violation: "SV", family_voting: "FV", campaigning_at_station: "CA",
  list_irregularity: "LI", protocol_falsification: "PF", procedural: "PR", other: "OT"};
const CATEGORY_TEXT = {employer_pressure: "Pressure from an employer",
  admin_resource: "Misuse of administrative resources", ballot_stuffing: "Ballot stuffing",
  carousel_voting: "Carousel voting", vote_buying: "Vote buying",
  observer_obstruction: "Observers obstructed", observer_removed: "Observer removed",
  secrecy_violation: "Secrecy of the vote violated", family_voting: "Family voting",
  campaigning_at_station: "Campaigning at the station",
  list_irregularity: "Voter list irregularity", protocol_falsification: "Protocol falsified",
  procedural: "Procedure not followed", other: "Something else"};
const PROTOCOL_FIELDS = [["registered", "Registered voters"],
  ["ballots_received", "Ballots received by the commission"],
  ["ballots_issued", "Ballots issued to voters"], ["ballots_cast", "Ballots in the boxes"],
  ["invalid", "Invalid ballots"]];
const STATUS_TEXT = {saved: "Saved on phone", delivered: "Delivered", refused: "Refused",
  sms: "Sent by SMS"};
const KIND_TEXT = {checkin: "Check-in", checkout: "Check-out", turnout: "Turnout",
  incident: "Incident", exitpoll: "Exit poll", protocol: "Protocol copy"};

const state = {config: null, texts: {}, lang: "en", me: null, db: null, sending: false,
  lastContact: Date.now(), fix: null};

// --- Small helpers --------------------------------------------------------------------
const $ = (id) => document.getElementById(id);
const t = (text) => state.texts[text] || text;
const store = {
  get: (key, fallback) => { const v = localStorage.getItem("saylau." + key);
    return v === null ? fallback : JSON.parse(v); },
  set: (key, value) => localStorage.setItem("saylau." + key, JSON.stringify(value)),
  drop: (key) => localStorage.removeItem("saylau." + key),
};
const uuid = () => (crypto.randomUUID ? crypto.randomUUID() :
  "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
    (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16)));
const nowIso = () => new Date().toISOString();
const token = () => store.get("token", null);
function localTime(iso) {
  return new Date(iso).toLocaleTimeString(state.lang, {hour: "2-digit", minute: "2-digit",
    hour12: false, timeZone: state.config ? state.config.election.timezone : undefined});
}
function flash(text) {
  const box = $("flash"); box.textContent = text; box.hidden = false;
  clearTimeout(flash.timer); flash.timer = setTimeout(() => { box.hidden = true; }, 6000);
}
function haversineM(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180, dLat = (lat2 - lat1) * rad, dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 +
    Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(a)));
}

// --- The outbox: IndexedDB ------------------------------------------------------------
function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open("saylau-fieldapp", 1);
    request.onupgradeneeded = () => {
      const items = request.result.createObjectStore("outbox", {keyPath: "event_id"});
      items.createIndex("created", "created");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}
function tx(mode, work) {
  return new Promise((resolve, reject) => {
    const transaction = state.db.transaction("outbox", mode);
    const result = work(transaction.objectStore("outbox"));
    transaction.oncomplete = () => resolve(result && result.result);
    transaction.onerror = () => reject(transaction.error);
  });
}
const putItem = (item) => tx("readwrite", (s) => s.put(item));
const allItems = () => tx("readonly", (s) => s.index("created").getAll());

// A report: the event without media hashes yet, and the files to upload first.
async function enqueue(kind, fields, files) {
  if (!state.me || !state.me.assigned_station) {
    flash(t("Not assigned yet: ask your coordinator")); return null;
  }
  const event = {schema: "saylau.event/1", event_id: uuid(), kind,
    station_id: state.me.assigned_station.station_id, observer_id: state.me.observer_id,
    occurred_at: nowIso(), ...fields};
  const media = [];
  for (const file of files || []) media.push({blob: file, mime: file.type, sha256: null});
  const item = {event_id: event.event_id, kind, event, media, status: "saved", reason: "",
    created: Date.now() + Math.random() / 1000};
  await putItem(item);
  flash(t("Saved on phone") + " — " + t(KIND_TEXT[kind]));
  renderOutbox();
  sendOutbox();
  return item;
}

async function uploadMedia(part) {
  const answer = await fetch("/v1/media", {method: "POST", body: part.blob,
    headers: {"Authorization": "Bearer " + token(), "Content-Type": part.mime}});
  return answer;
}

function refusalText(body, status) {
  const first = body && body.refused && body.refused[0] ? body.refused[0] : body;
  const reason = first && first.reason ? first.reason : "http_" + status;
  const detail = first && first.detail ? first.detail : "";
  return t("reason:" + reason) !== "reason:" + reason ? t("reason:" + reason) :
    (detail || reason);
}

// One item: its files, then the event. true = done with it (delivered or refused).
async function sendItem(item) {
  for (const part of item.media) {
    if (part.sha256) continue;
    const answer = await uploadMedia(part);
    if (answer.status === 201) {
      part.sha256 = (await answer.json()).sha256; await putItem(item); continue;
    }
    if (answer.status >= 500 || answer.status === 429 || answer.status === 401) {
      throw new Error("retry " + answer.status);
    }
    item.status = "refused";
    item.reason = refusalText(await answer.json().catch(() => null), answer.status);
    await putItem(item); return;
  }
  const event = {...item.event};
  if (item.media.length) {
    event.media = item.media.filter((p) => p.sha256).map((p) => ({sha256: p.sha256,
      mime: p.mime}));
  }
  const answer = await fetch("/v1/events", {method: "POST", body: JSON.stringify(event),
    headers: {"Authorization": "Bearer " + token(), "Content-Type": "application/json"}});
  if (answer.status === 202) { item.status = "delivered"; item.reason = ""; }
  else if (answer.status >= 500 || answer.status === 429 || answer.status === 401) {
    if (answer.status === 401) item.reason = t("Sign in again: the code is no longer valid");
    await putItem(item);
    throw new Error("retry " + answer.status);
  } else {
    item.status = "refused";
    item.reason = refusalText(await answer.json().catch(() => null), answer.status);
  }
  await putItem(item);
}

async function sendOutbox() {
  if (state.sending || !token() || !state.db) return;
  state.sending = true;
  try {
    for (const item of await allItems()) {
      if (item.status !== "saved") continue;
      await sendItem(item);
      state.lastContact = Date.now();
    }
  } catch (error) {
    // no network, or the gateway is restarting: everything stays saved, tried again later
  } finally {
    state.sending = false;
    renderOutbox();
  }
}

// --- Screens ----------------------------------------------------------------------------
const SCREENS = ["signin", "station", "checkin", "turnout", "incident", "exitpoll",
  "protocol", "outbox"];
function show() {
  let name = (location.hash || "#station").slice(1);
  if (!token()) name = "signin";
  if (!SCREENS.includes(name)) name = "station";
  for (const screen of SCREENS) $("screen-" + screen).hidden = screen !== name;
  $("nav").hidden = !token();
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.getAttribute("href") === "#" + name);
  }
  if (name === "outbox") renderOutbox();
  if (name === "exitpoll") renderExitPoll();
  if (name === "turnout") $("turnout-previous").textContent = store.get("turnout.previous", "—");
}

function translatePage() {
  document.documentElement.lang = state.lang;
  for (const node of document.querySelectorAll("[data-t]")) {
    node.textContent = t(node.getAttribute("data-t"));
  }
  renderCategories(); renderProtocolFields(); renderStation(); renderExitPoll();
  renderOutbox(); renderNet();
}

function renderNet() {
  const online = navigator.onLine;
  $("net").textContent = online ? t("Online") : t("Offline");
  $("net").classList.toggle("offline", !online);
}

function renderStation() {
  const me = state.me, config = state.config;
  if (!me || !config) return;
  $("me-observer").textContent = me.observer_id;
  const info = $("station-info"); info.textContent = "";
  const station = me.assigned_station;
  const rows = station ? [["Station", station.station_id], ["Region", station.region_code],
    ["Settlement", station.settlement], ["Address", station.address]] :
    [["Station", t("Not assigned yet: ask your coordinator")]];
  for (const [label, value] of rows) {
    const dt = document.createElement("dt"); dt.textContent = t(label);
    const dd = document.createElement("dd"); dd.textContent = value;
    info.append(dt, dd);
  }
  const list = $("reporting-times"); list.textContent = "";
  const now = Date.now();
  let next = null;
  for (const iso of config.election.reporting_times) {
    const item = document.createElement("li"); item.textContent = localTime(iso);
    if (!next && new Date(iso).getTime() > now) { next = iso; item.className = "due"; }
    list.append(item);
  }
  $("next-due").textContent = next ? t("Next turnout count due at") + " " + localTime(next) :
    t("All turnout counts are due; after the count, send the protocol copy");
}

function renderCategories() {
  if (!state.config) return;
  const select = $("incident-category"); const chosen = select.value; select.textContent = "";
  for (const code of state.config.incident_categories) {
    const option = document.createElement("option");
    option.value = code; option.textContent = t(CATEGORY_TEXT[code] || code);
    select.append(option);
  }
  if (chosen) select.value = chosen;
}

// --- Check-in and check-out -------------------------------------------------------------
function getFix() {
  $("gps-result").textContent = t("Finding your position…");
  navigator.geolocation.getCurrentPosition((position) => {
    const c = position.coords;
    state.fix = {lat: c.latitude, lon: c.longitude, accuracy_m: Math.round(c.accuracy)};
    const station = state.me.assigned_station;
    const metres = station && station.lat != null ?
      haversineM(station.lat, station.lon, c.latitude, c.longitude) : null;
    $("gps-result").textContent = metres === null ? t("Position found") :
      t("Position found") + ": " + Math.round(metres) + " " + t("m from the station");
    const far = metres !== null && metres > state.config.geofence_m + 1e-3;
    $("geofence-warning").hidden = !far;
    $("geofence-text").textContent = far ? t("You are farther from the station than") + " " +
      state.config.geofence_m + " " + t("m. You can still send the check-in with a reason.") : "";
  }, () => { $("gps-result").textContent = t("No position: check that location is on"); },
  {enableHighAccuracy: true, timeout: 30000, maximumAge: 0});
}

async function sendCheckin() {
  const fields = {role: "observer"};
  if (state.fix) fields.location = state.fix;
  if (!$("geofence-warning").hidden) {
    const note = $("checkin-note").value.trim();
    if (!note) { flash(t("Say why you are this far from the station")); return; }
    fields.note = note;
  }
  await enqueue("checkin", fields);
  state.fix = null; $("checkin-note").value = ""; $("geofence-warning").hidden = true;
  $("gps-result").textContent = "";
}

async function sendCheckout() {
  const fields = {role: "observer", reason: $("checkout-reason").value};
  if (state.fix) fields.location = state.fix;
  await enqueue("checkout", fields);
}

// --- Turnout ------------------------------------------------------------------------
async function sendTurnout(confirmed) {
  const value = $("turnout-count").value.trim();
  if (!/^[0-9]{1,8}$/.test(value)) { flash(t("Enter the number of ballots issued")); return; }
  const count = parseInt(value, 10), previous = store.get("turnout.previous", null);
  if (!confirmed && previous !== null && count < previous) {
    $("turnout-lower").hidden = false; return;
  }
  $("turnout-lower").hidden = true;
  await enqueue("turnout", {ballots_issued: count, source: "observer_count"});
  store.set("turnout.previous", count);
  $("turnout-previous").textContent = count; $("turnout-count").value = "";
}

// --- Incident ---------------------------------------------------------------------------
async function sendIncident() {
  const severity = document.querySelector("input[name=severity]:checked");
  const files = Array.from($("incident-media").files);
  const allowed = state.config.media_types;
  for (const file of files) {
    if (!allowed.includes(file.type)) { flash(t("This kind of file cannot be sent")); return; }
  }
  await enqueue("incident", {category: $("incident-category").value,
    severity: parseInt(severity.value, 10),
    description: $("incident-description").value.trim()}, files);
  $("incident-description").value = ""; $("incident-media").value = "";
}

// --- Exit poll: a tally sheet per window ----------------------------------------------
function exitPollAnswers() {
  const config = state.config;
  return [...config.parties.map((p) => [p.code, p.name]),
    [config.against_all, t("Against all")], ["refused", t("Refused to answer")],
    ["undecided", t("Undecided")]];
}
function tally() {
  const sheet = store.get("exitpoll.sheet", null);
  const minutes = state.config.exitpoll_window_minutes;
  if (sheet) return sheet;
  const start = new Date();
  const fresh = {window_start: start.toISOString(), taps: [],
    window_end: new Date(start.getTime() + minutes * 60000).toISOString()};
  store.set("exitpoll.sheet", fresh);
  return fresh;
}
function renderExitPoll() {
  if (!state.config || !state.me) return;
  const sheet = tally(), box = $("exitpoll-buttons");
  const counts = {};
  for (const code of sheet.taps) counts[code] = (counts[code] || 0) + 1;
  if (!box.children.length || box.dataset.lang !== state.lang) {
    box.textContent = ""; box.dataset.lang = state.lang;
    for (const [code, name] of exitPollAnswers()) {
      const button = document.createElement("button");
      button.id = "exitpoll-" + code; button.dataset.code = code;
      button.append(document.createTextNode(name), document.createElement("b"));
      button.addEventListener("click", () => tap(code));
      box.append(button);
    }
  }
  for (const button of box.children) {
    button.querySelector("b").textContent = counts[button.dataset.code] || 0;
  }
  $("exitpoll-window-count").textContent = sheet.taps.length;
  $("exitpoll-total").textContent = store.get("exitpoll.sent", 0) + sheet.taps.length;
  $("exitpoll-ends").textContent = localTime(sheet.window_end);
}
function tap(code) {
  const sheet = tally(); sheet.taps.push(code); store.set("exitpoll.sheet", sheet);
  renderExitPoll();
}
function undoTap() {
  const sheet = tally(); sheet.taps.pop(); store.set("exitpoll.sheet", sheet); renderExitPoll();
}
// The window's taps become one exitpoll event (queued); the screen's total counts it on.
async function closeWindow() {
  const sheet = tally();
  store.drop("exitpoll.sheet");
  if (!sheet.taps.length) { renderExitPoll(); return; }
  const choices = {};
  for (const code of sheet.taps) choices[code] = (choices[code] || 0) + 1;
  const start = new Date(sheet.window_start);
  const end = new Date(Math.max(Math.min(Date.now(), new Date(sheet.window_end).getTime()),
    start.getTime() + 1000));
  store.set("exitpoll.sent", store.get("exitpoll.sent", 0) + sheet.taps.length);
  await enqueue("exitpoll", {window_start: start.toISOString(), window_end: end.toISOString(),
    occurred_at: end.toISOString(), interviews: sheet.taps.length, choices});
  renderExitPoll();
}
function closeExpiredWindow() {
  const sheet = store.get("exitpoll.sheet", null);
  if (sheet && Date.now() >= new Date(sheet.window_end).getTime() && state.me) closeWindow();
}

// --- Protocol copy ----------------------------------------------------------------------
function renderProtocolFields() {
  if (!state.config) return;
  const box = $("protocol-fields"), kept = {};
  for (const input of box.querySelectorAll("input")) kept[input.id] = input.value;
  box.textContent = "";
  const options = [...state.config.parties.map((p) => ["vote-" + p.code, p.name]),
    ["vote-" + state.config.against_all, t("Against all")]];
  for (const [id, label] of [...PROTOCOL_FIELDS.map(([f, l]) => ["protocol-" + f, t(l)]),
    ...options]) {
    const wrap = document.createElement("label"), span = document.createElement("span");
    span.textContent = label;
    const input = document.createElement("input");
    Object.assign(input, {id, type: "number", min: 0, inputMode: "numeric"});
    input.value = kept[id] || ""; input.addEventListener("input", renderProtocolChecks);
    wrap.append(span, input); box.append(wrap);
  }
  renderProtocolChecks();
}
function protocolValues() {
  const number = (id) => { const v = $(id).value.trim();
    return /^[0-9]{1,8}$/.test(v) ? parseInt(v, 10) : null; };
  const fields = {}, votes = {};
  for (const [field] of PROTOCOL_FIELDS) fields[field] = number("protocol-" + field);
  for (const code of [...state.config.parties.map((p) => p.code), state.config.against_all]) {
    votes[code] = number("vote-" + code);
  }
  return {fields, votes};
}
// The worker's checks (saylau/core/rules.py): the arithmetic refuses, the rest warns.
function protocolChecks(values) {
  const f = values.fields, votes = Object.values(values.votes);
  const missing = Object.values(f).includes(null) || votes.includes(null);
  const sum = votes.reduce((a, b) => a + (b || 0), 0);
  return [
    {ok: !missing, blocking: true, text: t("Every field is filled in")},
    {ok: missing || sum + f.invalid === f.ballots_cast, blocking: true,
      text: t("Votes for all options plus invalid ballots equal the ballots in the boxes")},
    {ok: missing || f.ballots_cast <= f.ballots_issued, blocking: false,
      text: t("No more ballots in the boxes than issued")},
    {ok: missing || f.ballots_issued <= f.ballots_received, blocking: false,
      text: t("No more ballots issued than received")},
    {ok: missing || f.ballots_issued <= f.registered, blocking: false,
      text: t("No more ballots issued than registered voters")},
  ];
}
function renderProtocolChecks() {
  const list = $("protocol-checks"); list.textContent = "";
  for (const check of protocolChecks(protocolValues())) {
    const item = document.createElement("li");
    item.className = check.ok ? "ok" : "bad";
    item.textContent = (check.ok ? "✓ " : "✗ ") + check.text +
      (!check.ok && !check.blocking ? " — " + t("check the copy; it can still be sent") : "");
    list.append(item);
  }
}
async function sendProtocol() {
  const values = protocolValues();
  if (protocolChecks(values).some((c) => c.blocking && !c.ok)) {
    flash(t("The protocol does not add up: check the numbers")); return;
  }
  const files = Array.from($("protocol-photo").files);
  await enqueue("protocol", {source: "observer_copy", ...values.fields, votes: values.votes},
    files);
  for (const input of $("protocol-fields").querySelectorAll("input")) input.value = "";
  $("protocol-photo").value = ""; renderProtocolChecks();
}

// --- Outbox screen and SMS --------------------------------------------------------------
function smsText(item) {
  const e = item.event, station = e.station_id;
  if (item.kind === "turnout") return `T ${station} ${e.ballots_issued}`;
  if (item.kind === "checkin") return `C ${station}`;
  if (item.kind === "checkout") return `X ${station} ${e.reason[0].toUpperCase()}`;
  if (item.kind === "incident") {
    return `I ${station} ${SMS_CODES[e.category]} ${e.severity} ${e.description}`.trim();
  }
  return null; // exit polls and protocols have no SMS form
}
async function renderOutbox() {
  if (!state.db) return;
  const items = await allItems();
  const pending = items.filter((i) => i.status === "saved");
  $("pending-count").textContent = pending.length ? "(" + pending.length + ")" : "";
  $("outbox-summary").textContent = t("Waiting to be sent") + ": " + pending.length + " · " +
    t("Delivered") + ": " + items.filter((i) => i.status === "delivered").length;
  const offerSms = pending.length > 0 && Date.now() - state.lastContact > SMS_AFTER_MS;
  $("sms-offer").hidden = !offerSms;
  const list = $("outbox-list"); list.textContent = "";
  for (const item of items.slice().reverse()) {
    const row = document.createElement("li");
    row.className = item.status; row.dataset.eventId = item.event_id;
    const status = document.createElement("span"); status.className = "status";
    status.textContent = t(STATUS_TEXT[item.status]) + (item.reason ? ": " + item.reason : "");
    const what = document.createElement("span");
    what.textContent = t(KIND_TEXT[item.kind]) + " · " + localTime(item.event.occurred_at);
    row.append(status, what);
    const text = item.status === "saved" && offerSms ? smsText(item) : null;
    if (text) {
      const link = document.createElement("a"); link.className = "sms";
      link.href = "sms:" + (state.config.sms_number || "").replace(/ /g, "") + "?body=" +
        encodeURIComponent(text);
      link.textContent = t("Send by SMS");
      link.addEventListener("click", async () => { item.status = "sms"; await putItem(item);
        setTimeout(renderOutbox, 500); });
      row.append(document.createElement("br"), link);
    }
    list.append(row);
  }
}

// --- Start: language, sign-in link, configuration, who am I ----------------------------
async function loadTexts(lang) {
  const answer = await fetch("i18n/" + lang + ".json");
  state.texts = answer.ok ? await answer.json() : {};
  state.lang = lang;
  translatePage();
}
function chooseLanguage(offered) {
  const chosen = store.get("lang", null);
  if (chosen && offered.includes(chosen)) return chosen;
  for (const wanted of navigator.languages || [navigator.language]) {
    const code = (wanted || "").toLowerCase().split("-")[0];
    if (offered.includes(code)) return code;
  }
  return "en";
}
// A sign-in link is /app/#token=sy_…: the fragment never reaches a server's logs, and it is
// replaced in the address bar and the history as soon as the token is stored.
function takeTokenFromLink() {
  const match = /(?:^#|&)token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (!match) return;
  store.set("token", match[1]);
  history.replaceState(null, "", location.pathname + "#station");
}
async function loadMe() {
  if (!token()) return;
  try {
    const answer = await fetch("/v1/me", {headers: {"Authorization": "Bearer " + token()}});
    if (answer.status === 401) { flash(t("Sign in again: the code is no longer valid")); return; }
    if (answer.ok) { state.me = await answer.json(); store.set("me", state.me);
      state.lastContact = Date.now(); }
  } catch (error) {
    state.me = store.get("me", null); // offline: who we were when last online
  }
  renderStation(); renderExitPoll();
}

async function start() {
  takeTokenFromLink();
  state.me = store.get("me", null);
  const boot = window.saylauBoot || {};
  const [db, config, texts] = await Promise.all([openDb(),
    boot.config || fetch("config.json").then((r) => r.json()), boot.texts || null]);
  state.db = db; state.config = config;
  const select = $("lang");
  const names = {kk: "Қазақша", ru: "Русский", en: "English"};
  for (const code of state.config.languages) {
    const option = document.createElement("option");
    option.value = code; option.textContent = names[code] || code; select.append(option);
  }
  const lang = chooseLanguage(state.config.languages);
  select.value = lang;
  select.addEventListener("change", () => { store.set("lang", select.value);
    loadTexts(select.value); });
  if (texts && boot.lang === lang) { state.texts = texts; state.lang = lang; translatePage(); }
  else await loadTexts(lang);
  wire();
  show();
  // who am I: from the gateway when it answers; the page is usable before (cached identity)
  loadMe().then(() => { show(); sendOutbox();
    if (state.me) document.body.dataset.me = "1"; });
  setInterval(() => { closeExpiredWindow(); sendOutbox(); }, RETRY_MS);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("sw.js");
  document.body.dataset.readyMs = String(Math.round(performance.now())); // bench/fieldapp.py
  document.body.dataset.ready = "1"; // tests wait for this
}

function wire() {
  window.addEventListener("hashchange", show);
  window.addEventListener("online", () => { renderNet(); sendOutbox(); });
  window.addEventListener("offline", renderNet);
  $("signin-submit").addEventListener("click", async () => {
    const value = $("signin-token").value.trim();
    if (!/^[A-Za-z0-9_-]+$/.test(value)) { flash(t("This is not a sign-in code")); return; }
    store.set("token", value); $("signin-token").value = "";
    await loadMe(); location.hash = "#station"; show();
  });
  $("signout").addEventListener("click", () => { store.drop("token"); store.drop("me");
    state.me = null; show(); });
  $("gps-fix").addEventListener("click", getFix);
  $("checkin-send").addEventListener("click", sendCheckin);
  $("checkout-send").addEventListener("click", sendCheckout);
  $("turnout-send").addEventListener("click", () => sendTurnout(false));
  $("turnout-confirm").addEventListener("click", () => sendTurnout(true));
  $("incident-send").addEventListener("click", sendIncident);
  $("exitpoll-undo").addEventListener("click", undoTap);
  $("exitpoll-send").addEventListener("click", closeWindow);
  $("protocol-send").addEventListener("click", sendProtocol);
  $("outbox-retry").addEventListener("click", sendOutbox);
}

start();
