"""The station page in a real headless Chromium: registry and commission, every event,
turnout curve, incidents with verification, exit poll, protocols; and as of a moment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import quote

import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.support.ui import WebDriverWait

from saylau.dashboard.figures import describe_event, exitpoll_shares, protocol_comparison
from tests.dashboard.served import COMMISSION, Served, browser, served, text_becomes, text_of
from tests.dashboard.wall_day import HOT_REGION, local

__all__ = ["browser", "served"]  # fixtures used by name below
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

ROW_IDS = ("return Array.from(document.querySelectorAll(arguments[0]))"
           ".map(r => r.id).sort();")


def station_events(served: Served, station: str, as_of: dt.datetime) -> list[dict]:
    return [e for e in served.day.events
            if station in (e["station_id"], e.get("target_station_id"))
            and dt.datetime.fromisoformat(e["occurred_at"]) <= as_of]


def rows_become(browser: webdriver.Chrome, selector: str, expected: list[str]) -> list[str]:
    seen: list[list[str]] = [[]]

    def shows(driver: webdriver.Chrome) -> bool:
        seen[0] = driver.execute_script(ROW_IDS, selector)
        return seen[0] == expected

    WebDriverWait(browser, 60).until(shows, message=f"{selector} shows {seen[0]}")
    return seen[0]


def test_station_page_shows_the_station_and_all_its_events(
        served: Served, browser: webdriver.Chrome, artifacts: Path) -> None:
    station = served.day.stations(HOT_REGION)[0]
    record = served.day.registry.set_index("station_id").loc[station]
    browser.get(f"{served.url}/station/{station}")
    assert station in text_of(browser, "#station-title")
    assert text_of(browser, "#station-registry-address") == record["address"]
    assert text_of(browser, "#station-registry-registered") == \
        f"{int(record['registered_voters']):,}"
    commission = text_of(browser, "#station-commission")
    assert all(name in commission for name, _role, _party in COMMISSION)
    assert "self-nominated" in commission

    events = station_events(served, station, local(23, 59))
    expected = sorted(f"station-event-{e['event_id']}" for e in events)
    assert rows_become(browser, "#station-events tr", expected) == expected
    kinds = {e["kind"] for e in events}
    assert kinds >= {"checkin", "turnout", "incident", "review", "exitpoll", "protocol"}

    incident = next(e for e in events if e["kind"] == "incident")
    assert text_becomes(browser, f"#station-incident-{incident['event_id']} td:nth-child(4)",
                        "verified") == "verified"
    # Exit poll: 50 amanat, 22 auyl, 8 against all over two batches.
    assert text_becomes(browser, "#station-exitpoll-total", "80") == "80"
    assert text_of(browser, "#station-exitpoll-amanat td:nth-child(3)") == "62.5%"
    # Protocols: the official one moved 120 votes to amanat.
    row = "#station-protocol-votes-amanat"
    assert text_becomes(browser, f"{row} td:nth-child(2)", "300") == "300"
    assert text_of(browser, f"{row} td:nth-child(3)") == "420"
    assert "differs" in browser.execute_script(
        "return document.querySelector(arguments[0]).className", row)
    assert "differs" not in browser.execute_script(
        "return document.querySelector(arguments[0]).className", "#station-protocol-invalid")
    # Turnout curve: the observer counts in % of the station's voters, in time order.
    voters = int(record["registered_voters"])
    counts = [e["ballots_issued"] for e in events
              if e["kind"] == "turnout" and e.get("source", "observer_count") == "observer_count"]
    drawn = WebDriverWait(browser, 60).until(lambda d: d.execute_script(
        "const p = document.querySelector('#station-turnout .js-plotly-plot');"
        "if (!p || !p.data) return null;"
        "const t = p.data.find(t => t.name === 'observer count'); return t ? t.y : null;"))
    assert drawn == [round(b * 100 / voters, 1) for b in counts]
    browser.save_screenshot(str(artifacts / "station.png"))
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    assert urls and [u for u in urls if not u.startswith(served.url)] == []  # no internet


def test_station_page_as_of_a_moment_shows_only_what_had_happened(
        served: Served, browser: webdriver.Chrome, artifacts: Path) -> None:
    station = served.day.stations(HOT_REGION)[0]
    moment = local(12, 30)
    browser.get(f"{served.url}/station/{station}?as_of={quote(moment.isoformat())}")
    events = station_events(served, station, moment)
    expected = sorted(f"station-event-{e['event_id']}" for e in events)
    assert rows_become(browser, "#station-events tr", expected) == expected
    assert len(expected) < len(station_events(served, station, local(23, 59)))
    assert text_of(browser, "#station-no-protocol") == "No protocol yet."
    assert text_of(browser, "#station-no-exitpoll") == "No exit-poll interviews."
    browser.save_screenshot(str(artifacts / "station-as-of-1230.png"))


def test_unknown_station_says_so(served: Served, browser: webdriver.Chrome) -> None:
    browser.get(f"{served.url}/station/KAZ099-9999")
    assert "KAZ099-9999" in text_of(browser, "#station-error")


# --- the page's pure tables -----------------------------------------------------------------


def test_protocol_comparison_flags_only_figures_that_differ():
    protocols = pd.DataFrame([
        {"source": "observer_copy", "registered": 900, "ballots_received": 900,
         "ballots_issued": 600, "ballots_cast": 600, "invalid": 10,
         "votes": {"amanat": 300, "auyl": 290}},
        {"source": "official", "registered": 900, "ballots_received": 900,
         "ballots_issued": 600, "ballots_cast": 600, "invalid": 10,
         "votes": {"amanat": 420, "auyl": 170, "against_all": 0}}])
    table = protocol_comparison(protocols).set_index("figure")
    assert table.loc["votes: amanat"].tolist() == [300, 420, True]
    assert table.loc["votes: against_all"].tolist() == [0, 0, False]
    assert not table.loc["invalid", "differs"]


def test_protocol_comparison_with_one_protocol_shows_the_other_missing():
    protocols = pd.DataFrame([{"source": "official", "registered": 1, "ballots_received": 1,
                               "ballots_issued": 1, "ballots_cast": 1, "invalid": 0,
                               "votes": {"amanat": 1}}])
    table = protocol_comparison(protocols).set_index("figure")
    assert table.loc["votes: amanat", "observer_copy"] is None
    assert not table["differs"].any()


def test_exitpoll_shares_add_up_to_the_answers():
    shares = exitpoll_shares(pd.DataFrame({"option": ["a", "b"], "answers": [1, 3]}))
    assert shares["option"].tolist() == ["b", "a"]
    assert shares["share_pct"].tolist() == [75.0, 25.0]
    assert exitpoll_shares(pd.DataFrame({"option": [], "answers": []}))["share_pct"].empty


def test_every_event_kind_has_a_timeline_line():
    assert describe_event({"kind": "turnout", "ballots_issued": 1234,
                           "source": "observer_count"}) == "turnout 1,234 (observer count)"
    assert describe_event({"kind": "checkout", "reason": "removed", "observer_id": "o-1"}) \
        == "check-out (removed) o-1"
    assert describe_event({"kind": "assignment", "observer_id": "o-2",
                           "target_station_id": "S-1"}) == "assignment: o-2 sent to S-1"
