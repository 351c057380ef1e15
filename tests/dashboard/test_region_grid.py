"""A region with more stations than a screen can show is drawn as a grid of binned cells:
their counts add up to the region's stations (state by state, as the page's counts), and
the page renders in a real headless Chromium over a real chDB warehouse."""

from __future__ import annotations

import time
from pathlib import Path

import flask
import numpy as np
import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.support.ui import WebDriverWait

from saylau.core.settings import Settings
from saylau.dashboard.aggregate import bounded_cells
from saylau.dashboard.regional import (
    REGION_GRID,
    REGION_POINT_LIMIT,
    coverage_counts,
    region_grid,
    region_map,
)
from saylau.geo.registry import synthetic_registry
from saylau.warehouse.client import open_warehouse
from saylau.warehouse.state import COVERAGE_STATES, station_state
from tests.dashboard.conftest import DashboardUsers, log_in
from tests.dashboard.served import browser, serve, text_becomes
from tests.dashboard.wall_day import KnownDay, load_day
from tests.integration.events import at

__all__ = ["browser"]  # fixture used by name below


def region_stations(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "station_id": [f"S{i:07d}" for i in range(n)],
        "lat": rng.uniform(42, 46, n), "lon": rng.uniform(68, 80, n),
        "registered_voters": rng.integers(50, 3000, n),
        "coverage": rng.choice(COVERAGE_STATES, n)})


def traces(figure, kind: str) -> list:
    return [trace for trace in figure.data if trace.type == kind]


@pytest.fixture
def request_context():
    with flask.Flask(__name__).test_request_context("/"):
        yield


def test_up_to_the_limit_every_station_is_a_point(request_context) -> None:
    stations = region_stations(REGION_POINT_LIMIT)
    figure = region_map(stations)
    assert sum(len(trace.lat) for trace in traces(figure, "scattermap")) == REGION_POINT_LIMIT
    assert not traces(figure, "choroplethmap")


def test_above_the_limit_the_cells_hold_every_station_state_by_state(request_context) -> None:
    stations = region_stations(REGION_POINT_LIMIT + 1)
    figure = region_map(stations)
    assert not traces(figure, "scattermap")
    (grid,) = traces(figure, "choroplethmap")
    cells = np.array(grid.customdata)
    assert len(cells) <= REGION_GRID * REGION_GRID
    assert cells[:, 0].sum() == len(stations)
    counts = coverage_counts(stations)
    assert [int(cells[:, i + 1].sum()) for i in range(len(COVERAGE_STATES))] == [
        counts[state] for state in COVERAGE_STATES]
    present = np.array(grid.z)  # coloured by the share with an observer present
    assert np.allclose(present, (cells[:, 1] * 100 / cells[:, 0]).round(1))
    assert len(grid.geojson["features"]) == len(cells)


def test_each_station_lies_in_its_cell_and_the_grid_stays_bounded() -> None:
    stations = pd.DataFrame({"lat": [40.0, 40.1, 50.0, 50.0], "lon": [60.0, 60.05, 60.0, 80.0],
                             "coverage": ["present", "absent", "present", "removed"]})
    cells = bounded_cells(stations, "coverage", COVERAGE_STATES, per_side=4)
    assert cells["points"].tolist() == [2, 1, 1]  # the extent's far corners fall inside
    assert cells[list(COVERAGE_STATES)].sum().tolist() == [2, 0, 1, 1]
    for _, cell in cells.iterrows():
        inside = stations[(stations["lat"] >= cell["lat0"] - 1e-9)
                          & (stations["lat"] <= cell["lat1"] + 1e-9)
                          & (stations["lon"] >= cell["lon0"] - 1e-9)
                          & (stations["lon"] <= cell["lon1"] + 1e-9)]
        assert len(inside) == cell["points"]
    many = bounded_cells(region_stations(50_000), "coverage", COVERAGE_STATES, per_side=10)
    assert len(many) <= 100 and many["points"].sum() == 50_000


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_a_region_of_many_stations_is_drawn_as_a_grid_in_the_browser(
        tmp_path: Path, browser: webdriver.Chrome, dashboard_users: DashboardUsers,
        artifacts: Path) -> None:
    # 60,000 stations: the largest regions have over 6,000, more than the limit.
    day = KnownDay(synthetic_registry(n_stations=60_000, total_voters=12_000_000, seed=5))
    code = str(day.registry["region_code"].value_counts().idxmax())
    in_region = day.stations(code)
    assert len(in_region) > REGION_POINT_LIMIT
    for number, station in enumerate(in_region[::3]):
        day.add("checkin", station, at(7, 30), f"obs-{number}", role="observer")
    warehouse = open_warehouse(f"chdb://{tmp_path}/warehouse")
    load_day(warehouse, day)
    state = station_state(warehouse)
    expected = region_grid(state[state["region_code"] == code])
    with serve(Settings(dashboard_refresh_seconds=5.0), warehouse) as url:
        log_in(browser, url, "hq", dashboard_users.passwords["hq"])
        started = time.monotonic()
        browser.get(f"{url}/region/{code}")
        drawn = WebDriverWait(browser, 120).until(lambda d: d.execute_script(
            "const p = document.querySelector('#region-map .js-plotly-plot');"
            "if (!p || !p._fullData || !document.querySelector('#region-map canvas')) "
            "return null;"
            "const grid = p._fullData.filter(t => t.type === 'choroplethmap' && t.customdata"
            " && t.customdata.length > 1);"
            "if (!grid.length) return null;"
            "return {cells: grid[0].customdata.length,"
            " sums: [0, 1, 2, 3, 4].map(i => grid[0].customdata.reduce((n, c) => n + c[i], 0)),"
            " points: p._fullData.filter(t => t.type === 'scattermap').length};"))
        shown_s = time.monotonic() - started
        shown = text_becomes(browser, "#region-count-stations", f"{len(in_region):,}")
        present = text_becomes(browser, "#region-count-present",
                               f"{len(in_region[::3]):,}")
        browser.save_screenshot(str(artifacts / "region-grid.png"))
    warehouse.close()
    print(f"{len(in_region):,} stations in {code}: {drawn['cells']} cells, "
          f"shown {shown_s:.1f} s after loading")
    assert drawn["points"] == 0  # no station drawn one by one
    assert drawn["cells"] == len(expected) <= REGION_GRID * REGION_GRID
    assert drawn["sums"] == [len(in_region), len(in_region[::3]), 0, 0,
                             len(in_region) - len(in_region[::3])]
    assert shown == f"{len(in_region):,}" and present == f"{len(in_region[::3]):,}"
