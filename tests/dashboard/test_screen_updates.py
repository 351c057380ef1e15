"""Screens learn of new numbers from a version poll and are sent only what changed
(saylau/dashboard/screen_updates.py), in a real headless Chromium and over real HTTP.

- A wall showing the latest numbers asks only for the version (no callback); a new report
  reaches the headline, and its figures arrive as a ``Patch`` of the changed trace
  properties (never the region outlines again), the other figures and panels not at all.
- The version routes answer only whoever may open their page, a region's version says
  nothing of another region, and neither changes with an exit poll (which no page shows
  before the embargo ends).
- A hundred screens polling together cost one snapshot per interval, not one each.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver

from saylau.cli.runtime import station_index
from saylau.core.settings import Settings
from saylau.core.validation import DayWindow
from saylau.streams.batch import Message, RecentIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse.client import Warehouse, open_warehouse
from tests.dashboard.conftest import LEAD_REGION, DashboardUsers
from tests.dashboard.served import Served, browser, serve, served, text_becomes, text_of
from tests.dashboard.test_snapshot import CountingWarehouse
from tests.dashboard.wall_day import QUIET_REGION, KnownDay, build_day, load_day, local
from tests.integration.events import at, encode, event

__all__ = ["browser", "served"]  # fixtures used by name below
pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

# Records every request the page makes with fetch (Dash's callbacks and the version poll),
# with the answers to callbacks.
RECORD_FETCHES = """
window.__saylauFetches = [];
const original = window.fetch;
window.fetch = function (input, init) {
    const url = input instanceof Request ? input.url : String(input);
    const record = {url: url, method: (init && init.method) || 'GET', at: performance.now()};
    window.__saylauFetches.push(record);
    const answer = original.apply(this, arguments);
    if (url.includes('_dash-update-component')) {
        answer.then(r => r.clone().text()).then(text => { record.body = text; });
    }
    return answer;
};
"""
FETCHES = "return window.__saylauFetches.splice(0);"


def store_events(warehouse: Warehouse, day: KnownDay, events: list[dict]) -> None:
    """Store events as the worker does (batch processing, then the warehouse sink)."""
    day.events.extend(events)
    settings = Settings()
    window = DayWindow.for_election(settings.election_date, settings.tz)
    batch = [Message("test", 0, offset, encode(value)) for offset, value in enumerate(events)]
    result = process_batch(batch, station_index(day.registry), window, RecentIds(),
                           dt.datetime.now(dt.UTC))
    assert not result.rejects, result.rejects
    WarehouseSink(warehouse).write(result)


def _callbacks(fetches: list[dict]) -> list[dict]:
    return [f for f in fetches if "_dash-update-component" in f["url"]]


def _polls(fetches: list[dict]) -> list[dict]:
    return [f for f in fetches if "/wall/version" in f["url"]]


def test_a_wall_that_shows_the_latest_numbers_only_polls_and_a_new_report_arrives_as_a_patch(
        served: Served, browser: webdriver.Chrome) -> None:
    browser.get(served.url + "/")
    registered = int(served.day.registry["registered_voters"].sum())
    before = served.day.ballots(local(23, 59))
    caption = "#wall-figure-turnout .headline-caption"
    assert f"{before:,} of {registered:,}" in text_becomes(
        browser, caption, f"turnout now: {before:,} of {registered:,}")
    browser.execute_script(RECORD_FETCHES)
    time.sleep(5.0)  # several polls and snapshot intervals, nothing new
    quiet = browser.execute_script(FETCHES)
    assert len(_polls(quiet)) >= 4, [int(f["at"]) for f in quiet]
    assert _callbacks(quiet) == []  # the numbers on screen are the latest: no callback

    station = served.day.stations(QUIET_REGION)[5]  # had no turnout report yet
    store_events(served.warehouse, served.day, [
        event("turnout", station, at(20, 45), "obs-new", ballots_issued=123)])
    after = f"turnout now: {before + 123:,} of {registered:,}"
    assert text_becomes(browser, caption, after, timeout=30) == after
    assert text_of(browser, "#wall-value-as-of") == "20:45"
    time.sleep(1.0)  # let the recorder read the answer
    answers = [json.loads(f["body"])["response"] for f in _callbacks(
        browser.execute_script(FETCHES)) if f.get("body")]
    assert len(answers) == 1, answers  # one callback for one new snapshot
    response = answers[0]
    # The region's turnout moved: the turnout map comes as a patch of its traces' data,
    # without the region outlines or the layout. The other maps, if sent at all (the
    # station state comes in no fixed order, so their marker arrays may come reordered),
    # are patches too.
    assert "wall-map" in response
    for graph in ("wall-map", "wall-map-density", "wall-map-gaps"):
        if graph not in response:
            continue
        figure = response[graph]["figure"]
        assert figure.get("__dash_patch_update") == "__dash_patch_update", (graph, figure)
        patched = {tuple(o["location"]) for o in figure["operations"]}
        assert patched and all(p[0] == "data" and p[2] != "geojson" for p in patched), patched
    # The panels that did not change are not sent: no incident, no alert moved.
    assert "wall-categories" not in response and "wall-ticker" not in response
    assert "wall-headline" in response and "wall-shown" in response
    # The patched figure is the one a full redraw would show: its region's value is the
    # region table's.
    shown = browser.execute_script(
        "const p = document.querySelector('#wall-map .js-plotly-plot');"
        "const t = p.data.find(t => t.type === 'choroplethmap');"
        "return t.z[t.locations.indexOf(arguments[0])];", QUIET_REGION)
    cell = text_of(browser, f"#wall-region-{QUIET_REGION} td:nth-child(2)")
    assert f"{float(shown):.1f}%" == cell


def _client(url: str, users: DashboardUsers | None, name: str | None) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    if users is not None and name is not None:
        client.post("/auth/login", data={"username": name,
                                         "password": users.passwords[name]})
    return client


def _version(client: httpx.Client, path: str) -> str:
    answer = client.get(path)
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    assert answer.headers["Cache-Control"] == "no-store"
    return str(answer.json()["version"])


def test_the_version_routes_answer_only_who_may_open_the_page(
        served: Served, dashboard_users: DashboardUsers) -> None:
    hq = _client(served.url, dashboard_users, "hq")
    lead = _client(served.url, dashboard_users, "lead")
    press = _client(served.url, dashboard_users, "press")
    anonymous = _client(served.url, None, None)
    own, other = f"/region/{LEAD_REGION}/version", f"/region/{QUIET_REGION}/version"
    wall = _version(hq, "/wall/version")
    assert _version(hq, other) != _version(hq, own)
    lead_own = _version(lead, own)
    assert lead.get("/wall/version").status_code == 403
    assert lead.get(other).status_code == 403
    assert lead.get(f"{own}?region={QUIET_REGION}").status_code == 403  # named anywhere
    for path in ("/wall/version", own):
        assert press.get(path).status_code == 403
        refused = anonymous.get(path)  # sent to the login page, told nothing
        assert refused.status_code == 302 and refused.headers["location"].startswith("/login")
        assert wall not in refused.text and lead_own not in refused.text
    assert hq.get("/wall/version?as_of=not-a-time").status_code == 400
    earlier = _version(hq, "/wall/version?as_of=" + at(10, 30).replace("+", "%2B"))
    assert earlier != wall

    # An exit poll (before the newest report, so the wall's "latest report" time stays)
    # changes nothing any page shows before the embargo: no version moves.
    station = served.day.stations(LEAD_REGION)[0]
    store_events(served.warehouse, served.day, [event(
        "exitpoll", station, at(20, 30), "obs-0", window_start=at(20, 0),
        window_end=at(20, 30), interviews=9,
        choices={"amanat": 5, "auyl": 3, "against_all": 1})])
    time.sleep(served.settings.dashboard_snapshot_seconds + 0.2)  # a new snapshot
    assert _version(lead, own) == lead_own
    assert _version(hq, "/wall/version") == wall
    # A report in another region moves the wall's version, not the lead's.
    store_events(served.warehouse, served.day, [event(
        "turnout", served.day.stations(QUIET_REGION)[6], at(20, 50), "obs-q",
        ballots_issued=77)])
    time.sleep(served.settings.dashboard_snapshot_seconds + 0.2)
    assert _version(hq, "/wall/version") != wall
    assert _version(lead, own) == lead_own
    assert _version(hq, other) != _version(hq, own)
    for client in (hq, lead, press, anonymous):
        client.close()


@pytest.fixture
def counted(tmp_path: Path, dashboard_users: DashboardUsers
            ) -> Iterator[tuple[str, Counter[str], KnownDay, Warehouse]]:
    day = build_day()
    warehouse = open_warehouse(f"chdb://{tmp_path}/warehouse")
    load_day(warehouse, day)
    counting = CountingWarehouse(warehouse)
    settings = Settings(dashboard_snapshot_seconds=1.0, data_dir=tmp_path)
    with serve(settings, counting) as url:  # type: ignore[arg-type]
        yield url, counting.queries, day, warehouse
    warehouse.close()


def _snapshots(queries: Counter[str]) -> int:
    """Snapshots taken: each reads the station state once, unordered with fingerprints."""
    return sum(n for sql, n in queries.items() if "AS fingerprint" in sql)


def test_a_hundred_screens_polling_take_one_snapshot_per_interval(
        counted: tuple[str, Counter[str], KnownDay, Warehouse],
        dashboard_users: DashboardUsers) -> None:
    url, queries, day, warehouse = counted
    login = _client(url, dashboard_users, "hq")
    screens = [httpx.Client(base_url=url, timeout=30, cookies=login.cookies)
               for _ in range(100)]
    seen: dict[int, list[str]] = {n: [] for n in range(100)}
    stop = threading.Event()

    def poll(number: int) -> None:
        while not stop.is_set():
            seen[number].append(_version(screens[number], "/wall/version"))
            time.sleep(0.2)

    threads = [threading.Thread(target=poll, args=(n,), daemon=True) for n in range(100)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(3.0)
    first = {versions[-1] for versions in seen.values()}
    store_events(warehouse, day, [event("turnout", day.stations(QUIET_REGION)[5], at(20, 45),
                                        "obs-new", ballots_issued=55)])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(
            seen[n] and seen[n][-1] not in first for n in seen):
        time.sleep(0.1)
    stop.set()
    for thread in threads:
        thread.join(30)
    elapsed = time.monotonic() - started
    polls = sum(len(v) for v in seen.values())
    taken = _snapshots(queries)
    print(f"{polls} polls by 100 screens in {elapsed:.1f} s: {taken} snapshots")
    assert len(first) == 1  # every screen heard of the same snapshot
    assert {versions[-1] for versions in seen.values()} - first  # and then of the new one
    assert len({versions[-1] for versions in seen.values()}) == 1
    # One per interval of the cache (1 s) at most, whatever the number of screens.
    assert 2 <= taken <= elapsed / 1.0 + 2, (taken, elapsed)
    assert polls > 10 * taken
    for client in (*screens, login):
        client.close()
