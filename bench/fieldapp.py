"""Field-app benchmark: the shell's size, its first load on a slow phone link, and the outbox.

Starts the embedded broker and a real `saylau gateway` child, then drives Debian's headless
Chromium with a phone profile (360 x 640, touch):

  shell      the bytes of the app shell (HTML, JS, CSS, manifest, icon, service worker,
             settings and one language's texts; no fonts: the app uses the phone's own),
             raw and gzipped (level 6, as the gateway sends them);
  first load a fresh phone (empty cache) opening the sign-in link, from navigation start to
             the app ready, under DevTools' "Slow 3G" (2,000 ms latency, 400 kbit/s each
             way) and, as the baseline of the same run, unthrottled;
  outbox     the network switched off, N turnout reports made, the page reloaded, the
             network back: how many the gateway acknowledged (202) of those queued.

Targets: shell_gzip_bytes <= 300 KB, first_load_ms <= 5,000, delivered == offline_queued.

Usage: timeout 900 python bench/fieldapp.py [--reports N]
Last line: ``fieldapp_bench shell_bytes=… shell_gzip_bytes=… first_load_ms=…
offline_queued=… delivered=…``.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
import pandas as pd  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from saylau.geo.registry import synthetic_registry, write_registry_csv  # noqa: E402
from saylau.geo.roster import save_roster, split_roster  # noqa: E402
from saylau.ingest.gateway.tokens import TokenStore, tokens_path  # noqa: E402
from saylau.kafka.broker import EmbeddedBroker, free_port  # noqa: E402

PEPPER = "fieldapp-bench-pepper-0123456789"
SHELL = ("", "app.js", "app.css", "manifest.json", "icon.svg", "sw.js", "config.json",
         "i18n/en.json")
# Chrome DevTools' "Slow 3G" preset (front_end/core/sdk/NetworkManager.ts).
SLOW_3G = {"offline": False, "latency": 400 * 5, "downloadThroughput": 500 * 1000 / 8 * 0.8,
           "uploadThroughput": 500 * 1000 / 8 * 0.8}
UNTHROTTLED = {"offline": False, "latency": 0, "downloadThroughput": -1,
               "uploadThroughput": -1}
OFFLINE = {**UNTHROTTLED, "offline": True}
PHONE = {"deviceMetrics": {"width": 360, "height": 640, "pixelRatio": 2.0, "touch": True},
         "userAgent": "Mozilla/5.0 (Linux; Android 8.1.0; Nokia 2) AppleWebKit/537.36 "
                      "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"}


def phone() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-sync",
                 "--disable-component-update"):
        options.add_argument(flag)
    options.add_experimental_option("mobileEmulation", PHONE)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"),
                              options=options)
    driver.set_page_load_timeout(120)
    driver.execute_cdp_cmd("Network.enable", {})
    return driver


def wait(driver: webdriver.Chrome, script: str, timeout: float = 120) -> None:
    WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.execute_script(f"return {script}"))


def shell_size(base: str) -> tuple[int, int]:
    raw = gzipped = 0
    with httpx.Client(timeout=10) as client:
        for name in SHELL:
            body = client.get(f"{base}/app/{name}").raise_for_status().content
            raw += len(body)
            gzipped += len(gzip.compress(body, compresslevel=6))
    return raw, gzipped


def first_load_ms(link: str, conditions: dict[str, object]) -> float:
    driver = phone()
    try:
        driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", conditions)
        driver.get(link)
        wait(driver, "document.body.dataset.ready === '1'")
        if os.environ.get("FIELDAPP_BENCH_TIMELINE"):  # where the time goes, request by request
            for entry in driver.execute_script(
                    "return performance.getEntries().map((e) => [e.name, e.entryType, "
                    "Math.round(e.startTime), Math.round(e.responseEnd || e.duration)])"):
                print("  ", *entry, file=sys.stderr)
        # the app writes performance.now() (ms since navigation start) when it is ready
        return float(driver.execute_script("return document.body.dataset.readyMs"))
    finally:
        driver.quit()


def outbox_counts(driver: webdriver.Chrome) -> tuple[int, int]:
    script = """
    const done = arguments[arguments.length - 1];
    const open = indexedDB.open("saylau-fieldapp", 1);
    open.onsuccess = () => {
      const all = open.result.transaction("outbox").objectStore("outbox").getAll();
      all.onsuccess = () => done([all.result.length,
        all.result.filter((i) => i.status === "delivered").length]);
    };"""
    queued, delivered = driver.execute_async_script(script)
    return int(queued), int(delivered)


def offline_round(link: str, reports: int) -> tuple[int, int]:
    driver = phone()
    try:
        driver.get(link)
        wait(driver, "document.body.dataset.me === '1'")
        wait(driver, "!!navigator.serviceWorker.controller")
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", OFFLINE)
        driver.find_element(By.CSS_SELECTOR, 'nav a[href="#turnout"]').click()
        for number in range(reports):
            field = driver.find_element(By.ID, "turnout-count")
            field.clear()
            field.send_keys(str(10 + number))
            driver.find_element(By.ID, "turnout-send").click()
            wait(driver, f"document.getElementById('turnout-previous').textContent"
                         f" === '{10 + number}'", 10)
        driver.refresh()
        wait(driver, "document.body.dataset.ready === '1'")
        queued, _ = outbox_counts(driver)
        driver.execute_cdp_cmd("Network.emulateNetworkConditions", UNTHROTTLED)
        deadline = time.monotonic() + 120
        while (counts := outbox_counts(driver))[1] < queued and time.monotonic() < deadline:
            time.sleep(0.2)
        return queued, counts[1]
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="saylau-fieldapp-bench-"))
    registry = synthetic_registry(n_stations=40, total_voters=80_000, seed=3)
    write_registry_csv(registry, folder / "stations.csv")
    station = str(registry["station_id"].iloc[0])
    save_roster(split_roster(pd.DataFrame([{
        "observer_id": "obs-bench", "name": "Bench", "phone": "+77000000000",
        "home_region": "", "organisation": "", "assigned_station": station}])),
        folder / "roster")
    store = TokenStore(tokens_path(folder), PEPPER)
    token = store.issue("obs-bench", "observer", 1.0).token
    store.close()
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 5 * 3600 - 2 * 3600))
    with EmbeddedBroker(free_port(), log_path=None) as broker:
        port = free_port()
        env = {**os.environ, "SAYLAU_KAFKA_BOOTSTRAP": broker.bootstrap,
               "SAYLAU_DATA_DIR": str(folder), "SAYLAU_REGISTRY": str(folder / "stations.csv"),
               "SAYLAU_GATEWAY_TOKEN_PEPPER": PEPPER, "SAYLAU_ELECTION_DATE": today,
               "SAYLAU_LOG_LEVEL": "warning"}
        log = open(folder / "gateway.log", "wb")  # noqa: SIM115 - closed below
        gateway = subprocess.Popen([sys.executable, "-m", "saylau", "gateway", "--port",
                                    str(port)], env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the gateway did not start")
                time.sleep(0.2)
            link = f"{base}/app/#token={token}"
            raw, gzipped = shell_size(base)
            baseline = first_load_ms(link, UNTHROTTLED)
            slow = first_load_ms(link, SLOW_3G)
            queued, delivered = offline_round(link, args.reports)
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(30)
            log.close()
    shutil.rmtree(folder, ignore_errors=True)
    print(f"baseline: first load unthrottled {baseline:.0f} ms; slow 3G is "
          f"{slow / max(baseline, 1):.1f}x that; shell gzip {gzipped / raw:.2f} of raw")
    print(f"targets: shell_gzip_bytes <= 307200 {'ok' if gzipped <= 307200 else 'MISSED'}, "
          f"first_load_ms <= 5000 {'ok' if slow <= 5000 else 'MISSED'}, delivered == "
          f"offline_queued {'ok' if delivered == queued else 'MISSED'}")
    print(f"fieldapp_bench shell_bytes={raw} shell_gzip_bytes={gzipped} "
          f"first_load_ms={slow:.0f} offline_queued={queued} delivered={delivered}")


if __name__ == "__main__":
    main()
