"""A bundle in Kazakh, Russian and English: the same numbers in every language, the text
translated, every file in the manifest."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest

from saylau.core.i18n import gettext
from saylau.exports import Exporter, verify_bundle
from saylau.exports.manifest import MANIFEST
from saylau.warehouse.client import Warehouse
from tests.exports.days import ELECTION, StoredDay

pytestmark = pytest.mark.timeout(600)
NIGHT = ELECTION.local(__import__("datetime").time(21, 0))
NUMBER = {"en": re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"),
          "kk": re.compile(r"\d{1,3}(?:[\u00a0\u202f ]\d{3})+(?:,\d+)?|\d+(?:,\d+)?")}
NUMBER["ru"] = NUMBER["kk"]


def numbers_in(html: str, language: str) -> Counter[Decimal]:
    """Every number of a report's text, read as the language writes numbers."""
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    found = NUMBER[language].findall(text)
    if language == "en":
        return Counter(Decimal(token.replace(",", "")) for token in found)
    return Counter(Decimal(re.sub(r"[\u00a0\u202f ]", "", token).replace(",", "."))
                   for token in found)


def test_a_bundle_in_three_languages(stored: tuple[Warehouse, StoredDay],
                                     tmp_path: Path) -> None:
    warehouse, _day = stored
    exporter = Exporter.create(warehouse, ELECTION, tmp_path / "exports",
                               tmp_path / "stations.csv", languages=("kk", "ru", "en"))
    folder = exporter.export(NIGHT)
    names = {path.name for path in folder.iterdir()}
    for language in ("kk", "ru"):
        assert {f"report.{language}.html", f"turnout.{language}.png",
                f"incidents.{language}.png", f"coverage.{language}.png"} <= names
    assert {"report.html", "turnout.png"} <= names
    # The manifest covers every file, the translated ones too.
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert set(manifest["files"]) == names - {MANIFEST}
    assert verify_bundle(folder) == []

    reports = {language: (folder / name).read_text(encoding="utf-8") for language, name in
               (("en", "report.html"), ("kk", "report.kk.html"), ("ru", "report.ru.html"))}
    english = numbers_in(reports["en"], "en")
    assert sum(english.values()) > 100  # the regions' table, the country, the exit poll
    for language in ("kk", "ru"):
        report = reports[language]
        assert f'<html lang="{language}">' in report
        assert numbers_in(report, language) == english, language
        for heading in ("Regions", "Incidents by category", "Exit poll"):
            assert f"<h2>{gettext(heading, language)}</h2>" in report
        assert "Regions" not in report and "Turnout (observer counts)" not in report
        # Maps: the same data, drawn with the language's titles (other bytes).
        assert (folder / f"turnout.{language}.png").read_bytes() != \
            (folder / "turnout.png").read_bytes()
    assert "Карагандинская область" in reports["ru"] and "Қарағанды облысы" in reports["kk"]
    assert "Против всех" in reports["ru"] and "Барлығына қарсы" in reports["kk"]
