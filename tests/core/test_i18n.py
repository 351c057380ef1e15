"""The catalogs' machinery: loading a .po, falling back, choosing and formatting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from saylau.core.i18n import (
    LANGUAGES,
    available_languages,
    choose_language,
    clock_time,
    gettext,
    number,
    percent,
    translator,
)


def _catalog(folder: Path, language: str, messages: dict[str, str], fuzzy: set[str] = frozenset()
             ) -> None:
    catalog = Catalog(locale=language, domain="saylau")
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr, flags=("fuzzy",) if msgid in fuzzy else ())
    target = folder / language / "LC_MESSAGES"
    target.mkdir(parents=True)
    with (target / "saylau.po").open("wb") as out:
        write_po(out, catalog)


def test_the_shipped_languages_have_a_catalog() -> None:
    assert available_languages() == LANGUAGES


def test_a_catalog_in_a_new_folder_adds_a_language_without_code(tmp_path: Path) -> None:
    _catalog(tmp_path, "ru", {"Turnout": "Явка"})
    _catalog(tmp_path, "de", {"Turnout": "Wahlbeteiligung"})
    assert available_languages(tmp_path) == ("ru", "de")
    assert translator("de", "saylau", tmp_path).gettext("Turnout") == "Wahlbeteiligung"


def test_a_fuzzy_entry_is_not_used_and_a_missing_catalog_falls_back(tmp_path: Path) -> None:
    _catalog(tmp_path, "kk", {"Turnout": "Сайлауға қатысу", "Stations": "?"}, fuzzy={"Stations"})
    kazakh = translator("kk", "saylau", tmp_path)
    assert kazakh.gettext("Turnout") == "Сайлауға қатысу"
    assert kazakh.gettext("Stations") == "Stations"
    assert gettext("Turnout", "xx") == "Turnout"


def test_the_language_is_chosen_from_the_first_offered_wish() -> None:
    assert choose_language([None, "ru-KZ", "kk"]) == "ru"
    assert choose_language(["de", "KK"]) == "kk"
    assert choose_language(["de"]) == "en"


def test_numbers_and_times_follow_the_language() -> None:
    assert number(1234567, "en") == "1,234,567"
    assert number(1234567, "ru").replace("\xa0", " ") == "1 234 567"
    assert percent(0.625, "en") == "62.5%"
    moment = dt.datetime(2026, 3, 15, 14, 5, tzinfo=dt.UTC)
    assert clock_time(moment, "kk", dt.timezone(dt.timedelta(hours=5))) == "19:05"
