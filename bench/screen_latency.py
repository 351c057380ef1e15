"""Event to screen: how long a report takes from the gateway's 202 to a wall screen's eyes.

Starts the real parts as child processes (a ClickHouse server, the embedded broker, the
gateway, a worker and the dashboard, with the harness of bench/support/soak_harness.py),
a ``--stations`` registry, opens the wall in headless Chromium (Debian chromium and
chromedriver, as the browser tests) and ``--screens`` − 1 more wall screens over HTTP that
behave as the page does (a version poll every ``SAYLAU_DASHBOARD_POLL_SECONDS``, and the
wall's refresh callback with the version and parts they show when it changed:
saylau/dashboard/screen_updates.py). Meanwhile it sends turnout reports through the
gateway at ``--rate`` events/s (batches of 100 from 50 observers, each station's count
rising) for ``--seconds``. The probes are incident reports, one at a time (the load sends
none): each raises the wall's headline incident count by exactly one, so the moment the
number read in Chromium's DOM reaches it is the moment the report is on screen. Latency is
measured from the probe's 202 to that moment (DOM read every 50 ms).

    python bench/screen_latency.py [--stations 10000] [--screens 100] [--rate 1000]
                                   [--seconds 120] [--snapshot-seconds S] [--poll-seconds S]

``--snapshot-seconds`` / ``--poll-seconds`` override SAYLAU_DASHBOARD_SNAPSHOT_SECONDS /
SAYLAU_DASHBOARD_POLL_SECONDS (default: the settings' defaults). Last line:
``screen_bench screens=… rate=… p50_s=… p95_s=… max_s=…`` (targets: p95 ≤ 2 s, max ≤ 5 s).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import random
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from bench.support.soak_harness import (  # noqa: E402
    PEPPER,
    Dashboard,
    Gateway,
    Worker,
    percentile,
)
from saylau.dashboard.users import add_user  # noqa: E402
from saylau.geo.registry import synthetic_registry, write_registry_csv  # noqa: E402
from saylau.ingest.gateway.tokens import TokenStore, tokens_path  # noqa: E402
from saylau.kafka.broker import EmbeddedBroker, free_port  # noqa: E402
from saylau.kafka.topics import ensure_topics, topic_names  # noqa: E402
from saylau.warehouse.client import Warehouse, open_warehouse  # noqa: E402
from tests.support.clickhouse_server import ClickHouseServer  # noqa: E402

PREFIX, PARTITIONS = "screens", 4
TZ = ZoneInfo("Asia/Almaty")
SENDERS, BATCH = 50, 100
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1600,1000")
INCIDENTS = "#wall-value-incidents"
READ = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;"
PROBE_TIMEOUT_S = 30.0


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # so every child is stopped on the way out


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class Site:
    """Every part, started; closed in reverse."""

    def __init__(self, folder: Path, stations: int, overrides: dict[str, str],
                 log: Any) -> None:
        self.folder, self.log = folder, log
        self.registry = synthetic_registry(stations, stations * 1200, seed=2026)
        registry_csv = folder / "stations.csv"
        write_registry_csv(self.registry, registry_csv)
        self.stations = self.registry["station_id"].tolist()
        self.voters = dict(zip(self.registry["station_id"],
                               self.registry["registered_voters"], strict=True))
        store = TokenStore(tokens_path(folder), PEPPER)
        self.tokens = {f"obs-b{n}": store.issue(f"obs-b{n}", "hq", 1.0).token
                       for n in range(SENDERS)}
        self.probe_token = store.issue("obs-probe", "hq", 1.0).token
        store.close()
        self.password = secrets.token_urlsafe(16)
        add_user(folder / "users.json", "hq", "headquarters", None, self.password, set())
        # An election day that holds now (as tests/dashboard/conftest.py's election_day_now).
        election_date = (dt.datetime.now(TZ) - dt.timedelta(hours=2)).date()
        self.clickhouse = ClickHouseServer(folder / "clickhouse").start()
        self.broker = EmbeddedBroker(free_port(), log_path=folder / "broker.log")
        self.broker.start()
        ensure_topics(self.broker.bootstrap, topic_names(PREFIX), partitions=PARTITIONS)
        self.env = {
            "SAYLAU_KAFKA_BOOTSTRAP": self.broker.bootstrap, "SAYLAU_TOPIC_PREFIX": PREFIX,
            "SAYLAU_TOPIC_PARTITIONS": str(PARTITIONS), "SAYLAU_DATA_DIR": str(folder),
            "SAYLAU_REGISTRY": str(registry_csv), "SAYLAU_GATEWAY_TOKEN_PEPPER": PEPPER,
            "SAYLAU_WAREHOUSE": f"clickhouse://default@127.0.0.1:{self.clickhouse.tcp_port}/"
                                f"screens_{uuid.uuid4().hex[:8]}",
            "SAYLAU_WORKER_GROUP": f"{PREFIX}-worker", "SAYLAU_LOG_LEVEL": "warning",
            "SAYLAU_ELECTION_DATE": election_date.isoformat(),
            "SAYLAU_GATEWAY_RATE_PER_SECOND": "100000", "SAYLAU_GATEWAY_RATE_BURST": "100000",
            "SAYLAU_DASHBOARD_SECRET": secrets.token_urlsafe(32),
            "SAYLAU_DASHBOARD_USERS": str(folder / "users.json"),
            "SAYLAU_DASHBOARD_LOGIN_ATTEMPTS": "1000", **overrides}
        self.children: list[Any] = []
        self.gateway = self._child(Gateway(self.env, free_port(), folder / "gateway.log").start())
        self.worker = self._child(Worker(self.env, folder / "worker.log").start())
        self.dashboard = self._child(Dashboard(self.env, free_port(),
                                               folder / "dashboard.log").start())
        self.gateway_url = f"http://127.0.0.1:{self.gateway.port}"
        self.dashboard_url = f"http://127.0.0.1:{self.dashboard.port}"

    def _child(self, child: Any) -> Any:
        self.children.append(child)
        return child

    def close(self) -> None:
        for child in reversed(self.children):
            with contextlib.suppress(Exception):
                child.__exit__()
        with contextlib.suppress(Exception):
            self.broker.stop()
        with contextlib.suppress(Exception):
            self.clickhouse.stop()


class Load:
    """Turnout reports at ``rate`` events/s: every 0.1 s, batches of ``BATCH`` from the
    senders in turn, each station's count rising by a few ballots."""

    def __init__(self, site: Site, rate: int) -> None:
        self.site, self.rate = site, rate
        self.ballots: Counter[str] = Counter()
        self.sent = self.accepted = self.failed = 0
        self.late_ticks = 0
        self.stop = threading.Event()
        self.rng = random.Random(7)

    def _batch(self, actor: str, size: int) -> bytes:
        events = []
        for station in self.rng.choices(self.site.stations, k=size):
            room = int(self.site.voters[station]) - self.ballots[station]
            self.ballots[station] += min(room, self.rng.randint(1, 5))
            events.append({"schema": "saylau.event/1", "event_id": str(uuid.uuid4()),
                           "kind": "turnout", "station_id": station, "observer_id": actor,
                           "occurred_at": _now(), "ballots_issued": self.ballots[station]})
        return json.dumps({"events": events}).encode()

    def run(self) -> None:
        actors = list(self.site.tokens)
        per_tick = max(1, round(self.rate / 10))
        lock = threading.Lock()

        def post(actor: str, body: bytes, size: int) -> None:
            try:
                answer = client.post(f"{self.site.gateway_url}/v1/events:batch", content=body,
                                     headers={"Authorization": f"Bearer {self.site.tokens[actor]}",
                                              "Content-Type": "application/json"})
                accepted = len(answer.json().get("accepted", [])) if answer.is_success else 0
            except (httpx.HTTPError, ValueError):
                accepted = 0
            with lock:
                self.accepted += accepted
                self.failed += size - accepted

        from concurrent.futures import ThreadPoolExecutor

        client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=16))
        turn = 0
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            tick = 0
            while not self.stop.is_set():
                left = per_tick
                while left > 0:
                    size = min(BATCH, left)
                    actor = actors[turn % len(actors)]
                    turn += 1
                    pool.submit(post, actor, self._batch(actor, size), size)
                    self.sent += size
                    left -= size
                tick += 1
                wait = started + tick * 0.1 - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                else:
                    self.late_ticks += 1
        client.close()


class HttpScreen:
    """A wall screen without the browser: the version poll, and the refresh callback with
    the version and parts it shows when the version changed."""

    def __init__(self, url: str, cookies: httpx.Cookies, spec: dict[str, Any]) -> None:
        self.client = httpx.Client(base_url=url, timeout=30, cookies=cookies)
        self.spec, self.latest, self.shown = spec, None, None
        self.polls = self.callbacks = self.errors = 0
        self.callback_ms: list[float] = []

    def poll(self) -> None:
        self.polls += 1
        answer = self.client.get("/wall/version")
        if answer.status_code != 200:
            self.errors += 1
            return
        version = answer.json()["version"]
        on_screen = self.shown.get("version") if isinstance(self.shown, dict) else None
        if version in (self.latest, on_screen):
            return
        self.latest = version
        self.refresh()

    def refresh(self) -> None:
        spec = self.spec
        values = {"wall-latest.data": self.latest, "wall-shown.data": self.shown}

        def slot(item: dict[str, str]) -> dict[str, Any]:
            key = f"{item['id']}.{item['property']}"
            return {"id": item["id"], "property": item["property"], "value": values.get(key)}

        inputs = [slot(i) for i in spec["inputs"]]
        body = {"output": spec["output"], "outputs": _outputs(spec["output"]),
                "inputs": inputs, "state": [slot(s) for s in spec["state"]],
                "changedPropIds": ["wall-latest.data"]}
        started = time.monotonic()
        answer = self.client.post("/_dash-update-component", json=body)
        self.callbacks += 1
        self.callback_ms.append((time.monotonic() - started) * 1000)
        if answer.status_code == 200:
            shown = answer.json()["response"].get("wall-shown")
            if shown is not None:
                self.shown = shown["data"]
        elif answer.status_code != 204:
            self.errors += 1


def _outputs(output: str) -> list[dict[str, str]]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    return [dict(zip(("id", "property"), part.rsplit(".", 1), strict=True)) for part in parts]


def run_screens(site: Site, count: int, poll_s: float, stop: threading.Event
                ) -> list[HttpScreen]:
    login = httpx.Client(base_url=site.dashboard_url, timeout=30)
    login.post("/auth/login", data={"username": "hq", "password": site.password})
    login.get("/").raise_for_status()
    callbacks = login.get("/_dash-dependencies").json()
    spec = next(c for c in callbacks if "wall-headline.children" in c["output"])
    screens = [HttpScreen(site.dashboard_url, login.cookies, spec) for _ in range(count)]

    def run(screen: HttpScreen, offset: float) -> None:
        time.sleep(offset)
        while not stop.is_set():
            started = time.monotonic()
            try:
                screen.poll()
            except (httpx.HTTPError, ValueError, KeyError):
                screen.errors += 1
            stop.wait(max(0.0, poll_s - (time.monotonic() - started)))
        screen.client.close()

    for number, screen in enumerate(screens):
        threading.Thread(target=run, args=(screen, poll_s * number / max(count, 1)),
                         daemon=True).start()
    login.close()
    return screens


def open_wall(site: Site) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"),
                              options=options)
    driver.set_page_load_timeout(60)
    driver.get(site.dashboard_url + "/login")
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "login-username"))
    driver.find_element(By.ID, "login-username").send_keys("hq")
    driver.find_element(By.ID, "login-password").send_keys(site.password)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 30).until(lambda d: "/login" not in d.current_url)
    driver.get(site.dashboard_url + "/")
    WebDriverWait(driver, 120).until(lambda d: _shown_count(d) is not None)
    return driver


# What the wall in Chromium asks and how long each answer takes (fetch is what Dash's
# callbacks and the version poll use).
RECORD = """
window.__saylau = {polls: 0, callbacks: [], long: 0};
const original = window.fetch;
window.fetch = function (input, init) {
    const url = input instanceof Request ? input.url : String(input);
    const started = performance.now();
    const answer = original.apply(this, arguments);
    if (url.includes('/wall/version')) { window.__saylau.polls += 1; }
    if (url.includes('_dash-update-component')) {
        answer.then(r => r.clone().arrayBuffer()).then(body => {
            window.__saylau.callbacks.push([performance.now() - started, body.byteLength]);
        });
    }
    return answer;
};
new PerformanceObserver(list => { window.__saylau.long += list.getEntries()
    .reduce((sum, e) => sum + e.duration, 0); }).observe({type: 'longtask'});
"""


def _browser_figures(driver: webdriver.Chrome, seconds: float) -> str:
    found = driver.execute_script("return window.__saylau;")
    times = sorted(ms for ms, _size in found["callbacks"])
    sizes = sorted(size for _ms, size in found["callbacks"])
    return (f"wall in Chromium: {found['polls']} version polls, {len(times)} callbacks (answer "
            f"p50 {percentile(times, 0.5):.0f} ms, p95 {percentile(times, 0.95):.0f} ms; "
            f"{percentile(sizes, 0.5) / 1000:.0f} kB p50, {max(sizes, default=0) / 1000:.0f} kB "
            f"max); main thread busy in long tasks {found['long'] / 1000 / seconds:.0%} of the "
            f"time")


def _shown_count(driver: webdriver.Chrome) -> int | None:
    text = driver.execute_script(READ, INCIDENTS)
    digits = "".join(ch for ch in (text or "") if ch.isdigit())
    return int(digits) if digits else None


STORED = "SELECT count() AS n FROM $db.events WHERE event_id = {event_id:String}"


def probe(site: Site, driver: webdriver.Chrome, client: httpx.Client, expected: int,
          warehouse: Warehouse) -> tuple[float | None, float | None]:
    """Send one incident report; seconds from its 202 until the wall's count shows it,
    and until the worker had stored it (the rest is the dashboard's and the browser's)."""
    station = random.choice(site.stations)
    report = {"schema": "saylau.event/1", "event_id": str(uuid.uuid4()), "kind": "incident",
              "station_id": station, "observer_id": "obs-probe", "occurred_at": _now(),
              "category": "carousel_voting", "severity": 2, "description": "probe"}
    answer = client.post(f"{site.gateway_url}/v1/events", json=report,
                         headers={"Authorization": f"Bearer {site.probe_token}"})
    accepted = time.monotonic()
    if answer.status_code != 202:
        raise RuntimeError(f"the probe was not accepted: {answer.status_code} {answer.text}")
    stored = None
    while time.monotonic() - accepted < PROBE_TIMEOUT_S:
        if stored is None and int(warehouse.query_df(
                STORED, {"event_id": report["event_id"]})["n"].iloc[0]):
            stored = time.monotonic() - accepted
        shown = _shown_count(driver)
        if shown is not None and shown >= expected:
            return time.monotonic() - accepted, stored
        time.sleep(0.05)
    return None, stored


def main() -> int:
    signal.signal(signal.SIGTERM, _terminated)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--screens", type=int, default=100)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--snapshot-seconds", type=float, default=None)
    parser.add_argument("--poll-seconds", type=float, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    args = parser.parse_args()
    overrides = {}
    if args.snapshot_seconds is not None:
        overrides["SAYLAU_DASHBOARD_SNAPSHOT_SECONDS"] = str(args.snapshot_seconds)
    if args.poll_seconds is not None:
        overrides["SAYLAU_DASHBOARD_POLL_SECONDS"] = str(args.poll_seconds)
    from saylau.core.settings import Settings

    defaults = Settings()
    poll_s = args.poll_seconds or defaults.dashboard_poll_seconds
    refresh_s = args.snapshot_seconds or defaults.dashboard_snapshot_seconds
    folder = Path(tempfile.mkdtemp(prefix="saylau-screens-"))
    print(f"folder: {folder}; load average before: {_load()}", flush=True)
    site = driver = None
    stop = threading.Event()
    latencies: list[float] = []
    stored_s: list[float] = []  # from the 202 until the worker stored the probe
    missed = 0
    try:
        started = time.monotonic()
        site = Site(folder, args.stations, overrides, print)
        print(f"started broker, ClickHouse, gateway, worker, dashboard in "
              f"{time.monotonic() - started:.0f} s ({args.stations:,} stations; snapshot "
              f"interval {refresh_s} s, poll {poll_s} s, worker batch "
              f"{defaults.worker_batch_seconds} s)", flush=True)
        driver = open_wall(site)
        print(f"wall open in Chromium; {args.screens - 1} more screens over HTTP", flush=True)
        driver.execute_script(RECORD)
        screens = run_screens(site, args.screens - 1, poll_s, stop)
        load = Load(site, args.rate)
        sender = threading.Thread(target=load.run, daemon=True)
        sender.start()
        time.sleep(5.0)  # the load and the screens settle
        client = httpx.Client(timeout=30)
        warehouse = open_warehouse(site.env["SAYLAU_WAREHOUSE"])
        shown = _shown_count(driver) or 0
        load_started = time.monotonic()
        deadline = load_started + args.seconds
        next_report = load_started + 10
        while time.monotonic() < deadline:
            took, stored = probe(site, driver, client, shown + 1, warehouse)
            shown += 1
            if stored is not None:
                stored_s.append(stored)
            if took is None:
                missed += 1
                shown = _shown_count(driver) or shown
            else:
                latencies.append(took)
            if time.monotonic() >= next_report:
                next_report += 10
                so_far = sorted(latencies)
                print(f"  {time.monotonic() - load_started:5.0f} s: {len(latencies)} probes, "
                      f"p50 {percentile(so_far, 0.5):.2f} s, max {max(so_far, default=0):.2f} "
                      f"s; load {load.accepted:,} accepted, {load.failed} failed; "
                      f"load average {_load()}", flush=True)
            time.sleep(random.uniform(0.3, 1.0))
        stop.set()
        load.stop.set()
        sender.join(30)
        client.close()
        warehouse.close()
        elapsed = time.monotonic() - load_started
        polls = sum(s.polls for s in screens)
        callbacks = sum(s.callbacks for s in screens)
        errors = sum(s.errors for s in screens)
        callback_ms = sorted(ms for s in screens for ms in s.callback_ms)
        print(f"load: {load.sent:,} sent, {load.accepted:,} accepted "
              f"({load.accepted / elapsed:,.0f}/s), {load.failed} failed, "
              f"{load.late_ticks} late ticks")
        print(f"http screens: {polls:,} version polls, {callbacks:,} callbacks "
              f"(p50 {percentile(callback_ms, 0.5):.0f} ms, p95 "
              f"{percentile(callback_ms, 0.95):.0f} ms), {errors} errors")
        print(_browser_figures(driver, time.monotonic() - load_started + 5))
        print(f"load average after: {_load()}")
    finally:
        stop.set()
        if driver is not None:
            with contextlib.suppress(Exception):
                driver.quit()
        if site is not None:
            site.close()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    values = sorted(latencies)
    p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
    worst = PROBE_TIMEOUT_S if missed else max(values, default=0.0)
    print(f"probes: {len(values)} seen, {missed} not seen within {PROBE_TIMEOUT_S:.0f} s; "
          f"stored by the worker after p50 {percentile(stored_s, 0.5):.2f} s, p95 "
          f"{percentile(stored_s, 0.95):.2f} s, max {max(stored_s, default=0):.2f} s")
    print(f"screen_bench screens={args.screens} rate={args.rate} p50_s={p50:.2f} "
          f"p95_s={p95:.2f} max_s={worst:.2f}")
    return 0 if p95 <= 2.0 and worst <= 5.0 else 1


def _load() -> str:
    return ", ".join(f"{v:.1f}" for v in os.getloadavg())


if __name__ == "__main__":
    raise SystemExit(main())
