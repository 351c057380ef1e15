"""The region page in headless Chromium against a live site: real broker, real `saylau
worker` child, ClickHouse server. Its numbers are the warehouse's; "assign" puts an
`assignment` event on the real topic and, once the worker stored it, the station is en route.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from saylau.dashboard.regional import coverage_counts, free_observers, suggestions
from saylau.warehouse.client import open_warehouse
from saylau.warehouse.queries import incidents, observer_whereabouts
from saylau.warehouse.state import station_state
from tests.dashboard.conftest import (
    LEAD_REGION,
    DashboardUsers,
    LiveSite,
    log_in,
    messages_on_topic,
)

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.clickhouse_server,
              pytest.mark.timeout(420)]


def text_of(browser: webdriver.Chrome, selector: str, timeout: float = 60) -> str:
    """Text of an element, read in one step: the page re-renders it every refresh."""
    script = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;"
    return str(WebDriverWait(browser, timeout).until(
        lambda d: d.execute_script(script, selector)))


def rows(browser: webdriver.Chrome, selector: str) -> list[list[str]]:
    return browser.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' tbody tr'))"
        ".map(r => Array.from(r.cells).map(c => c.textContent));", selector)


def click(browser: webdriver.Chrome, selector: str) -> None:
    """Click what the selector finds at this instant (the table is redrawn every second,
    so an element found earlier may already be replaced)."""
    script = "const e = document.querySelector(arguments[0]); if (e) e.click(); return !!e;"
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(script, selector))


def expected_region(site: LiveSite) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The region's stations, free observers and suggestions, straight from the warehouse."""
    warehouse = open_warehouse(site.warehouse_url)
    try:
        state = station_state(warehouse)
        stations = state[state["region_code"] == LEAD_REGION].reset_index(drop=True)
        home = site.roster[site.roster["home_region"] == LEAD_REGION]
        free = free_observers(site.roster, observer_whereabouts(
            warehouse, home["observer_id"].tolist()), LEAD_REGION)
        found = incidents(warehouse)
        plan = suggestions(free, stations, state,
                           found.loc[found["region_code"] == LEAD_REGION, "station_id"])
    finally:
        warehouse.close()
    return stations, free, plan


def test_region_page_shows_the_warehouse_and_assign_sends_an_observer_en_route(
        live_site: LiveSite, chrome: webdriver.Chrome, dashboard_users: DashboardUsers,
        artifacts: Path) -> None:
    # Login required: the page sends an anonymous visitor to log in, then back.
    chrome.get(f"{live_site.url}region/{LEAD_REGION}")
    WebDriverWait(chrome, 30).until(lambda d: "/login?next=" in d.current_url)
    WebDriverWait(chrome, 30).until(lambda d: d.find_elements(By.ID, "login-username"))
    chrome.save_screenshot(str(artifacts / "login.png"))
    log_in(chrome, live_site.url, "lead", dashboard_users.passwords["lead"])
    assert chrome.current_url.endswith(f"/region/{LEAD_REGION}")

    stations, free, plan = expected_region(live_site)
    counts = coverage_counts(stations)
    # The known day: 5 present, 1 removed, the rest absent, nobody on the way yet.
    assert counts == {"present": 5, "en_route": 0, "removed": 1,
                      "absent": len(stations) - 6}
    for state, number in counts.items():
        assert text_of(chrome, f"#region-count-{state}") == f"{number:,}"
    assert text_of(chrome, "#region-count-stations") == f"{len(stations):,}"
    # Free: removed, shift ended, in reserve; never a name or a phone on the page.
    assert set(free["observer_id"]) == {"obs-l5", "obs-l6", "obs-l7"}
    text_of(chrome, "#region-free-obs-l7")
    shown_free = {row[0]: row[2] for row in rows(chrome, "#region-free")}
    assert shown_free == {"obs-l5": "removed", "obs-l6": "shift ended", "obs-l7": "reserve"}
    assert "Test obs" not in chrome.page_source and "+7 700" not in chrome.page_source
    # Suggestions: saylau/geo/redeploy.py's plan over the warehouse's state (obs-l7: no position).
    assert len(plan) == 2
    text_of(chrome, f"#region-suggestion-{plan['station_id'].iloc[0]}")
    shown_plan = [(row[0], row[1], row[2]) for row in rows(chrome, "#region-suggestions")]
    assert shown_plan == [(r.observer_id, r.station_id, f"{r.distance_km:.1f}")
                          for r in plan.itertuples()]
    WebDriverWait(chrome, 30).until(lambda d: d.execute_script(
        "return document.querySelector('#region-map canvas') !== null"))
    chrome.save_screenshot(str(artifacts / "region.png"))

    observer, target = plan["observer_id"].iloc[0], plan["station_id"].iloc[0]
    click(chrome, f"#region-suggestion-{target} button")
    assert text_of(chrome, "#region-assign-sent").startswith(f"Sent: {observer} → {target}")

    sent = [e for e in messages_on_topic(live_site, "assignments") if e["observer_id"] == observer]
    assert len(sent) == 1
    assert sent[0]["kind"] == "assignment" and sent[0]["target_station_id"] == target
    assert sent[0]["assigned_by"] == "lead"

    live_site.worker.wait_caught_up()
    deadline = time.monotonic() + 60
    while text_of(chrome, f"#region-station-{target} td:nth-child(3)") != "assigned, en route":
        assert time.monotonic() < deadline, "the station never showed en route"
        time.sleep(0.5)
    stations, free, _plan = expected_region(live_site)
    assert stations.set_index("station_id").at[target, "coverage"] == "en_route"
    assert text_of(chrome, "#region-count-en_route") == "1"
    assert observer not in set(free["observer_id"])
    WebDriverWait(chrome, 30).until(lambda d: not d.find_elements(
        By.ID, f"region-free-{observer}"))
    chrome.save_screenshot(str(artifacts / "region-assigned.png"))

    # Time travel: as of before the first check-in nobody was anywhere; no assigning then.
    before = live_site.day_start - dt.timedelta(minutes=5)
    chrome.get(f"{live_site.url}region/{LEAD_REGION}?as_of={quote(before.isoformat())}")
    deadline = time.monotonic() + 60
    while text_of(chrome, "#region-count-absent") != f"{len(stations):,}":
        assert time.monotonic() < deadline, "the earlier state never showed"
        time.sleep(0.5)
    assert text_of(chrome, "#region-count-present") == "0"
    chrome.save_screenshot(str(artifacts / "region-as-of.png"))
