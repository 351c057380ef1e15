"""The comparison page in headless Chromium on a live site (real broker, `saylau worker`
child, clickhouse-server, the dashboard): the numbers read from the page equal a direct
SQL query of the warehouse, to the vote; only released photos appear, and the photo route
serves exactly those; headquarters release and withdraw through the page; a later
official publication replaces an earlier one; no observer id or volunteer name shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from saylau.core.contract import KIND_TOPIC
from saylau.core.election import Election
from saylau.ingest.media import MediaStore
from saylau.kafka.producer import EventProducer
from saylau.warehouse.client import Warehouse, open_warehouse
from tests.dashboard.conftest import (  # noqa: F401  (fixtures used by name)
    DashboardUsers,
    LiveSite,
    chrome,
    dashboard_env,
    dashboard_users,
    live_site,
    log_in,
)
from tests.fieldapp.photos import jpeg_with_gps
from tests.tabulation.comparison_day import VOLUNTEERS, TabulatedDay

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]

OPTIONS = tuple(Election().options)
PAGE = "comparison"


# --- The warehouse, asked directly (not through the code under test) ----------------------

def expected_stations(warehouse: Warehouse) -> dict[str, dict[str, object]]:
    """Per station with an official protocol: the latest official figures (the protocols
    table), the latest verified copy and its photo if its latest release released it."""
    official = warehouse.query_df(
        "SELECT station_id, argMax(options, occurred_at) AS o, argMax(votes, occurred_at) AS v "
        "FROM $db.protocols WHERE source = 'official' GROUP BY station_id")
    agreed = warehouse.query_df(
        "SELECT station_id, argMax(options, occurred_at) AS o, argMax(votes, occurred_at) AS v, "
        "argMax(photo_sha256, occurred_at) AS photo FROM $db.tabulation "
        "WHERE fact = 'agreed' GROUP BY station_id")
    released = released_photos(warehouse)
    copies = {row.station_id: (dict(zip(row.o, row.v, strict=True)), row.photo)
              for row in agreed.itertuples()}
    expected = {}
    for row in official.itertuples():
        figures = dict(zip(row.o, row.v, strict=True))
        entry: dict[str, object] = {f"official_{o}": int(figures.get(o, 0)) for o in OPTIONS}
        copy, photo = copies.get(row.station_id, (None, ""))
        for option in OPTIONS:
            verified = None if copy is None else int(copy.get(option, 0))
            entry[f"verified_{option}"] = verified
            entry[f"difference_{option}"] = (None if verified is None
                                             else int(figures.get(option, 0)) - verified)
        entry["votes_moved"] = None if copy is None else sum(
            max(0, int(figures.get(o, 0)) - int(copy.get(o, 0))) for o in OPTIONS)
        entry["photo"] = photo if photo in released else ""
        expected[row.station_id] = entry
    return expected


def released_photos(warehouse: Warehouse) -> set[str]:
    frame = warehouse.query_df(
        "SELECT photo_sha256, argMax(released, occurred_at) AS r FROM $db.tabulation "
        "WHERE fact = 'release' GROUP BY photo_sha256")
    return {row.photo_sha256 for row in frame.itertuples() if row.r == 1}


# --- The page, read as a person sees it -------------------------------------------------

def read_stations(driver: webdriver.Chrome, count: int) -> dict[str, dict[str, object]]:
    """Every row of the station table (one page): column id -> the number or text shown;
    the photo as the hash its link points at."""
    WebDriverWait(driver, 60).until(lambda d: len(d.find_elements(
        By.CSS_SELECTOR, f"#{PAGE}-stations td[data-dash-column='station_id']")) == count)
    rows: dict[int, dict[str, object]] = {}
    for cell in driver.find_elements(By.CSS_SELECTOR, f"#{PAGE}-stations td[data-dash-column]"):
        row = rows.setdefault(int(cell.get_attribute("data-dash-row")), {})
        column = cell.get_attribute("data-dash-column")
        if column == "photo":
            links = cell.find_elements(By.TAG_NAME, "a")
            row[column] = links[0].get_attribute("href").rsplit("/", 1)[1] if links else ""
        else:
            text = cell.text.strip()
            row[column] = int(text.replace("−", "-")) if _is_number(text) else (text or None)
    return {str(row["station_id"]): row for row in rows.values()}


def _is_number(text: str) -> bool:
    return text.replace("−", "-").lstrip("-").isdigit()


def shown_numbers(row: dict[str, object]) -> dict[str, object]:
    columns = [f"{side}_{o}" for o in OPTIONS for side in ("official", "verified",
                                                         "difference")]
    return {column: row.get(column) for column in [*columns, "votes_moved", "photo"]}


def read_regions(driver: webdriver.Chrome) -> dict[str, dict[str, int]]:
    found = {}
    for row in driver.find_elements(By.CSS_SELECTOR, f"#{PAGE}-regions tr.{PAGE}-region"):
        code = row.get_attribute("id").removeprefix(f"{PAGE}-region-")
        found[code] = {column: int(row.find_element(By.CSS_SELECTOR, f"td.{column}").text)
                       for column in ("stations_official", "stations_compared",
                                      "stations_matching", "votes_moved")}
    return found


def expected_regions(site: LiveSite, expected: dict[str, dict[str, object]]
                     ) -> dict[str, dict[str, int]]:
    region_of = dict(zip(site.registry["station_id"], site.registry["region_code"],
                         strict=True))
    regions: dict[str, dict[str, int]] = {}
    for station, entry in expected.items():
        region = regions.setdefault(region_of[station], {
            "stations_official": 0, "stations_compared": 0, "stations_matching": 0,
            "votes_moved": 0})
        region["stations_official"] += 1
        if entry["votes_moved"] is not None:
            region["stations_compared"] += 1
            region["votes_moved"] += int(entry["votes_moved"])  # type: ignore[call-overload]
            region["stations_matching"] += all(entry[f"difference_{o}"] == 0 for o in OPTIONS)
    return regions


# --- Helpers ------------------------------------------------------------------------------

def send_day(site: LiveSite, events: list[dict]) -> None:
    with EventProducer(site.bootstrap, site.prefix) as producer:
        for event in events:
            producer.send_raw(f"{site.prefix}.{KIND_TOPIC[event['kind']]}",
                              event["station_id"], TabulatedDay.encode(event)).get(timeout=30)
    site.worker.wait_caught_up()


def wait_for(condition: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def logged_in_client(site: LiveSite, users: DashboardUsers, name: str) -> httpx.Client:
    client = httpx.Client(base_url=site.url, timeout=30)
    answer = client.post("/auth/login", data={"username": name,
                                              "password": users.passwords[name]})
    assert answer.status_code == 302 and "session" in client.cookies
    return client


def store_photos(site: LiveSite, folder: Path) -> dict[str, bytes]:
    """A real JPEG per station, in the dashboard's media store: station -> stored bytes."""
    store = MediaStore(folder / "media", frozenset({"image/jpeg"}), 10_000_000)
    photos = {}
    for number, station in enumerate(sorted(site.registry["station_id"])):
        stored = store.put(jpeg_with_gps(number), "image/jpeg")
        photos[station] = stored.sha256
    return photos


# --- The test -----------------------------------------------------------------------------

def test_the_comparison_page_agrees_with_the_warehouse_and_publishes_only_released_photos(
        live_site: LiveSite, chrome: webdriver.Chrome,  # noqa: F811
        dashboard_users: DashboardUsers,  # noqa: F811
        tmp_path: Path) -> None:
    hashes = store_photos(live_site, tmp_path)
    day = TabulatedDay(live_site.registry, live_site.day_start,
                       photo_for=lambda station: hashes[station])
    send_day(live_site, day.events)
    warehouse = open_warehouse(live_site.warehouse_url)
    try:
        expected = expected_stations(warehouse)
        assert set(expected) == set(day.stations())
        # The day is not trivial: matches, differences, missing copies, both photo states.
        moved = [e["votes_moved"] for e in expected.values() if e["votes_moved"] is not None]
        assert 0 in moved and any(m for m in moved) and len(moved) < len(expected)
        assert day.released and day.withdrawn

        # The media see every station's figures as the warehouse holds them.
        log_in(chrome, live_site.url, "press", dashboard_users.passwords["press"])
        chrome.get(live_site.url + PAGE)
        shown = read_stations(chrome, len(expected))
        assert {s: shown_numbers(r) for s, r in shown.items()} == expected
        assert read_regions(chrome) == expected_regions(live_site, expected)
        chrome.save_screenshot(str(Path("test-artifacts") / "comparison-page.png"))

        # The superseded station shows its later publication's figures.
        later = [e for e in day.events if e["station_id"] == day.superseded
                 and e.get("source") == "official"][-1]["votes"]
        earlier = [e for e in day.events if e["station_id"] == day.superseded
                   and e.get("source") == "official"][0]["votes"]
        assert later != earlier
        assert {o: shown[day.superseded][f"official_{o}"] for o in OPTIONS} == \
            {o: later.get(o, 0) for o in OPTIONS}

        # Only released photos: on the page, in its source, and through the route.
        source = chrome.page_source
        unreleased = {day.photo_of(s) for s in expected} - day.released - {""}
        assert unreleased and day.withdrawn <= unreleased
        assert not any(photo in source for photo in unreleased)
        assert not any(name in source for name in [*VOLUNTEERS, *day.observer_ids()]
                       if name not in ("hq",))
        press = logged_in_client(live_site, dashboard_users, "press")
        store = MediaStore(tmp_path / "media", frozenset(), 0)
        for photo in day.released:
            answer = press.get(f"/photos/{photo}")
            assert answer.status_code == 200
            assert answer.content == store.find(photo).read_bytes()  # type: ignore[union-attr]
        for photo in unreleased:
            assert press.get(f"/photos/{photo}").status_code == 404
        assert press.get("/photos/" + "0" * 64).status_code == 404
        assert press.get("/photos/not-a-hash").status_code == 404
        lead = logged_in_client(live_site, dashboard_users, "lead")
        assert lead.get(f"/photos/{next(iter(day.released))}").status_code == 403
        assert httpx.get(f"{live_site.url}photos/{next(iter(day.released))}",
                         timeout=30).status_code == 302  # to the login

        # The media cannot use the release control's callbacks.
        assert not chrome.find_elements(By.ID, f"{PAGE}-release")
        check_media_cannot_release(press)

        # Headquarters release an unreleased photo through the page, then withdraw it.
        station = next(s for s in sorted(expected) if day.photo_of(s) in unreleased)
        photo = day.photo_of(station)
        chrome.delete_all_cookies()
        log_in(chrome, live_site.url, "hq", dashboard_users.passwords["hq"])
        chrome.get(live_site.url + PAGE)
        release_through_page(chrome, len(expected), station, photo, "release")
        wait_for(lambda: photo in released_photos(warehouse))
        assert press.get(f"/photos/{photo}").status_code == 200
        chrome.get(live_site.url + PAGE)
        assert read_stations(chrome, len(expected))[station]["photo"] == photo
        assert expected_stations(warehouse)[station]["photo"] == photo
        release_through_page(chrome, len(expected), station, photo, "withdraw")
        wait_for(lambda: photo not in released_photos(warehouse))
        assert press.get(f"/photos/{photo}").status_code == 404

        # A new publication supersedes what the page showed, once the worker stored it.
        newer = dict(later)
        newer[OPTIONS[0]] = newer.get(OPTIONS[0], 0) + 11
        extra = TabulatedDay(live_site.registry, live_site.day_start, seed=9)
        event = extra.official(day.superseded, newer, minutes=60, publication="cec-3")
        send_day(live_site, [event])
        chrome.get(live_site.url + PAGE)
        again = read_stations(chrome, len(expected))
        assert again[day.superseded][f"official_{OPTIONS[0]}"] == newer[OPTIONS[0]]
        assert {s: shown_numbers(r) for s, r in again.items()} == expected_stations(warehouse)
    finally:
        warehouse.close()


def release_through_page(driver: webdriver.Chrome, count: int, station: str, photo: str,
                         button: str) -> None:
    rows = read_stations(driver, count)
    row = sorted(rows).index(station)
    driver.find_element(By.CSS_SELECTOR, f"#{PAGE}-stations td[data-dash-row='{row}']"
                                         "[data-dash-column='station_name']").click()
    WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.ID, f"{PAGE}-release-hash"))
    assert driver.find_element(By.ID, f"{PAGE}-release-hash").text == photo
    # headquarters see the photo itself to decide, from the tabulation route (not /photos)
    image = driver.find_element(By.ID, f"{PAGE}-release-image").get_attribute("src")
    assert image.endswith(f"/tabulation_photo/{photo}"), image
    driver.find_element(By.ID, f"{PAGE}-{button}").click()
    WebDriverWait(driver, 30).until(lambda d: "Sent" in d.find_element(
        By.ID, f"{PAGE}-release-result").text)


def check_media_cannot_release(press: httpx.Client) -> None:
    """The release callbacks, sent as registered, answer the media 403."""
    spec = {d["output"]: d for d in press.get("/_dash-dependencies").json()}
    for output in (f"..{PAGE}-release-station.data...{PAGE}-release-photo.children..",
                   f"..{PAGE}-release-result.children...{PAGE}-released.data.."):
        registered = spec[output]
        body = {"output": output,
                "outputs": [{"id": o.split(".")[0], "property": o.split(".")[1]}
                            for o in output.strip(".").split("...")],
                "inputs": [{**i, "value": 1} for i in registered["inputs"]],
                "state": [{**s, "value": {"station": "x", "photo": "0" * 64}}
                          for s in registered["state"]],
                "changedPropIds": [f"{registered['inputs'][0]['id']}."
                                   f"{registered['inputs'][0]['property']}"]}
        answer = press.post("/_dash-update-component", json=body)
        assert answer.status_code == 403, (output, answer.status_code, answer.text[:200])
