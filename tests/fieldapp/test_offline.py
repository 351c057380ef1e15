"""With no network the phone keeps every report; they all arrive, once each, when it returns,
even if the gateway restarts while the outbox is sending."""

from __future__ import annotations

import time

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.fieldapp.conftest import (
    FieldSite,
    open_app,
    outbox,
    set_offline,
    wait_outbox,
    wait_ready,
    wait_service_worker,
)

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]
REPORTS = 20


def make_turnout_reports(driver: webdriver.Chrome, count: int) -> None:
    driver.find_element(By.CSS_SELECTOR, 'nav a[href="#turnout"]').click()
    for number in range(count):
        field = driver.find_element(By.ID, "turnout-count")
        field.clear()
        field.send_keys(str(100 + number * 5))
        driver.find_element(By.ID, "turnout-send").click()
        WebDriverWait(driver, 10).until(
            lambda d, n=number: d.find_element(By.ID, "turnout-previous").text
            == str(100 + n * 5))


def offline_with_reports(site: FieldSite, driver: webdriver.Chrome) -> set[str]:
    """Sign in online (the shell gets cached), go offline, make the reports, reload."""
    open_app(driver, site.sign_in_link())
    wait_service_worker(driver)
    set_offline(driver, True)
    make_turnout_reports(driver, REPORTS)
    driver.refresh()
    wait_ready(driver)
    items = outbox(driver)
    assert len(items) == REPORTS and {item["status"] for item in items} == {"saved"}
    driver.find_element(By.CSS_SELECTOR, 'nav a[href="#outbox"]').click()
    WebDriverWait(driver, 10).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#outbox-list li.saved")) == REPORTS)
    assert "(20)" in driver.find_element(By.ID, "pending-count").text
    time.sleep(2)  # a retry round passes: still nothing reaches the gateway
    assert site.gateway.health()["journal_next_offset"] == 0
    return {item["event_id"] for item in items}


def assert_once_each(site: FieldSite, event_ids: set[str]) -> None:
    frame = site.wait_stored(event_ids)
    assert sorted(frame["event_id"]) == sorted(event_ids)  # each once, nothing else
    assert sorted(frame["kind"]) == ["turnout"] * REPORTS


def test_reports_made_offline_survive_a_reload_and_arrive_once(
        field_site: FieldSite, phone: webdriver.Chrome) -> None:
    event_ids = offline_with_reports(field_site, phone)
    set_offline(phone, False)
    wait_outbox(phone, REPORTS)
    assert_once_each(field_site, event_ids)


def test_a_gateway_restart_while_sending_loses_and_doubles_nothing(
        field_site: FieldSite, phone: webdriver.Chrome) -> None:
    site = field_site
    event_ids = offline_with_reports(site, phone)
    set_offline(phone, False, latency_ms=400)  # a slow link: the outbox takes seconds
    WebDriverWait(phone, 30).until(
        lambda d: any(item["status"] == "delivered" for item in outbox(d)))
    site.gateway.kill()  # mid-send: some delivered, the rest in flight or waiting
    delivered_before = sum(item["status"] == "delivered" for item in outbox(phone))
    time.sleep(3)
    site.gateway.start()
    wait_outbox(phone, REPORTS)
    assert_once_each(site, event_ids)
    assert delivered_before < REPORTS  # the restart did fall in the middle of sending
