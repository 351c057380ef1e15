"""An observer's day on a phone: sign in from a link, check in, count turnout, report an
incident with a photo, tally an exit-poll window, copy the protocol with its photo. Each
report reaches the warehouse exactly as entered; the photo is stored once, without EXIF.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from saylau.core.election import KAZAKHSTAN_PARTIES
from tests.fieldapp.conftest import (
    FieldSite,
    open_app,
    set_position,
    wait_outbox,
)
from tests.fieldapp.photos import has_metadata, jpeg_with_gps

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]


def go(driver: webdriver.Chrome, screen: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'nav a[href="#{screen}"]').click()
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.ID, f"screen-{screen}").is_displayed())


def click(driver: webdriver.Chrome, element_id: str) -> None:
    driver.find_element(By.ID, element_id).click()


def type_into(driver: webdriver.Chrome, element_id: str, text: str) -> None:
    field = driver.find_element(By.ID, element_id)
    field.clear()
    field.send_keys(text)


def wait_text(driver: webdriver.Chrome, element_id: str, part: str) -> None:
    WebDriverWait(driver, 30).until(lambda d: part in d.find_element(By.ID, element_id).text)


def payloads(site: FieldSite, event_ids: set[str]) -> dict[str, dict]:
    frame = site.wait_stored(event_ids)
    frame = frame[frame["event_id"].isin(event_ids)]
    assert len(frame) == len(event_ids)  # once each
    return {row.event_id: json.loads(row.payload) for row in frame.itertuples()}


def test_an_observers_reports_arrive_as_entered(field_site: FieldSite, phone: webdriver.Chrome,
                                                tmp_path: Path, artifacts: Path) -> None:
    site, driver = field_site, phone
    open_app(driver, site.sign_in_link())
    assert "token" not in driver.current_url
    assert site.token not in json.dumps(driver.execute_script(
        "return [location.href, history.state, document.referrer]"))
    station = site.station
    wait_text(driver, "station-info", str(station["station_id"]))
    shots = artifacts / "fieldapp"
    shots.mkdir(exist_ok=True)

    # Check in 2 km north of the station: a warning, and a reason to send it anyway.
    go(driver, "checkin")
    far_lat = float(station["lat"]) + 0.018
    set_position(driver, site.gateway.url, far_lat, float(station["lon"]))
    click(driver, "gps-fix")
    wait_text(driver, "gps-result", "m")
    assert driver.find_element(By.ID, "geofence-warning").is_displayed()
    type_into(driver, "checkin-note", "GPS drifts inside the school")
    driver.save_screenshot(str(shots / "flow-checkin-far.png"))
    click(driver, "checkin-send")

    # Turnout 150, then 120: the lower count asks first.
    go(driver, "turnout")
    type_into(driver, "turnout-count", "150")
    click(driver, "turnout-send")
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.ID, "turnout-previous").text == "150")
    type_into(driver, "turnout-count", "120")
    click(driver, "turnout-send")
    assert driver.find_element(By.ID, "turnout-lower").is_displayed()
    click(driver, "turnout-confirm")

    # An incident with a photo that carries GPS tags and the phone model.
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg_with_gps(seed=9))
    go(driver, "incident")
    Select(driver.find_element(By.ID, "incident-category")).select_by_value("carousel_voting")
    driver.find_element(By.CSS_SELECTOR, "input[name=severity][value='2']").click()
    type_into(driver, "incident-description", "Бір топ адам екінші рет дауыс берді")
    driver.find_element(By.ID, "incident-media").send_keys(str(photo))
    click(driver, "incident-send")

    # An exit-poll window: 31 taps, one undone = 30 respondents.
    go(driver, "exitpoll")
    taps = ["amanat"] * 12 + ["respublica"] * 7 + ["against_all"] * 5 + ["refused"] * 4 + \
        ["undecided"] * 2 + ["ak_zhol"]
    for code in taps:
        click(driver, f"exitpoll-{code}")
    click(driver, "exitpoll-undo")  # the last tap (ak_zhol) was a mistake
    assert driver.find_element(By.ID, "exitpoll-window-count").text == "30"
    click(driver, "exitpoll-send")
    WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.ID, "exitpoll-total").text == "30")

    # The protocol copy, its checks shown, and the same photo (stored once).
    go(driver, "protocol")
    numbers = {"registered": 1500, "ballots_received": 1500, "ballots_issued": 900,
               "ballots_cast": 890, "invalid": 10}
    votes = {code: 0 for code in KAZAKHSTAN_PARTIES} | {"amanat": 500, "respublica": 300,
                                                        "against_all": 80}
    for field, value in numbers.items():
        type_into(driver, f"protocol-{field}", str(value))
    for code, value in votes.items():
        type_into(driver, f"vote-{code}", str(value))
    checks = driver.find_element(By.ID, "protocol-checks").text
    assert "✗" not in checks, checks
    driver.find_element(By.ID, "protocol-photo").send_keys(str(photo))
    click(driver, "protocol-send")

    items = wait_outbox(driver, 6)
    go(driver, "outbox")
    driver.save_screenshot(str(shots / "flow-outbox-delivered.png"))
    by_kind: dict[str, list[dict]] = {}
    for item in items:
        by_kind.setdefault(item["kind"], []).append(item)
    stored = payloads(site, {item["event_id"] for item in items})

    checkin = stored[by_kind["checkin"][0]["event_id"]]
    assert checkin["location"]["lat"] == pytest.approx(far_lat)
    assert checkin["note"] == "GPS drifts inside the school"
    turnouts = sorted(stored[i["event_id"]]["ballots_issued"] for i in by_kind["turnout"])
    assert turnouts == [120, 150]
    incident = stored[by_kind["incident"][0]["event_id"]]
    assert (incident["category"], incident["severity"]) == ("carousel_voting", 2)
    assert incident["description"] == "Бір топ адам екінші рет дауыс берді"
    exitpoll = stored[by_kind["exitpoll"][0]["event_id"]]
    assert exitpoll["interviews"] == 30
    assert exitpoll["choices"] == {"amanat": 12, "respublica": 7, "against_all": 5,
                                   "refused": 4, "undecided": 2}
    protocol = stored[by_kind["protocol"][0]["event_id"]]
    assert {field: protocol[field] for field in numbers} == numbers
    assert protocol["votes"] == votes and protocol["source"] == "observer_copy"
    for report in stored.values():
        assert report["station_id"] == station["station_id"]
        assert report["observer_id"] == "obs-f1"

    # One photo, stored once, referred to by both reports, with no metadata left.
    files = [path for path in (site.data_dir / "media").rglob("*") if path.is_file()]
    assert len(files) == 1
    sha = files[0].name.split(".")[0]
    assert incident["media"] == protocol["media"] == [{"sha256": sha, "mime": "image/jpeg"}]
    assert not has_metadata(files[0].read_bytes())
