"""The operators' status page in headless Chromium: lag from the real broker, throughput,
rejects and the last stored batch from a warehouse holding known events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from selenium import webdriver

from saylau.cli.runtime import station_index
from saylau.core.contract import EVENT_TOPICS
from saylau.core.settings import Settings
from saylau.core.validation import DayWindow
from saylau.geo.registry import synthetic_registry
from saylau.kafka.broker import EmbeddedBroker, free_port
from saylau.kafka.lag import LagProbe
from saylau.kafka.producer import EventProducer
from saylau.streams.batch import Message, RecentIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse.client import create_schema, open_warehouse
from saylau.warehouse.queries import load_stations
from tests.dashboard.conftest import DashboardUsers, log_in, start_chromium
from tests.dashboard.served import serve
from tests.dashboard.test_browser import cell_text
from tests.integration.events import at, encode, event

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.timeout(240)]

RECENT, OLDER, RESENT = 40, 15, 5
WAITING = {"checkins": 7, "turnout": 4}  # messages the worker group has not read


def store(warehouse, registry, values: list[bytes], received_at: dt.datetime) -> None:
    batch = [Message("test", 0, offset, value) for offset, value in enumerate(values)]
    window = DayWindow.for_election(dt.date(2026, 3, 15), Settings().tz)
    WarehouseSink(warehouse).write(process_batch(batch, station_index(registry), window,
                                                 RecentIds(), received_at))


@pytest.fixture
def stored_day(tmp_path: Path) -> tuple[str, dt.datetime]:
    """40 events stored just now (5 of them stored twice), 15 stored 20 minutes ago, and
    3 rejected messages. Returns the warehouse URL and when the recent batch was stored."""
    registry = synthetic_registry(n_stations=60, total_voters=60_000, seed=4)
    url = f"chdb://{tmp_path}/warehouse"
    warehouse = open_warehouse(url)
    create_schema(warehouse)
    load_stations(warehouse, registry)
    stations = list(registry["station_id"])
    values = [encode(event("checkin", stations[n % 60], at(8), f"obs-{n}", role="observer"))
              for n in range(RECENT + OLDER)]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    store(warehouse, registry, values[RECENT:], now - dt.timedelta(minutes=20))
    store(warehouse, registry, values[:RECENT] + [b"{oops", b"[",
          encode(event("turnout", "NOPE-9", at(9), ballots_issued=3))], now)
    store(warehouse, registry, values[:RESENT], now)  # resent: stored again, counted once
    warehouse.close()
    return url, now


@pytest.fixture
def waiting_lag(broker: EmbeddedBroker, topic_prefix: str) -> dict[tuple[str, int], int]:
    with EventProducer(broker.bootstrap, topic_prefix) as producer:
        for suffix, count in WAITING.items():
            for number in range(count):
                producer.send_raw(f"{topic_prefix}.{suffix}", f"S-{number}", b"{}")
                producer.flush()  # one record per batch: see tests/operations/test_metrics.py
    topics = [f"{topic_prefix}.{name}" for name in EVENT_TOPICS]
    with LagProbe(broker.bootstrap, f"{topic_prefix}-worker", topics) as probe:
        return probe.lag_by_partition()


@contextmanager
def serve_status(settings: Settings, url: str) -> Iterator[str]:
    """The dashboard on a free port; yields the status page's address."""
    warehouse = open_warehouse(url)
    try:
        with serve(settings, warehouse) as base:
            yield f"{base}/status"
    finally:  # chDB serves one data folder per process: close it even when a check fails
        warehouse.close()


def open_status(browser: webdriver.Chrome, page: str, users: DashboardUsers) -> None:
    """The status page, logged in as headquarters (users: tests/dashboard/conftest.py)."""
    log_in(browser, page.removesuffix("/status"), "hq", users.passwords["hq"])
    browser.get(page)


@pytest.fixture
def browser(chromium_paths: tuple[str, str]) -> Iterator[webdriver.Chrome]:
    driver = start_chromium(chromium_paths)
    yield driver
    driver.quit()


def test_status_page_shows_lag_throughput_rejects_and_last_batch(
        broker: EmbeddedBroker, topic_prefix: str, stored_day: tuple[str, dt.datetime],
        waiting_lag: dict[tuple[str, int], int], browser: webdriver.Chrome,
        artifacts: Path, dashboard_users: DashboardUsers) -> None:
    url, stored_at = stored_day
    settings = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=topic_prefix,
                        worker_group=f"{topic_prefix}-worker", dashboard_refresh_seconds=1.0)
    with serve_status(settings, url) as page:
        open_status(browser, page, dashboard_users)
        assert cell_text(browser, "#status-caption-rate-10m") == \
            f"{RECENT} events stored in the last 10m"
        assert cell_text(browser, "#status-value-rate-10m") == f"{RECENT / 600:,.1f}/s"
        assert cell_text(browser, "#status-value-stored") == f"{RECENT + OLDER}"
        local = stored_at.astimezone(ZoneInfo(settings.election_timezone))
        assert cell_text(browser, "#status-value-last-batch") == local.strftime("%H:%M:%S")

        assert cell_text(browser, "#status-reject-invalid_json td:nth-child(2)") == "2"
        assert cell_text(browser, "#status-reject-unknown_station td:nth-child(2)") == "1"
        assert cell_text(browser, "#status-reject-all td:nth-child(2)") == "3"

        assert cell_text(browser, "#status-value-lag") == str(sum(WAITING.values()))
        assert sum(waiting_lag.values()) == sum(WAITING.values())
        for (topic, partition), lag in waiting_lag.items():
            row = f"#status-lag-{topic.replace('.', '-')}-{partition} td:nth-child(3)"
            assert cell_text(browser, row) == str(lag)
        browser.save_screenshot(str(artifacts / "status.png"))


def test_status_page_says_when_kafka_cannot_be_reached(
        stored_day: tuple[str, dt.datetime], browser: webdriver.Chrome,
        dashboard_users: DashboardUsers) -> None:
    url, _stored_at = stored_day
    dead = f"127.0.0.1:{free_port()}"
    settings = Settings(kafka_bootstrap=dead, dashboard_refresh_seconds=1.0)
    with serve_status(settings, url) as page:
        open_status(browser, page, dashboard_users)
        assert cell_text(browser, "#status-lag-error").startswith(
            f"Kafka at {dead} did not answer")
        assert cell_text(browser, "#status-value-stored") == f"{RECENT + OLDER}"
