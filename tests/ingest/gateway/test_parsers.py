"""SMS grammar and the contract at the gateway: any input parses or is refused; none raises."""

from __future__ import annotations

import datetime as dt
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from saylau.core.contract import event_to_json, parse_event
from saylau.ingest.gateway.bulk import parse_csv
from saylau.ingest.gateway.intake import Refusal, parse_item
from saylau.ingest.gateway.sms import INCIDENT_CODES, SmsError, StationDirectory, parse_sms

NOW = dt.datetime(2026, 3, 15, 7, 0, tzinfo=dt.UTC)
DIRECTORY = StationDirectory(["KAZ011-0457", "KAZ012-0457", "KAZ001-0001", "KAZ002-0012"])
OPTIONS = {"amanat", "against_all"}


def sms(text: str, assigned: str | None = None):
    return parse_sms(text, "obs-1", NOW, DIRECTORY, assigned=assigned)


def test_turnout_by_sms():
    report = sms("t 1  1234")
    assert not isinstance(report, SmsError)
    assert (report.kind, report.station_id, report.ballots_issued) == ("turnout", "KAZ001-0001",
                                                                       1234)


def test_incident_by_sms_keeps_the_text():
    report = sms("I 0012 EP 2 boss told staff to vote")
    assert not isinstance(report, SmsError)
    assert (report.category, report.severity, report.description) == (
        "employer_pressure", 2, "boss told staff to vote")


def test_an_ambiguous_station_number_asks_for_the_full_id_unless_assigned_there():
    assert isinstance(sms("T 0457 10"), SmsError)
    assert "full id" in sms("T 0457 10").reply
    assert sms("T 0457 10", assigned="KAZ012-0457").station_id == "KAZ012-0457"
    assert sms("T KAZ011-0457 10").station_id == "KAZ011-0457"


def test_checkin_and_checkout_by_sms():
    assert sms("C 1").kind == "checkin"
    assert sms("X 1 R").reason == "removed"
    assert sms("X 1").reason == "shift_end"


def test_invalid_messages_get_a_reply_that_says_what_is_wrong_without_the_values():
    cases = {"": "Empty", "Z 1 2": "Unknown report type", "T": "Missing station",
             "T 1 many": "whole number", "I 1 ZZ 2": "Unknown incident code",
             "I 1 EP 9 x": "Severity", "X 1 Q": "Reason", "T 9999 5": "No station"}
    for text, expected in cases.items():
        reply = sms(text)
        assert isinstance(reply, SmsError) and expected in reply.reply, text
    assert "many" not in sms("T 1 many").reply


def test_the_same_provider_message_id_is_the_same_event():
    first = parse_sms("T 1 5", "obs-1", NOW, DIRECTORY, message_id="m-1")
    again = parse_sms("T 1 5", "obs-1", NOW, DIRECTORY, message_id="m-1")
    assert first.event_id == again.event_id  # type: ignore[union-attr]


SMS_WORDS = st.sampled_from(["T", "I", "C", "X", "t", "0457", "1", "12", "KAZ011-0457",
                             *INCIDENT_CODES, "2", "S", "R", "-1", "99999999999", "١٢", "²",
                             "1²", "１２"])


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=200),
                 st.lists(SMS_WORDS | st.text(max_size=8), max_size=8).map(" ".join)))
def test_any_sms_parses_to_a_valid_event_or_an_error(text):
    outcome = sms(text)
    if isinstance(outcome, SmsError):
        assert outcome.reply
    else:
        assert parse_event(event_to_json(outcome)) == outcome


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() |
                    st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) |
                    st.dictionaries(st.text(max_size=12), inner, max_size=6), max_leaves=20)
EVENTISH = st.fixed_dictionaries({
    "schema": st.sampled_from(["saylau.event/1", "x"]),
    "event_id": st.sampled_from(["5f0c5b8e-6a4d-4b5e-9c1a-2b3c4d5e6f70", "nope"]),
    "kind": st.sampled_from(["turnout", "incident", "checkin", "review", "teleport"]),
    "station_id": st.sampled_from(["KAZ001-0001", "", "a b"]),
    "observer_id": st.sampled_from(["obs-1", "ö"]),
    "occurred_at": st.sampled_from(["2026-03-15T10:00:00+05:00", "2026-03-15T10:00:00", "x"]),
}, optional={"ballots_issued": JSON, "severity": JSON, "category": JSON, "role": JSON,
             "location": JSON, "extra": JSON})


@settings(max_examples=400, deadline=None)
@given(st.one_of(JSON, EVENTISH))
def test_any_json_value_is_an_event_or_a_refusal_with_fields(item):
    outcome = parse_item(item)
    if isinstance(outcome, Refusal):
        assert outcome.reason and outcome.errors
    else:
        assert parse_event(event_to_json(outcome)) == outcome


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_csv_text_gives_rows_or_a_refusal(text):
    outcome = parse_csv("station_id,registered,ballots_received,ballots_issued,ballots_cast,"
                        "invalid,amanat,against_all\n" + text, "official", "hq-1", NOW, OPTIONS)
    if isinstance(outcome, Refusal):
        assert outcome.reason == "invalid_csv" and outcome.errors
        return
    good, bad = outcome
    assert all(isinstance(refusal, Refusal) for _, refusal in bad)
    assert all(json.loads(event_to_json(event))["kind"] == "protocol" for _, event in good)


def test_a_results_csv_is_validated_row_by_row():
    text = ("station_id,registered,ballots_received,ballots_issued,ballots_cast,invalid,amanat,"
            "against_all\n"
            "KAZ001-0001,1000,1000,600,600,10,500,90\n"
            "KAZ001-0002,1000,1000,600,six hundred,10,500,90\n"
            "KAZ001-0003,1000,1000\n")
    good, bad = parse_csv(text, "official", "hq-1", NOW, OPTIONS)  # type: ignore[misc]
    assert [line for line, _ in good] == [2]
    assert {line: refusal.errors[0].field for line, refusal in bad} == {3: "ballots_cast",
                                                                         4: "row"}
    assert isinstance(parse_csv("station_id,secret_column\n", "official", "hq", NOW, OPTIONS),
                      Refusal)
