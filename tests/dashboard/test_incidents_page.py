"""The incidents page in headless Chromium against a live site: filters give the
warehouse's incidents; "Verify" puts a `review` event on the real incidents topic and,
once the worker stored it, the incident shows verified.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from selenium import webdriver

from saylau.dashboard.incident_list import filter_incidents
from saylau.warehouse.client import open_warehouse
from saylau.warehouse.queries import incidents
from tests.dashboard.conftest import (
    LEAD_REGION,
    OTHER_REGION,
    DashboardUsers,
    LiveSite,
    log_in,
    messages_on_topic,
)
from tests.dashboard.test_region_page import click, rows, text_of

pytestmark = [pytest.mark.browser, pytest.mark.broker, pytest.mark.clickhouse_server,
              pytest.mark.timeout(420)]


def shown_ids(browser: webdriver.Chrome) -> set[str]:
    return set(browser.execute_script(
        "return Array.from(document.querySelectorAll('#incidents-table tbody tr'))"
        ".map(r => r.id.replace('incidents-row-', ''));"))


def wait_for_count(browser: webdriver.Chrome, count: int) -> None:
    deadline = time.monotonic() + 60
    while text_of(browser, "#incidents-matching") != str(count):
        assert time.monotonic() < deadline, f"never showed {count} incidents"
        time.sleep(0.3)


def test_incident_filters_show_the_warehouse_and_verify_sends_a_review(
        live_site: LiveSite, chrome: webdriver.Chrome, dashboard_users: DashboardUsers,
        artifacts: Path) -> None:
    warehouse = open_warehouse(live_site.warehouse_url)
    try:
        known = incidents(warehouse)
    finally:
        warehouse.close()
    assert set(known["incident_id"]) == set(live_site.incidents)
    log_in(chrome, live_site.url, "hq", dashboard_users.passwords["hq"])

    chrome.get(f"{live_site.url}incidents")
    wait_for_count(chrome, len(known))
    assert shown_ids(chrome) == set(known["incident_id"])
    # Filters in the address, the same as the dropdowns: the lead's region, severity 3.
    chrome.get(f"{live_site.url}incidents?region={LEAD_REGION}&severity=3&status=unverified")
    expected = filter_incidents(known, {LEAD_REGION}, [], [3], ["unverified"])
    assert len(expected) == 1
    wait_for_count(chrome, 1)
    assert shown_ids(chrome) == set(expected["incident_id"])
    chrome.get(f"{live_site.url}incidents?category=vote_buying")
    wait_for_count(chrome, 1)
    (other_incident,) = [i for i, s in live_site.incidents.items()
                         if s.startswith(OTHER_REGION)]
    assert shown_ids(chrome) == {other_incident}

    chrome.get(f"{live_site.url}incidents?region={LEAD_REGION}")
    wait_for_count(chrome, 2)
    chrome.save_screenshot(str(artifacts / "incidents.png"))
    # What the observer wrote, as they wrote it (the reviewer decides on it).
    described = {row[3]: row[7] for row in rows(chrome, "#incidents-table")}
    assert described == {c: f"Сообщение: {c}" for c in ("carousel_voting", "employer_pressure")}
    incident = str(expected["incident_id"].iloc[0])
    assert text_of(chrome, f"#incidents-row-{incident} button") == "Verify"
    click(chrome, f"#incidents-row-{incident} button")
    assert text_of(chrome, "#incidents-review-sent").startswith("Sent: verified")

    sent = [e for e in messages_on_topic(live_site, "incidents")
            if e["kind"] == "review" and e["incident_id"] == incident]
    assert len(sent) == 1
    assert sent[0]["verdict"] == "verified" and sent[0]["reviewer_id"] == "hq"
    assert sent[0]["station_id"] == live_site.incidents[incident]

    live_site.worker.wait_caught_up()
    deadline = time.monotonic() + 60
    while text_of(chrome, f"#incidents-row-{incident} td:nth-child(6)") != "verified":
        assert time.monotonic() < deadline, "the incident never showed verified"
        time.sleep(0.5)
    chrome.save_screenshot(str(artifacts / "incidents-verified.png"))


def test_a_regional_lead_sees_only_their_region_s_incidents(
        live_site: LiveSite, chrome: webdriver.Chrome, dashboard_users: DashboardUsers) -> None:
    log_in(chrome, live_site.url, "lead", dashboard_users.passwords["lead"])
    chrome.get(f"{live_site.url}incidents")
    wait_for_count(chrome, 2)
    regions = {row[2] for row in rows(chrome, "#incidents-table")}
    assert regions == {LEAD_REGION}
    chrome.get(f"{live_site.url}incidents?region={OTHER_REGION}")
    assert "another region" in chrome.page_source
