"""The SMS grammar in Latin, Russian and Kazakh letters, with a switched keyboard's
look-alikes, and replies in the sender's script."""

from __future__ import annotations

import datetime as dt

import pytest

from saylau.core.contract import INCIDENT_CATEGORIES
from saylau.ingest.gateway.sms import (
    CHECKOUT_CODES,
    INCIDENT_CODES,
    SmsError,
    StationDirectory,
    parse_sms,
    reply_for,
)
from saylau.ingest.gateway.sms_letters import (
    CHECKOUT_REASONS,
    INCIDENT_LETTERS,
    REPORT_TYPES,
    reply_language,
)
from tests.ingest.gateway.conftest import bearer

NOW = dt.datetime(2026, 3, 15, 7, 0, tzinfo=dt.UTC)
DIRECTORY = StationDirectory(["KAZ011-0457", "KAZ001-0001"])
KINDS = {"T": "turnout", "I": "incident", "C": "checkin", "X": "checkout"}
TAILS = {"T": " 120", "I": " {code} 2 text", "C": "", "X": ""}


def sms(text: str):
    return parse_sms(text, "obs-1", NOW, DIRECTORY)


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_every_report_type_in_cyrillic_letters(language: str) -> None:
    letters = {latin: letter for letter, latin in REPORT_TYPES[language].items()}
    assert set(letters) == set(KINDS)
    for latin, letter in letters.items():
        tail = TAILS[latin].format(code=next(iter(INCIDENT_LETTERS[language])))
        for text in (f"{latin} 457{tail}", f"{letter} 457{tail}",
                     f"{letter.lower()} 457{tail}"):
            report = sms(text)
            assert not isinstance(report, SmsError), text
            assert report.kind == KINDS[latin], text


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_every_incident_code_in_cyrillic_means_its_latin_code(language: str) -> None:
    assert set(INCIDENT_LETTERS[language].values()) == set(INCIDENT_CODES)
    assert set(INCIDENT_CODES.values()) == set(INCIDENT_CATEGORIES)
    for letters, latin in INCIDENT_LETTERS[language].items():
        ours, theirs = sms(f"I 457 {letters} 2"), sms(f"I 457 {latin} 2")
        assert not isinstance(ours, SmsError) and not isinstance(theirs, SmsError)
        assert ours.category == theirs.category == INCIDENT_CODES[latin]


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_every_checkout_reason_in_cyrillic(language: str) -> None:
    assert set(CHECKOUT_REASONS[language].values()) == set(CHECKOUT_CODES)
    for letter, latin in CHECKOUT_REASONS[language].items():
        report = sms(f"X 457 {letter}")
        assert not isinstance(report, SmsError), letter
        assert report.reason == CHECKOUT_CODES[latin]


def test_look_alike_letters_of_a_switched_keyboard_are_read_as_latin() -> None:
    # Cyrillic Т, С, Х, І; Cyrillic Е and Р in EP; Cyrillic К and А in the station id.
    assert sms("Т 457 120").kind == "turnout"
    assert sms("С 457").kind == "checkin"
    assert sms("Х 457 О").reason == "other"
    assert sms("І 457 ЕР 2").category == "employer_pressure"
    assert sms("I 457 EР 2").category == "employer_pressure"  # half and half
    assert sms("Т КАZ011-0457 5").station_id == "KAZ011-0457"


def test_a_reply_is_in_the_senders_script() -> None:
    assert reply_language("T 457 120") == "en"
    assert reply_language("Я 457 120") == "ru"
    assert reply_language("Т 457 120") == "ru"  # a Cyrillic keyboard
    assert reply_language("Қ 457 120") == "kk"
    assert reply_language("Б 457 ЖҚ 2 бастық") == "kk"
    assert reply_language("Я 457") == "ru"
    wrong = sms("Я 457")
    assert isinstance(wrong, SmsError)
    assert wrong.in_language("ru").startswith("Число бюллетеней должно быть")
    assert "Я <участок>" in wrong.in_language("ru")
    assert wrong.in_language("kk").startswith("Бюллетеньдер саны")
    assert wrong.reply.startswith("Ballots must be one whole number.")
    ok = sms("Қ 457 120")
    assert reply_for(ok, "kk") == "ОК: KAZ011-0457 учаскесі, сайлауға қатысу тіркелді"
    assert reply_for(ok, "ru") == "ОК: явка, участок KAZ011-0457, записано"


@pytest.mark.broker
@pytest.mark.timeout(120)
def test_the_gateway_answers_in_the_senders_script(gateway_client, issue,
                                                   registry_frame) -> None:
    client = gateway_client()
    station_id = str(registry_frame["station_id"].iloc[0])
    headers = bearer(issue("obs-1"))
    ok = client.post("/v1/sms", json={"text": f"Я {station_id} 120", "message_id": "r1"},
                     headers=headers)
    assert ok.status_code == 202 and "записано" in ok.json()["reply"], ok.text
    bad = client.post("/v1/sms", json={"text": f"Қ {station_id}"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["reply"].startswith("Бюллетеньдер саны")
    latin = client.post("/v1/sms", json={"text": f"T {station_id}"}, headers=headers)
    assert latin.json()["reply"].startswith("Ballots")
