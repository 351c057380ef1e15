"""Every dashboard page in Kazakh, Russian and English, in a real Chromium: the texts come
from the catalogs, ``?lang=`` stays for the session, and each page and language leaves a
screenshot in the test artifacts."""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium import webdriver

from saylau.core.i18n import gettext, number
from tests.dashboard.served import Served, browser, served, text_becomes, text_of

__all__ = ["browser", "served"]  # fixtures used by name below

# (page, path, selector, English text whose translation the page must show)
PAGES = [
    ("wall", "/", ".wall-title", "Saylau — election day"),
    ("status", "/status", ".wall-title", "Saylau — pipeline status"),
    ("incidents", "/incidents", "h1", "Incidents"),
    ("region", "/region/KAZ011", ".region-side h2", "Suggested redeployment"),
    ("station", "/station/{station}", ".station h2", "Commission"),
    ("media", "/media", "h1", "Saylau — media exports"),
    ("analysis", "/analysis", ".analysis h1", "Saylau — analysis"),
    ("cases", "/cases", "h1", "Citizen reports"),
]


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_every_page_is_in_the_chosen_language(served: Served, browser: webdriver.Chrome,
                                              artifacts: Path, language: str) -> None:
    station = served.day.stations("KAZ011")[0]
    # Once in the address, then every page without it: the session keeps the language.
    browser.get(f"{served.url}/?lang={language}")
    for page, path, selector, english in PAGES:
        if page != "wall":
            browser.get(served.url + path.format(station=station))
        expected = gettext(english, language)
        assert text_becomes(browser, selector, expected) == expected, (page, language)
        assert "active" in browser.find_element(
            "css selector", f"#language-{language}").get_attribute("class")
        browser.save_screenshot(str(artifacts / f"lang-{page}-{language}.png"))


def test_the_wall_headline_reads_in_russian_and_kazakh(served: Served,
                                                       browser: webdriver.Chrome) -> None:
    registered = int(served.day.registry["registered_voters"].sum())
    for language, caption_word in (("ru", "явка"), ("kk", "қатысу")):
        browser.get(f"{served.url}/?lang={language}")
        text_becomes(browser, "#wall-value-as-of", "20:40")
        caption = text_of(browser, "#wall-figure-turnout .headline-caption")
        assert caption_word in caption and number(registered, language) in caption
        # Region names and categories are data in the language, not English.
        region = text_of(browser, "#wall-region-KAZ011 td:nth-child(1)")
        assert region == {"ru": "Карагандинская область", "kk": "Қарағанды облысы"}[language]
        category = text_of(browser, "#wall-category-carousel_voting td:nth-child(1)")
        assert category == "«карусель»"
        assert gettext("incident burst", language) in text_of(browser, "#wall-ticker")


def test_the_switch_changes_the_language_of_the_page(served: Served,
                                                     browser: webdriver.Chrome) -> None:
    browser.get(f"{served.url}/status")
    text_becomes(browser, ".wall-title", "Saylau — pipeline status")
    browser.find_element("css selector", "#language-ru").click()
    expected = gettext("Saylau — pipeline status", "ru")
    assert text_becomes(browser, ".wall-title", expected) == expected
    assert browser.title == gettext("Saylau — status", "ru")
