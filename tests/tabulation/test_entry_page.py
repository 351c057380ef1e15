"""The tabulation page in headless Chromium against a live site (the embedded broker, a real
`saylau worker`, clickhouse-server): observers' protocol photos go through the broker,
volunteers type them on the page, and the digitised copy comes back from the warehouse.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from saylau.core.election import Election
from saylau.kafka.broker import EmbeddedBroker
from saylau.warehouse.client import Warehouse
from saylau.warehouse.queries import latest_protocols
from saylau.warehouse.tabulation_queries import FIGURES
from tests.dashboard.conftest import log_in, start_chromium
from tests.support.clickhouse_server import ClickHouseServer
from tests.tabulation.entry_site import (
    LEAD_REGION,
    OTHER_REGION,
    EntrySite,
    entry_site,
    protocol_figures,
    store_photo,
)

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.clickhouse_server,
              pytest.mark.timeout(420)]

TEXT = "const e = document.querySelector(arguments[0]); return e ? e.textContent : null;"
SHOWN = """
const image = document.getElementById('tabulation-image');
const nothing = document.getElementById('tabulation-nothing');
if (image && image.getAttribute('src')) return image.getAttribute('src');
if (nothing && nothing.textContent) return 'nothing';
return null;"""
AGREED = """
SELECT photo_sha256, station_id, actor, entry_ids, entered_by, ballots_cast
FROM $db.tabulation FINAL WHERE fact = 'agreed' ORDER BY event_id"""


@pytest.fixture
def site(broker: EmbeddedBroker, topic_prefix: str, clickhouse_server: ClickHouseServer,
         tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EntrySite]:
    with entry_site(broker, topic_prefix, clickhouse_server, tmp_path, monkeypatch) as live:
        yield live


@pytest.fixture
def chrome(chromium_paths: tuple[str, str]) -> Iterator[webdriver.Chrome]:
    driver = start_chromium(chromium_paths)
    yield driver
    driver.quit()


def open_desk(chrome: webdriver.Chrome, site: EntrySite, username: str) -> None:
    """`username`'s tabulation page, in a fresh session."""
    chrome.delete_all_cookies()
    log_in(chrome, site.url, username, site.passwords[username])
    chrome.get(f"{site.url}/tabulation")


def shown_photo(chrome: webdriver.Chrome, timeout: float = 30) -> str | None:
    """The hash of the photo on the page, None if the page says none needs an entry."""
    shown = WebDriverWait(chrome, timeout).until(lambda d: d.execute_script(SHOWN))
    return None if shown == "nothing" else str(shown).rsplit("/", 1)[1]


def text_of(chrome: webdriver.Chrome, selector: str, timeout: float = 30) -> str:
    return str(WebDriverWait(chrome, timeout).until(
        lambda d: d.execute_script(TEXT, selector)))


def text_becomes(chrome: webdriver.Chrome, selector: str, expected: str,
                 timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while chrome.execute_script(TEXT, selector) != expected:
        assert time.monotonic() < deadline, (
            f"{selector} showed {chrome.execute_script(TEXT, selector)!r}, not {expected!r}")
        time.sleep(0.3)


def typed_values(cast: int) -> list[int]:
    """The form's inputs in page order: the protocol's figures, then each ballot option."""
    fields, votes = protocol_figures(cast)
    return [fields[name] for name in FIGURES] + [votes[option] for option in Election().options]


def type_figures(chrome: webdriver.Chrome, cast: int) -> None:
    inputs = chrome.find_elements(By.CSS_SELECTOR, ".tabulation-form input")
    values = typed_values(cast)
    assert len(inputs) == len(values)
    for field, value in zip(inputs, values, strict=True):
        field.clear()
        field.send_keys(str(value))


def submit(chrome: webdriver.Chrome, cast: int) -> str:
    """Type the figures of `cast` and submit; the page's answer's id and text."""
    before = chrome.execute_script(
        "const e = document.querySelector('#tabulation-result span');"
        "return e ? e.outerHTML : null;")
    type_figures(chrome, cast)
    chrome.find_element(By.ID, "tabulation-submit").click()
    answer = WebDriverWait(chrome, 30).until(lambda d: d.execute_script(
        "const e = document.querySelector('#tabulation-result span');"
        "return e && e.outerHTML !== arguments[0] ? [e.id, e.textContent] : null;", before))
    return f"{answer[0]}: {answer[1]}"


def forge_shown_photo(chrome: webdriver.Chrome, sha256: str) -> None:
    """Make the page's store say another photo is on screen, as a hand-made request would."""
    chrome.execute_script(
        "window.dash_clientside.set_props('tabulation-photo', {data: arguments[0]});", sha256)


def entries_on_kafka(site: EntrySite, sha256: str) -> list[dict]:
    return [m for m in site.messages("tabulation")
            if m["kind"] == "protocol_entry" and m["photo_sha256"] == sha256]


def agreed_rows(site: EntrySite) -> list[dict]:
    return site.query(lambda wh: wh.query_df(AGREED).to_dict("records"))


def wait_for_copy(site: EntrySite, sha256: str) -> dict:
    site.wait_for(lambda wh: sha256 in set(wh.query_df(AGREED)["photo_sha256"]),
                  "the digitised copy never reached the warehouse")
    (row,) = [r for r in agreed_rows(site) if r["photo_sha256"] == sha256]
    return row


def observer_copy(site: EntrySite, station_id: str) -> dict:
    def read(wh: Warehouse) -> dict:
        protocols = latest_protocols(wh, None, [station_id])
        return protocols[protocols["source"] == "observer_copy"].iloc[0].to_dict()
    return site.query(read)


def test_two_volunteers_who_agree_make_the_station_s_digitised_copy(
        site: EntrySite, chrome: webdriver.Chrome, artifacts: Path) -> None:
    station = site.station(LEAD_REGION)
    sha = site.send_photo(station, observer_id="obs-7")

    open_desk(chrome, site, "tab1")
    assert shown_photo(chrome) == sha
    assert text_of(chrome, "#tabulation-station-id") == station
    WebDriverWait(chrome, 30).until(lambda d: d.execute_script(
        "return document.getElementById('tabulation-image').naturalWidth") == 320)
    # Zoom and turn: a transform on the image in the browser, the photo unchanged.
    for tool in ("zoom-in", "zoom-in", "rotate-right"):
        chrome.find_element(By.ID, f"tabulation-tool-{tool}").click()
    assert chrome.execute_script("return document.getElementById('tabulation-image')"
                                 ".style.transform") == "scale(1.5625) rotate(90deg)"
    chrome.save_screenshot(str(artifacts / "tabulation-entry.png"))
    assert submit(chrome, 1200).startswith("tabulation-sent: Entry sent.")
    assert shown_photo(chrome) is None  # the only photo, and tab1 entered it

    open_desk(chrome, site, "tab2")
    assert shown_photo(chrome) == sha
    assert chrome.execute_script("return document.getElementById('tabulation-image')"
                                 ".style.transform") == ""  # a new page: upright again
    assert "the station's copy is made" in submit(chrome, 1200)

    entries = entries_on_kafka(site, sha)
    assert sorted(e["observer_id"] for e in entries) == ["tab1", "tab2"]
    assert {e["station_id"] for e in entries} == {station}
    copy = wait_for_copy(site, sha)
    assert (copy["station_id"], copy["actor"]) == (station, "obs-7")  # the photo's sender
    assert list(copy["entered_by"]) == ["tab1", "tab2"]
    assert sorted(copy["entry_ids"]) == sorted(e["event_id"] for e in entries)
    stored = observer_copy(site, station)
    fields, votes = protocol_figures(1200)
    assert {name: stored[name] for name in FIGURES} == fields
    assert stored["votes"] == votes
    text_becomes(chrome, "#tabulation-progress-KAZ011-agreed", "1")
    text_becomes(chrome, "#tabulation-progress-KAZ011-photos", "1")
    chrome.save_screenshot(str(artifacts / "tabulation-agreed.png"))


def test_a_conflict_shows_and_a_third_volunteer_resolves_it(
        site: EntrySite, chrome: webdriver.Chrome, artifacts: Path) -> None:
    station = site.station(LEAD_REGION, 3)
    sha = site.send_photo(station)
    open_desk(chrome, site, "tab1")
    assert shown_photo(chrome) == sha
    submit(chrome, 900)
    open_desk(chrome, site, "tab2")
    assert shown_photo(chrome) == sha
    assert "The entries differ" in submit(chrome, 901)
    site.wait_for(lambda wh: len(wh.query_df(
        "SELECT event_id FROM $db.tabulation WHERE fact = 'entry'")) == 2,
        "the two entries were never stored")
    text_becomes(chrome, "#tabulation-progress-KAZ011-conflict", "1")
    text_becomes(chrome, "#tabulation-progress-KAZ011-agreed", "0")
    assert agreed_rows(site) == []
    open_desk(chrome, site, "hq")  # the status page has the same figures
    chrome.get(f"{site.url}/status")
    text_becomes(chrome, "#status-progress-KAZ011-conflict", "1")
    text_becomes(chrome, "#status-progress-all-photos", "1")
    chrome.save_screenshot(str(artifacts / "tabulation-status.png"))

    open_desk(chrome, site, "tab3")
    assert shown_photo(chrome) == sha  # a conflict needs a third volunteer
    assert "the station's copy is made" in submit(chrome, 901)
    copy = wait_for_copy(site, sha)
    assert list(copy["entered_by"]) == ["tab2", "tab3"]  # the two that agree
    assert copy["ballots_cast"] == 901
    assert observer_copy(site, station)["ballots_cast"] == 901
    text_becomes(chrome, "#tabulation-progress-KAZ011-conflict", "0")
    text_becomes(chrome, "#tabulation-progress-KAZ011-agreed", "1")


def test_a_volunteer_never_gets_a_photo_twice_nor_enters_it_twice(
        site: EntrySite, chrome: webdriver.Chrome) -> None:
    first = site.send_photo(site.station(LEAD_REGION, 1))
    second = site.send_photo(site.station(LEAD_REGION, 2))
    open_desk(chrome, site, "tab1")
    assert shown_photo(chrome) == first  # the older one
    submit(chrome, 700)
    # At once, before the worker has stored the entry: the next photo, not the same.
    assert shown_photo(chrome) == second
    chrome.get(f"{site.url}/tabulation")
    assert shown_photo(chrome) == second
    # A hand-made repeat for the photo already entered: refused on the server.
    forge_shown_photo(chrome, first)
    assert submit(chrome, 702).startswith("tabulation-refused: You have entered this photo")
    site.wait_for(lambda wh: len(wh.query_df(
        "SELECT event_id FROM $db.tabulation WHERE fact = 'entry'")) >= 1,
        "the entry was never stored")
    site.worker.wait_caught_up()
    assert [e["observer_id"] for e in entries_on_kafka(site, first)] == ["tab1"]
    # Long after, from the warehouse alone (a new page): still not the same photo.
    chrome.get(f"{site.url}/tabulation")
    assert shown_photo(chrome) == second
    submit(chrome, 700)
    assert shown_photo(chrome) is None
    assert [e["observer_id"] for e in entries_on_kafka(site, second)] == ["tab1"]


def test_a_region_limited_volunteer_never_sees_another_region_s_photo(
        site: EntrySite, chrome: webdriver.Chrome) -> None:
    other = site.send_photo(site.station(OTHER_REGION))  # older: first in line for others
    own = site.send_photo(site.station(LEAD_REGION))
    not_protocol = store_photo(site.media_dir, seed=99).sha256  # in the store, never sent
    with closing(site.client("tab-own")) as limited:
        assert limited.get(f"/tabulation_photo/{other}").status_code == 403
        answer = limited.get(f"/tabulation_photo/{own}")
        assert answer.status_code == 200 and answer.content[:2] == b"\xff\xd8"
        assert limited.get(f"/tabulation_photo/{not_protocol}").status_code == 404
        assert limited.get("/evidence/" + own).status_code == 403  # not the legal team's
    with closing(site.client("hq")) as headquarters:
        assert headquarters.get(f"/tabulation_photo/{other}").status_code == 200

    open_desk(chrome, site, "tab-own")
    assert shown_photo(chrome) == own
    text_of(chrome, "#tabulation-progress-KAZ011")
    assert chrome.execute_script(TEXT, "#tabulation-progress-KAZ001") is None
    forge_shown_photo(chrome, other)  # a hand-made entry of the other region's photo
    type_figures(chrome, 650)
    chrome.find_element(By.ID, "tabulation-submit").click()
    time.sleep(2)  # the server answers 403: nothing on the page changes
    forge_shown_photo(chrome, own)
    submit(chrome, 650)
    assert shown_photo(chrome) is None  # the other region's photo is never given
    assert entries_on_kafka(site, other) == []
    assert [e["observer_id"] for e in entries_on_kafka(site, own)] == ["tab-own"]

    # A volunteer for every region: the started photo first, then the other region's.
    open_desk(chrome, site, "tab1")
    assert shown_photo(chrome) == own
    submit(chrome, 650)
    assert shown_photo(chrome) == other
