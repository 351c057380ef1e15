"""The wall in a real headless Chromium over a known day: every headline number equals the
warehouse and the events sent, the maps rotate, and time travel shows the earlier state."""

from __future__ import annotations

import datetime as dt
import re
import sys
import time
from pathlib import Path
from urllib.parse import quote, unquote

import dash
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from saylau.core.settings import Settings
from saylau.dashboard.app import create_dashboard
from saylau.dashboard.snapshot import reporting_moments
from saylau.geo.registry import synthetic_registry
from saylau.warehouse import queries
from saylau.warehouse.client import open_warehouse
from tests.dashboard.conftest import DashboardUsers, log_in
from tests.dashboard.served import (
    ROTATE_SECONDS,
    Served,
    browser,
    serve,
    served,
    text_becomes,
    text_of,
)
from tests.dashboard.test_snapshot import CountingWarehouse
from tests.dashboard.wall_day import HOT_REGION, KnownDay, build_day, load_day, local
from tests.integration.events import at

__all__ = ["browser", "served"]  # fixtures used by name below
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]
END = local(23, 59)


def percent(ballots: int, registered: int) -> str:
    return f"{ballots * 100 / registered:.1f}%"


def expected_wall(served: Served, as_of=None) -> dict[str, str]:
    """Every headline figure, worked out from the events sent (and, for the alerts, which
    the worker's rules raise, from the warehouse)."""
    day, moment = served.day, as_of or END
    registered = int(day.registry["registered_voters"].sum())
    incidents = day.incidents(moment)
    discarded = {e["incident_id"] for e in day.events
                 if e["kind"] == "review" and e["verdict"] in ("rejected", "duplicate")
                 and dt.datetime.fromisoformat(e["occurred_at"]) <= moment}
    counted = [i for i in incidents if i["event_id"] not in discarded]
    figures = {
        "#wall-value-turnout": percent(day.ballots(moment), registered),
        "#wall-value-covered": f"{len(day.covered(moment)):,} / {len(day.registry):,}",
        "#wall-value-incidents": f"{len(counted):,}",
        "#wall-value-alerts": f"{len(queries.alerts(served.warehouse, as_of)):,}",
    }
    for reported in reporting_moments(served.settings):
        key = f"#wall-reporting-{reported:%H%M}"
        reached = reported <= (as_of or local(20, 40))
        figures[f"{key} .reporting-observer"] = (percent(day.ballots(reported), registered)
                                                 if reached else "—")
        figures[f"{key} .reporting-official"] = (
            f"official {percent(day.ballots(reported, 'official'), registered)}" if reached
            else "not yet")
    return figures


def assert_wall_shows(browser: webdriver.Chrome, expected: dict[str, str]) -> None:
    shown = {selector: text_becomes(browser, selector, value)
             for selector, value in expected.items()}
    assert shown == expected


def test_wall_headline_equals_the_warehouse_and_the_events(
        served: Served, browser: webdriver.Chrome, artifacts: Path) -> None:
    browser.get(served.url + "/")
    expected = expected_wall(served)
    assert_wall_shows(browser, expected)
    # The same numbers straight from the warehouse's state query.
    state = queries.station_turnout(served.warehouse)
    ballots = int(state[state["source"] == "observer_count"]["ballots"].sum())
    registered = int(served.day.registry["registered_voters"].sum())
    assert expected["#wall-value-turnout"] == percent(ballots, registered)
    assert text_becomes(browser, "#wall-value-as-of", "20:40") == "20:40"
    # Incidents by category: 3 carousel voting reports, 2 verified.
    assert text_becomes(browser, "#wall-category-carousel_voting td:nth-child(2)", "2") == "2"
    assert text_becomes(browser, "#wall-category-carousel_voting td:nth-child(3)", "1") == "1"
    hot = served.day.registry[served.day.registry["region_code"] == HOT_REGION]
    assert text_becomes(browser, f"#wall-region-{HOT_REGION} td:nth-child(2)", percent(
        served.day.ballots(END) - _quiet_ballots(served), int(hot["registered_voters"].sum())))
    ticker = text_of(browser, "#wall-ticker")
    assert "incident burst" in ticker and "protocol mismatch" in ticker
    browser.save_screenshot(str(artifacts / "wall-live.png"))


def _quiet_ballots(served: Served) -> int:
    hot = set(served.day.stations(HOT_REGION))
    newest: dict[str, tuple[str, int]] = {}
    for e in served.day.events:
        if e["kind"] == "turnout" and e.get("source", "observer_count") == "observer_count" \
                and e["station_id"] not in hot:
            if e["station_id"] not in newest or newest[e["station_id"]][0] < e["occurred_at"]:
                newest[e["station_id"]] = (e["occurred_at"], e["ballots_issued"])
    return sum(b for _t, b in newest.values())


def test_wall_rotates_between_the_three_maps(
        served: Served, browser: webdriver.Chrome, artifacts: Path) -> None:
    browser.get(served.url + "/")
    text_becomes(browser, "#wall-value-as-of", "20:40")
    seen: dict[str, str] = {}
    deadline = time.monotonic() + 3 * ROTATE_SECONDS + 10
    while len(seen) < 3 and time.monotonic() < deadline:
        panel = browser.execute_script(
            "const p = document.querySelector('.wall-panel.active');"
            "const plot = p && p.querySelector('.js-plotly-plot');"
            "if (!plot || !plot.data) return null;"
            "return [p.id, plot.data[0].name, document.querySelector('#wall-panel-title')"
            ".textContent];")
        if panel and panel[0] not in seen:
            seen[panel[0]] = panel[1]
            assert panel[2].split()[0].lower() in ("turnout", "incidents", "coverage")
            time.sleep(0.5)  # let the fade finish before the screenshot
            browser.save_screenshot(str(artifacts / f"{panel[0]}.png"))
        time.sleep(0.2)
    assert seen == {"wall-panel-turnout": "turnout %",
                    "wall-panel-density": "per 10,000 voters",
                    "wall-panel-gaps": "% voters unwatched"}
    # Only one panel is shown at a time (read in one step: the rotation goes on).
    assert browser.execute_script(
        "return document.querySelectorAll('.wall-panel.active').length") == 1


def test_time_travel_shows_the_earlier_state_and_live_returns(
        served: Served, browser: webdriver.Chrome, artifacts: Path) -> None:
    moment = local(10, 30)
    browser.get(served.url + "/?as_of=" + quote(moment.isoformat()))
    earlier = expected_wall(served, moment)
    assert_wall_shows(browser, earlier)
    assert text_becomes(browser, "#wall-value-as-of", "10:30") == "10:30"
    assert text_becomes(browser, "#wall-value-incidents", "6") == "6"  # none reviewed yet
    # Smaller than live, and equal to the warehouse's state as of that moment.
    state = queries.station_turnout(served.warehouse, moment)
    registered = int(served.day.registry["registered_voters"].sum())
    as_of_ballots = int(state[state["source"] == "observer_count"]["ballots"].sum())
    assert earlier["#wall-value-turnout"] == percent(as_of_ballots, registered)
    assert as_of_ballots < served.day.ballots(END)
    browser.save_screenshot(str(artifacts / "wall-as-of-1030.png"))

    browser.find_element(By.ID, "wall-tt-live").click()
    assert_wall_shows(browser, expected_wall(served))
    assert "as_of" not in browser.current_url


def test_playing_the_day_moves_the_wall_forward(
        served: Served, browser: webdriver.Chrome) -> None:
    start = local(8, 0)
    browser.get(served.url + "/?as_of=" + quote(start.isoformat()))
    assert text_becomes(browser, "#wall-value-turnout", "0.0%") == "0.0%"
    browser.find_element(By.ID, "wall-tt-play").click()
    # 15 minutes of the day per second. A slow machine may skip a moment (the wall draws
    # each moment the play reaches by the time it is asked), so the test pauses once the
    # play has passed 09:00 and checks the wall against the moment it stopped at.
    WebDriverWait(browser, 90).until(lambda d: _as_of_in(d.current_url) >= local(9, 0))
    browser.find_element(By.ID, "wall-tt-play").click()  # pause
    stopped = _steady_as_of(browser)
    registered = int(served.day.registry["registered_voters"].sum())
    shown = percent(served.day.ballots(stopped), registered)
    assert shown != "0.0%"
    assert text_becomes(browser, "#wall-value-turnout", shown, timeout=60) == shown
    assert text_becomes(browser, "#wall-value-as-of", f"{stopped:%H:%M}") == f"{stopped:%H:%M}"


def _as_of_in(url: str) -> dt.datetime:
    """The moment in a page address's ``as_of``; before the day for an address without."""
    # unquote, not parse_qs: a "+" of the UTC offset is not a space here.
    found = re.search(r"[?&]as_of=([^&#]+)", url)
    return dt.datetime.fromisoformat(unquote(found.group(1))) if found else local(0, 0)


def _steady_as_of(browser: webdriver.Chrome) -> dt.datetime:
    """The address's moment once it has stayed the same for two seconds (play paused)."""
    seen = [_as_of_in(browser.current_url), time.monotonic()]

    def steady(driver: webdriver.Chrome) -> bool:
        now = _as_of_in(driver.current_url)
        if now != seen[0]:
            seen[:] = [now, time.monotonic()]
        return time.monotonic() - seen[1] >= 2.0

    WebDriverWait(browser, 30, poll_frequency=0.2).until(steady)
    return seen[0]


def test_two_wall_callbacks_in_one_interval_share_one_snapshot(tmp_path: Path) -> None:
    day = build_day()
    warehouse = open_warehouse(f"chdb://{tmp_path}/warehouse")
    load_day(warehouse, day)
    counting = CountingWarehouse(warehouse)
    app = create_dashboard(Settings(dashboard_snapshot_seconds=60.0), counting)  # type: ignore[arg-type]
    module = next(page["module"] for page in dash.page_registry.values() if page["path"] == "/")
    refresh = sys.modules[module].refresh
    with app.server.test_request_context("/"):
        first = refresh(None, None, None)  # screen one
        one_set = counting.total
        second = refresh(None, None, None)  # screen two, same interval
        again = refresh("a newer version", None, first[-1])  # screen one: nothing new to send
    assert one_set > 0 and counting.total == one_set
    assert second[0] is first[0]  # the very same figure, built once
    assert again == (dash.no_update,) * len(first)
    warehouse.close()


def test_ten_thousand_stations_are_drawn_one_by_one_and_zoom_quickly(
        tmp_path: Path, browser: webdriver.Chrome, artifacts: Path,
        dashboard_users: DashboardUsers) -> None:
    day = KnownDay(synthetic_registry(n_stations=10_000, total_voters=12_000_000, seed=5))
    for number, station in enumerate(day.registry["station_id"][::2]):
        day.add("checkin", station, at(7, 30), f"obs-{number}", role="observer")
    warehouse = open_warehouse(f"chdb://{tmp_path}/warehouse")
    load_day(warehouse, day)
    with serve(Settings(dashboard_refresh_seconds=5.0, dashboard_rotate_seconds=600.0),
               warehouse) as url:
        log_in(browser, url, "hq", dashboard_users.passwords["hq"])
        started = time.monotonic()
        browser.get(url + "/")
        drawn = WebDriverWait(browser, 120).until(lambda d: d.execute_script(
            "const p = document.querySelector('#wall-map .js-plotly-plot');"
            "if (!p || !p._fullData || !document.querySelector('#wall-map canvas')) return null;"
            "return p._fullData.filter(t => t.type === 'scattermap')"  # decoded, as drawn
            ".reduce((n, t) => n + t.lat.length, 0);"))
        shown_s = time.monotonic() - started
        assert drawn == 10_000
        assert text_becomes(browser, "#wall-value-covered", "5,000 / 10,000") == "5,000 / 10,000"
        zoom_ms = browser.execute_async_script(
            "const done = arguments[0]; const p = document.querySelector('#wall-map "
            ".js-plotly-plot'); const t = performance.now();"
            "Plotly.relayout(p, {'map.zoom': 5}).then(() => done(performance.now() - t));")
        browser.save_screenshot(str(artifacts / "wall-10000-stations.png"))
    warehouse.close()
    print(f"10,000 stations: map shown {shown_s:.1f} s after loading, zoom {zoom_ms:.0f} ms")
    assert zoom_ms < 5_000  # software WebGL in a headless browser on a busy 2-core machine


def test_moving_the_slider_shows_the_wall_as_of_that_moment(
        served: Served, browser: webdriver.Chrome) -> None:
    browser.get(served.url + "/")
    assert_wall_shows(browser, expected_wall(served))
    # The slider counts minutes from 06:00 (an hour before polls open): 270 is 10:30.
    field = browser.find_element(By.CSS_SELECTOR, "#wall-tt-slider input")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("270", Keys.TAB)  # the slider takes the value when the field is left
    assert_wall_shows(browser, expected_wall(served, local(10, 30)))
    assert text_becomes(browser, "#wall-tt-label", "as of 10:30 (15 Mar)") \
        == "as of 10:30 (15 Mar)"
    WebDriverWait(browser, 10).until(lambda d: "as_of=2026-03-15T10%3A30" in d.current_url)
    # The keyboard moves the slider too: Home is 06:00, before anything happened.
    browser.find_element(By.CSS_SELECTOR, "#wall-tt-slider [role=slider]").send_keys(Keys.HOME)
    assert text_becomes(browser, "#wall-value-turnout", "0.0%") == "0.0%"
    assert text_becomes(browser, "#wall-value-covered", "0 / 200") == "0 / 200"
