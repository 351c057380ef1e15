"""The dashboard in a real headless Chromium, over a warehouse with known events.

`browser` (tests/dashboard/conftest.py) is logged in as headquarters at `dashboard_url`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.support.ui import WebDriverWait

from saylau.cli.runtime import station_index
from saylau.core.settings import Settings
from saylau.core.validation import DayWindow
from saylau.geo.registry import synthetic_registry
from saylau.streams.batch import Message, RecentIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse.client import create_schema, open_warehouse
from saylau.warehouse.queries import load_stations
from tests.dashboard.served import serve
from tests.integration.events import at, encode, event

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

@pytest.fixture
def known_day(tmp_path: Path) -> tuple[pd.DataFrame, dict[str, int], str]:
    """A warehouse holding check-ins and turnout for the stations of one region."""
    registry = synthetic_registry(n_stations=200, total_voters=200_000, seed=11)
    region = "KAZ011"  # Karaganda Region
    stations = registry[registry["region_code"] == region]
    url = f"chdb://{tmp_path}/warehouse"
    warehouse = open_warehouse(url)
    create_schema(warehouse)
    load_stations(warehouse, registry)
    latest: dict[str, int] = {}
    messages = []
    for number, station in enumerate(stations.itertuples()):
        ballots = station.registered_voters * (number % 7 + 3) // 10
        latest[station.station_id] = ballots
        for kind, fields in (("checkin", {"role": "observer"}),
                             ("turnout", {"ballots_issued": ballots})):
            messages.append(encode(event(kind, station.station_id, at(12), f"obs-{number}",
                                         **fields)))
    batch = [Message("test", 0, offset, value) for offset, value in enumerate(messages)]
    window = DayWindow.for_election(dt.date(2026, 3, 15), Settings().tz)
    result = process_batch(batch, station_index(registry), window, RecentIds(),
                           dt.datetime.now(dt.UTC))
    assert not result.rejects
    WarehouseSink(warehouse).write(result)
    return registry, latest, url


@pytest.fixture
def dashboard_url(known_day: tuple[pd.DataFrame, dict[str, int], str]) -> Iterator[str]:
    _registry, _latest, url = known_day
    warehouse = open_warehouse(url)
    settings = Settings(dashboard_refresh_seconds=1.0)
    with serve(settings, warehouse) as url:
        yield f"{url}/"
    warehouse.close()


def expected_turnout_text(registry: pd.DataFrame, latest: dict[str, int], region: str) -> str:
    in_region = registry[registry["region_code"] == region]
    ballots = sum(latest.get(sid, 0) for sid in in_region["station_id"])
    return f"{ballots * 100 / in_region['registered_voters'].sum():.1f}%"


def cell_text(browser: webdriver.Chrome, selector: str) -> str:
    """Text of an element, read in one step: the page re-renders it every refresh."""
    script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;"
    return str(WebDriverWait(browser, 60).until(lambda d: d.execute_script(script, selector)))


def test_wall_map_shows_the_turnout_the_events_imply(
        known_day: tuple[pd.DataFrame, dict[str, int], str], dashboard_url: str,
        browser: webdriver.Chrome, artifacts: Path) -> None:
    registry, latest, _url = known_day
    browser.get(dashboard_url)
    expected = expected_turnout_text(registry, latest, "KAZ011")
    assert cell_text(browser, "#wall-region-KAZ011 td:nth-child(2)") == expected

    # The map itself: the choropleth value Plotly drew for the region.
    drawn = WebDriverWait(browser, 60).until(lambda d: d.execute_script(
        "const plot = document.querySelector('#wall-map .js-plotly-plot');"
        "if (!plot || !plot.data) return null;"
        "const trace = plot.data.find(t => t.type === 'choroplethmap');"
        "const i = trace.locations.indexOf('KAZ011'); return i < 0 ? null : trace.z[i];"))
    assert f"{drawn:.1f}%" == expected
    # A region without events shows 0.0%, and the headline agrees with the stations.
    assert cell_text(browser, "#wall-region-KAZ001 td:nth-child(2)") == "0.0%"
    covered = cell_text(browser, "#wall-value-covered")
    assert covered == f"{len(latest):,} / {len(registry):,}"
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.querySelector('#wall-map canvas') !== null"))
    browser.save_screenshot(str(artifacts / "wall.png"))


def test_wall_page_loads_nothing_from_the_internet(
        dashboard_url: str, browser: webdriver.Chrome) -> None:
    browser.get(dashboard_url)
    cell_text(browser, "#wall-region-KAZ011")
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    outside = [u for u in urls if not u.startswith(dashboard_url.rstrip("/"))
               and not u.startswith("data:") and not u.startswith("blob:")]
    assert urls and outside == []
