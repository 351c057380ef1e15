"""Every screen in Kazakh, Russian and English, saved as a screenshot (test-artifacts/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from saylau.ingest.gateway.fieldapp import messages
from tests.fieldapp.conftest import PHONE, PHONE_FLAGS, FieldSite, open_app

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]
SCREENS = {"station": "My station", "checkin": "Check in", "turnout": "Turnout",
           "incident": "Incident", "exitpoll": "Exit poll", "protocol": "Protocol copy",
           "outbox": "Outbox"}


def heading(driver: webdriver.Chrome, screen: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f"#screen-{screen} h1").text)


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_every_screen_in_each_language(field_site: FieldSite, phone: webdriver.Chrome,
                                       artifacts: Path, language: str) -> None:
    shots = artifacts / "fieldapp"
    shots.mkdir(exist_ok=True)
    texts = messages(language)
    open_app(phone, field_site.sign_in_link())
    Select(phone.find_element(By.ID, "lang")).select_by_value(language)
    WebDriverWait(phone, 10).until(lambda d: d.find_element(By.ID, "title").text
                                   == texts["Saylau observer"])
    for screen, title in SCREENS.items():
        phone.execute_script(f"location.hash = '#{screen}'")
        WebDriverWait(phone, 10).until(
            lambda d, s=screen: d.find_element(By.ID, f"screen-{s}").is_displayed())
        assert heading(phone, screen) == texts[title]
        phone.save_screenshot(str(shots / f"{language}-{screen}.png"))
    phone.refresh()  # the choice is kept
    WebDriverWait(phone, 30).until(lambda d: d.find_element(By.ID, "title").text
                                   == texts["Saylau observer"])


@pytest.mark.parametrize(("language", "locale"),
                         [("kk", "kk-KZ"), ("ru", "ru-RU"), ("en", "en-US")])
def test_the_phones_language_is_the_default(field_site: FieldSite,
                                            chromium_paths: tuple[str, str],
                                            artifacts: Path, language: str, locale: str) -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_paths[0]
    for flag in PHONE_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--lang={locale}")
    options.add_experimental_option("prefs", {"intl.accept_languages": f"{locale},{language}"})
    options.add_experimental_option("mobileEmulation", PHONE)
    driver = webdriver.Chrome(service=Service(chromium_paths[1]), options=options)
    try:
        open_app(driver, field_site.app_url)  # not signed in: the sign-in screen
        assert heading(driver, "signin") == messages(language)["Sign in"]
        (artifacts / "fieldapp").mkdir(exist_ok=True)
        driver.save_screenshot(str(artifacts / "fieldapp" / f"{language}-signin.png"))
    finally:
        driver.quit()
