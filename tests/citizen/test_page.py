"""The public report page on a phone: a report with a GPS-tagged photo and a contact, filed
in Kazakh, reaches the moderation queue; the lawyer's key alone opens the contact."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.citizen.conftest import CitizenSite
from tests.fieldapp.conftest import start_phone, wait_ready
from tests.fieldapp.photos import has_metadata, jpeg_with_gps

pytestmark = pytest.mark.broker


@pytest.fixture
def phone(chromium_paths: tuple[str, str]) -> Iterator[webdriver.Chrome]:
    driver = start_phone(chromium_paths)
    yield driver
    driver.quit()


def test_a_phone_files_a_report_that_reaches_the_moderation_queue(
        citizen_site: CitizenSite, phone: webdriver.Chrome, tmp_path: Path) -> None:
    site = citizen_site
    photo = tmp_path / "pressure.jpg"
    photo.write_bytes(jpeg_with_gps(seed=11))
    phone.get(f"{site.gateway.url}/report/?lang=kk")
    wait_ready(phone)
    assert phone.find_element(By.CSS_SELECTOR, "button[type=submit]").text == \
        "Хабарлама жіберу"
    assert phone.execute_script("return document.cookie") == ""
    form = phone.find_element(By.ID, "report")
    Select(form.find_element(By.NAME, "category")).select_by_value("admin_resource")
    Select(form.find_element(By.NAME, "sector")).select_by_value("state_body")
    Select(form.find_element(By.NAME, "region_code")).select_by_value(site.region)
    form.find_element(By.NAME, "organisation").send_keys("Akimat of the district")
    form.find_element(By.NAME, "description").send_keys(
        "Staff were told to bring ten voters each for the ruling party.")
    form.find_element(By.NAME, "evidence").send_keys(str(photo))
    contact = "whatsapp +7 777 123 45 67"
    form.find_element(By.NAME, "contact").send_keys(contact)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    status = WebDriverWait(phone, 60).until(
        lambda d: d.find_element(By.ID, "status").text if "Рақмет" in d.find_element(
            By.ID, "status").text else None)
    case_id = status.rsplit(" ", 1)[1]
    site.wait_cases({case_id: ("pending", "new")})
    queue = site.cases().set_index("event_id")
    assert (queue.at[case_id, "category"], queue.at[case_id, "sector"]) == (
        "admin_resource", "state_body")
    media = sorted((site.data_dir / "media").rglob("*.jpg"))
    assert len(media) == 1 and not has_metadata(media[0].read_bytes())
    deadline = time.monotonic() + 30
    opened = site.saylau("cases", "contact", case_id, "--key", str(site.private_key))
    while opened.returncode != 0 and time.monotonic() < deadline:
        time.sleep(1)
        opened = site.saylau("cases", "contact", case_id, "--key", str(site.private_key))
    assert opened.stdout.strip() == contact, opened.stderr
