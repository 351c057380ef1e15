"""A known day served by a real dashboard, and a headless Chromium to look at it.

Test modules import these fixtures by name (``from tests.dashboard.served import …``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from saylau.core.settings import Settings
from saylau.dashboard.app import create_dashboard
from saylau.geo.commission import COMMISSION_FILE, write_commission_csv
from saylau.geo.registry import write_registry_csv
from saylau.kafka.broker import free_port
from saylau.warehouse.client import Warehouse, open_warehouse
from tests.dashboard.conftest import DashboardUsers, log_in, start_chromium
from tests.dashboard.wall_day import KnownDay, build_day, load_day

ROTATE_SECONDS = 2.0
COMMISSION = [("Aigerim Nurlanovna", "chair", "amanat"), ("Bolat Serikuly", "secretary", ""),
              ("Dana Karimova", "member", "ak_zhol")]


@dataclass
class Served:
    day: KnownDay
    warehouse: Warehouse
    url: str
    settings: Settings


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    day = build_day()
    registry_path = tmp_path / "stations.csv"
    write_registry_csv(day.registry, registry_path)
    station = day.stations("KAZ011")[0]
    members = pd.DataFrame([(station, *member) for member in COMMISSION],
                           columns=["station_id", "name", "role", "party"])
    write_commission_csv(members, tmp_path / COMMISSION_FILE)
    warehouse = open_warehouse(f"chdb://{tmp_path}/warehouse")
    load_day(warehouse, day)
    settings = Settings(dashboard_refresh_seconds=1.0, dashboard_rotate_seconds=ROTATE_SECONDS,
                        registry=registry_path, data_dir=tmp_path)
    with serve(settings, warehouse) as url:
        yield Served(day, warehouse, url, settings)
    warehouse.close()


@contextlib.contextmanager
def serve(settings: Settings, warehouse: Warehouse) -> Iterator[str]:
    """The dashboard on a free port in a thread; yields its address."""
    app = create_dashboard(settings, warehouse)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", free_port(), app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def browser(chromium_paths: tuple[str, str], dashboard_users: DashboardUsers,
            request: pytest.FixtureRequest) -> Iterator[webdriver.Chrome]:
    """A Chromium; logged in as headquarters at `served` if the test uses it (users:
    tests/dashboard/conftest.py), else the test logs in where it serves."""
    driver = start_chromium(chromium_paths)
    if "served" in request.fixturenames:
        site: Served = request.getfixturevalue("served")
        log_in(driver, site.url, "hq", dashboard_users.passwords["hq"])
    yield driver
    driver.quit()


TEXT_OF = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;"


def text_of(browser: webdriver.Chrome, selector: str, timeout: float = 60) -> str:
    """Text of an element once it exists, read in one step (pages re-render it)."""
    return str(WebDriverWait(browser, timeout).until(
        lambda d: d.execute_script(TEXT_OF, selector)))


def text_becomes(browser: webdriver.Chrome, selector: str, expected: str,
                 timeout: float = 60) -> str:
    """Wait until an element shows ``expected``; return what it last showed."""
    seen: list[str | None] = [None]

    def shows(driver: webdriver.Chrome) -> bool:
        seen[0] = driver.execute_script(TEXT_OF, selector)
        return seen[0] == expected

    try:
        WebDriverWait(browser, timeout).until(shows)
    except TimeoutException:
        pass  # the caller's assertion shows what was shown instead
    return str(seen[0])
