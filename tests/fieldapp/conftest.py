"""The field app against the real parts: embedded broker, a `saylau gateway` child, a
`saylau worker` child, a ClickHouse server; and a headless Chromium with a phone's profile
(360 x 640, touch, a phone's user agent) that opens the app from a sign-in link.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from saylau.geo.registry import synthetic_registry, write_registry_csv
from saylau.ingest.gateway.tokens import TokenStore, tokens_path
from saylau.kafka.broker import EmbeddedBroker, free_port
from saylau.warehouse.client import open_warehouse
from tests.ingest.gateway.conftest import write_roster
from tests.ingest.gateway.processes import GatewayProcess
from tests.integration.worker import WorkerProcess
from tests.support.clickhouse_server import ClickHouseServer

PEPPER = "fieldapp-test-pepper-0123456789"
OBSERVER = "obs-f1"
PHONE_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync")
PHONE = {"deviceMetrics": {"width": 360, "height": 640, "pixelRatio": 2.0, "touch": True},
         "userAgent": "Mozilla/5.0 (Linux; Android 8.1.0; Nokia 2) AppleWebKit/537.36 "
                      "(KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"}


def election_date_now() -> dt.date:
    """An election date whose accepted window holds now (the phone stamps reports now)."""
    return (dt.datetime.now(ZoneInfo("Asia/Almaty")) - dt.timedelta(hours=2)).date()


@dataclass
class FieldSite:
    gateway: GatewayProcess
    worker: WorkerProcess
    warehouse_url: str
    data_dir: Path
    station: pd.Series  # the observer's station (registry row)
    token: str

    @property
    def app_url(self) -> str:
        return f"{self.gateway.url}/app/"

    def sign_in_link(self) -> str:
        return f"{self.app_url}#token={self.token}"

    def stored_events(self) -> pd.DataFrame:
        """The warehouse's events (after de-duplication), with their raw payloads."""
        warehouse = open_warehouse(self.warehouse_url)
        try:
            return warehouse.query_df("SELECT event_id, kind, payload FROM $db.events FINAL")
        except Exception:  # the worker has not made the table yet
            return pd.DataFrame({"event_id": [], "kind": [], "payload": []})
        finally:
            warehouse.close()

    def wait_stored(self, event_ids: set[str], timeout: float = 90.0) -> pd.DataFrame:
        deadline = time.monotonic() + timeout
        while True:
            frame = self.stored_events()
            if event_ids <= set(frame["event_id"]):
                return frame
            assert time.monotonic() < deadline, (
                f"{len(event_ids - set(frame['event_id']))} of {len(event_ids)} events never "
                f"reached the warehouse\n{self.worker.tail()}\n{self.gateway.tail()}")
            time.sleep(0.5)


@pytest.fixture
def field_site(broker: EmbeddedBroker, topic_prefix: str, clickhouse_server: ClickHouseServer,
               tmp_path: Path) -> Iterator[FieldSite]:
    registry = synthetic_registry(n_stations=60, total_voters=120_000, seed=19)
    write_registry_csv(registry, tmp_path / "stations.csv")
    station = registry.iloc[3]
    write_roster(tmp_path, {OBSERVER: str(station["station_id"])})
    store = TokenStore(tokens_path(tmp_path), PEPPER)
    token = store.issue(OBSERVER, "observer", 1.0).token
    store.close()
    url = (f"clickhouse://default@127.0.0.1:{clickhouse_server.tcp_port}/"
           f"f_{uuid.uuid4().hex[:10]}")
    env = {"SAYLAU_KAFKA_BOOTSTRAP": broker.bootstrap, "SAYLAU_TOPIC_PREFIX": topic_prefix,
           "SAYLAU_WORKER_GROUP": f"{topic_prefix}-worker", "SAYLAU_WAREHOUSE": url,
           "SAYLAU_DATA_DIR": str(tmp_path), "SAYLAU_REGISTRY": str(tmp_path / "stations.csv"),
           "SAYLAU_WORKER_BATCH_SECONDS": "0.2", "SAYLAU_LOG_LEVEL": "info",
           "SAYLAU_GATEWAY_TOKEN_PEPPER": PEPPER,
           "SAYLAU_ELECTION_DATE": election_date_now().isoformat()}
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    gateway = GatewayProcess(env, free_port(), tmp_path / "gateway.log")
    try:
        gateway.start()
        yield FieldSite(gateway, worker, url, tmp_path, station, token)
        assert gateway.stop() == 0, gateway.tail()
        assert worker.stop() == 0, worker.tail()
    finally:
        gateway.__exit__(None, None, None)
        worker.__exit__(None, None, None)


def start_phone(chromium_paths: tuple[str, str]) -> webdriver.Chrome:
    binary, driver_path = chromium_paths
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in PHONE_FLAGS:
        options.add_argument(flag)
    options.add_experimental_option("mobileEmulation", PHONE)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Network.enable", {})
    return driver


@pytest.fixture
def phone(chromium_paths: tuple[str, str]) -> Iterator[webdriver.Chrome]:
    driver = start_phone(chromium_paths)
    yield driver
    driver.quit()


def open_app(driver: webdriver.Chrome, url: str) -> None:
    """Open the app; from a sign-in link, until it also knows who it is (``/v1/me``)."""
    driver.get(url)
    wait_ready(driver)
    if "#token=" in url:
        WebDriverWait(driver, 30).until(
            lambda d: d.execute_script("return document.body.dataset.me === '1'"))


def wait_ready(driver: webdriver.Chrome, timeout: float = 60) -> None:
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return document.body.dataset.ready === '1'"))


def wait_service_worker(driver: webdriver.Chrome, timeout: float = 60) -> None:
    """Until the service worker controls the page (the shell is cached by then)."""
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script("return !!navigator.serviceWorker.controller"))


def set_position(driver: webdriver.Chrome, origin: str, lat: float, lon: float) -> None:
    driver.execute_cdp_cmd("Browser.grantPermissions",
                           {"origin": origin, "permissions": ["geolocation"]})
    driver.execute_cdp_cmd("Emulation.setGeolocationOverride",
                           {"latitude": lat, "longitude": lon, "accuracy": 12})


def set_offline(driver: webdriver.Chrome, offline: bool, latency_ms: float = 0) -> None:
    driver.execute_cdp_cmd("Network.emulateNetworkConditions",
                           {"offline": offline, "latency": latency_ms,
                            "downloadThroughput": -1, "uploadThroughput": -1})


def outbox(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """The phone's outbox as IndexedDB holds it: event_id, kind, status, reason, the event."""
    script = """
    const done = arguments[arguments.length - 1];
    const open = indexedDB.open("saylau-fieldapp", 1);
    open.onsuccess = () => {
      const all = open.result.transaction("outbox").objectStore("outbox").getAll();
      all.onsuccess = () => done(JSON.stringify(all.result.map((item) => ({
        event_id: item.event_id, kind: item.kind, status: item.status, reason: item.reason,
        event: item.event, media: item.media.map((m) => m.sha256)}))));
    };"""
    return list(json.loads(driver.execute_async_script(script)))


def wait_outbox(driver: webdriver.Chrome, count: int, status: str = "delivered",
                timeout: float = 90) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        items = outbox(driver)
        if len(items) >= count and all(item["status"] == status for item in items):
            return items
        assert time.monotonic() < deadline, [(i["kind"], i["status"], i["reason"])
                                             for i in items]
        time.sleep(0.3)
