"""Shared fixtures of the dashboard tests: users who can log in, a logged-in browser, and a
live site (real broker, real `saylau worker` child, ClickHouse server, the dashboard).

Every dashboard needs a session secret and a users file: `dashboard_env` (autouse) writes
one per session (hq, lead of LEAD_REGION, press) and points the environment at it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import secrets
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from kafka import KafkaConsumer, TopicPartition
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from saylau.core.settings import Settings
from saylau.dashboard.app import create_dashboard
from saylau.dashboard.users import add_user
from saylau.geo.registry import synthetic_registry, write_registry_csv
from saylau.geo.roster import save_roster, split_roster
from saylau.kafka.broker import EmbeddedBroker, free_port
from saylau.kafka.producer import EventProducer
from saylau.warehouse.client import open_warehouse
from tests.integration.events import encode
from tests.integration.worker import WorkerProcess
from tests.support.clickhouse_server import ClickHouseServer

LEAD_REGION, OTHER_REGION = "KAZ011", "KAZ001"
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--window-size=1600,1000")


@dataclass(frozen=True)
class DashboardUsers:
    path: Path
    passwords: dict[str, str]  # user name -> password (test fixtures only)


@pytest.fixture(scope="session")
def dashboard_users(tmp_path_factory: pytest.TempPathFactory) -> DashboardUsers:
    path = tmp_path_factory.mktemp("dashboard") / "users.json"
    passwords = {}
    for name, role, region in (("hq", "headquarters", None),
                               ("lead", "regional_lead", LEAD_REGION),
                               ("other-lead", "regional_lead", OTHER_REGION),
                               ("press", "media", None)):
        passwords[name] = secrets.token_urlsafe(16)
        add_user(path, name, role, region, passwords[name], {LEAD_REGION, OTHER_REGION})
    return DashboardUsers(path, passwords)


@pytest.fixture(autouse=True)
def dashboard_env(dashboard_users: DashboardUsers, monkeypatch: pytest.MonkeyPatch
                  ) -> DashboardUsers:
    monkeypatch.setenv("SAYLAU_DASHBOARD_USERS", str(dashboard_users.path))
    monkeypatch.setenv("SAYLAU_DASHBOARD_SECRET", secrets.token_urlsafe(32))
    return dashboard_users


def start_chromium(chromium_paths: tuple[str, str]) -> webdriver.Chrome:
    """A headless Chromium with no network beyond what the page asks for, not logged in."""
    binary, driver_path = chromium_paths
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture
def chrome(chromium_paths: tuple[str, str]) -> Iterator[webdriver.Chrome]:
    """A headless Chromium, not logged in."""
    driver = start_chromium(chromium_paths)
    yield driver
    driver.quit()


def log_in(driver: webdriver.Chrome, base_url: str, username: str, password: str) -> None:
    """Log in through the login form, as a person would."""
    driver.get(base_url.rstrip("/") + "/login")
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "login-username"))
    driver.find_element(By.ID, "login-username").send_keys(username)
    driver.find_element(By.ID, "login-password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    WebDriverWait(driver, 30).until(lambda d: "/login" not in d.current_url)


@pytest.fixture
def browser(chrome: webdriver.Chrome, dashboard_url: str,
            dashboard_users: DashboardUsers) -> webdriver.Chrome:
    """A Chromium logged in as headquarters at the test module's `dashboard_url`."""
    log_in(chrome, dashboard_url, "hq", dashboard_users.passwords["hq"])
    return chrome


class DashboardServer:
    """A dashboard served over real HTTP from a thread of the test process."""

    def __init__(self, settings: Settings, warehouse_url: str) -> None:
        self.warehouse = open_warehouse(warehouse_url)
        self.app = create_dashboard(settings, self.warehouse)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self.server = make_server("127.0.0.1", free_port(), self.app.server, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/"

    def close(self) -> None:
        self.server.shutdown()
        self.app.server.config["SAYLAU"].actions.close()
        self.warehouse.close()


@contextlib.contextmanager
def bare_dashboard(tmp_path: Path, **settings: Any) -> Iterator[str]:
    """A dashboard over real HTTP on an empty chDB warehouse; yields its address. Enough
    for logins, logouts and sessions: no page data is asked for (a page's HTML is Dash's
    empty shell, its data comes from callbacks)."""
    url = f"chdb://{tmp_path}/warehouse"
    server = DashboardServer(Settings(warehouse=url, data_dir=tmp_path, **settings), url)
    try:
        yield server.url.rstrip("/")
    finally:
        server.close()


# --- A live site: broker, worker, ClickHouse server, dashboard ---------------------------

def election_day_now() -> tuple[dt.date, dt.datetime]:
    """An election date whose accepted window holds now and the two hours before, so the
    dashboard's actions (stamped now) and the test's events are all inside the day."""
    now = dt.datetime.now(ZoneInfo("Asia/Almaty"))
    return (now - dt.timedelta(hours=2)).date(), now


@dataclass
class LiveSite:
    url: str
    warehouse_url: str
    registry: pd.DataFrame
    bootstrap: str
    prefix: str
    worker: WorkerProcess
    roster: pd.DataFrame  # the public part
    incidents: dict[str, str]  # incident_id -> station_id
    day_start: dt.datetime  # the first event's time


def messages_on_topic(site: LiveSite, suffix: str) -> list[dict]:
    """Every message on the site's topic ``suffix`` (e.g. ``assignments``), from the start."""
    topic = f"{site.prefix}.{suffix}"
    consumer = KafkaConsumer(bootstrap_servers=site.bootstrap, consumer_timeout_ms=3000,
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
    found = [json.loads(record.value) for record in consumer]
    consumer.close()
    return found


class KnownDay:
    """Check-ins, removals, turnout and incidents in the lead's region and another one."""

    def __init__(self, registry: pd.DataFrame, now: dt.datetime) -> None:
        self.base = now - dt.timedelta(minutes=90)
        self.messages: list[tuple[str, str, bytes]] = []
        self.incidents: dict[str, str] = {}
        lead = registry[registry["region_code"] == LEAD_REGION]["station_id"].tolist()
        other = registry[registry["region_code"] == OTHER_REGION]["station_id"].tolist()
        self.roster_rows = []
        for number, station in enumerate(lead[:7]):
            self._observer(f"obs-l{number}", station, LEAD_REGION)
            self._send("checkin", station, 0, f"obs-l{number}", role="observer")
            if number < 5:
                self._send("turnout", station, 30, f"obs-l{number}", ballots_issued=40 + number)
        self._send("checkout", lead[5], 20, "obs-l5", reason="removed")
        self._send("checkout", lead[6], 20, "obs-l6", reason="shift_end")
        self._observer("obs-l7", "", LEAD_REGION)  # in reserve: no station, no position
        self._observer("obs-l8", lead[7], LEAD_REGION)  # expected at lead[7], not yet there
        for number, station in enumerate(other[:2]):
            self._observer(f"obs-o{number}", station, OTHER_REGION)
            self._send("checkin", station, 0, f"obs-o{number}", role="observer")
        self._send("checkout", other[1], 20, "obs-o1", reason="removed")
        for station, category, severity in ((lead[0], "carousel_voting", 2),
                                            (lead[1], "employer_pressure", 3),
                                            (other[0], "vote_buying", 1)):
            event_id = self._send("incident", station, 40, "obs-x", category=category,
                                  severity=severity, description=f"Сообщение: {category}")
            self.incidents[event_id] = station

    def _observer(self, observer_id: str, station: str, region: str) -> None:
        self.roster_rows.append({"observer_id": observer_id, "name": f"Test {observer_id}",
                                 "phone": "+7 700 000 0000", "home_region": region,
                                 "organisation": "Saylau Observers",
                                 "assigned_station": station})

    def _send(self, kind: str, station: str, minutes: int, observer: str,
              **fields: object) -> str:
        event_id = str(uuid.uuid4())
        when = (self.base + dt.timedelta(minutes=minutes)).isoformat()
        message = {"schema": "saylau.event/1", "event_id": event_id, "kind": kind,
                   "station_id": station, "observer_id": observer, "occurred_at": when,
                   **fields}
        self.messages.append((kind, station, encode(message)))
        return event_id


@pytest.fixture
def live_site(broker: EmbeddedBroker, topic_prefix: str, clickhouse_server: ClickHouseServer,
              tmp_path: Path) -> Iterator[LiveSite]:
    from saylau.core.contract import KIND_TOPIC

    registry = synthetic_registry(n_stations=200, total_voters=200_000, seed=11)
    write_registry_csv(registry, tmp_path / "stations.csv")
    election_date, now = election_day_now()
    day = KnownDay(registry, now)
    roster = split_roster(pd.DataFrame(day.roster_rows))
    save_roster(roster, tmp_path / "roster")
    url = (f"clickhouse://default@127.0.0.1:{clickhouse_server.tcp_port}/"
           f"t_{uuid.uuid4().hex[:10]}")
    env = {"SAYLAU_KAFKA_BOOTSTRAP": broker.bootstrap, "SAYLAU_TOPIC_PREFIX": topic_prefix,
           "SAYLAU_WORKER_GROUP": f"{topic_prefix}-worker", "SAYLAU_WAREHOUSE": url,
           "SAYLAU_DATA_DIR": str(tmp_path), "SAYLAU_REGISTRY": str(tmp_path / "stations.csv"),
           "SAYLAU_WORKER_BATCH_SECONDS": "0.2", "SAYLAU_LOG_LEVEL": "info",
           "SAYLAU_ELECTION_DATE": election_date.isoformat()}
    with EventProducer(broker.bootstrap, topic_prefix) as producer:
        for kind, key, value in day.messages:
            producer.send_raw(f"{topic_prefix}.{KIND_TOPIC[kind]}", key, value)
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_caught_up()
        settings = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=topic_prefix,
                            warehouse=url, data_dir=tmp_path, election_date=election_date,
                            dashboard_refresh_seconds=1.0)
        server = DashboardServer(settings, url)
        try:
            yield LiveSite(server.url, url, registry, broker.bootstrap, topic_prefix, worker,
                           roster.public, day.incidents, day.base)
        finally:
            server.close()
        assert worker.stop() == 0, worker.tail()
    finally:
        worker.__exit__(None, None, None)
