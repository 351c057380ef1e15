"""Is a message a valid event? The contract, the station registry and the election day."""

import datetime as dt
import json
import uuid
from zoneinfo import ZoneInfo

import pytest

from saylau.core.contract import Turnout
from saylau.core.validation import (
    ACCEPT_AFTER_MIDNIGHT,
    DayWindow,
    Rejection,
    StationInfo,
    check_rules,
    validate,
)

ALMATY = ZoneInfo("Asia/Almaty")
ELECTION_DAY = dt.date(2026, 3, 15)
WINDOW = DayWindow.for_election(ELECTION_DAY, ALMATY)
STATIONS = {
    "KAZ011-0457": StationInfo("KAZ011", 1200),
    "KAZ011-0458": StationInfo("KAZ011", 800),
    "KAZ002-0001": StationInfo("KAZ002", 50),
}
NOON = dt.datetime(2026, 3, 15, 12, 0, tzinfo=ALMATY)
PHONE = "+77011234567"


def message(kind: str = "turnout", *, at: dt.datetime = NOON, **fields: object) -> dict:
    body = {"schema": "saylau.event/1", "event_id": str(uuid.uuid4()), "kind": kind,
            "station_id": "KAZ011-0457", "observer_id": "obs-20931",
            "occurred_at": at.isoformat()}
    defaults = {
        "turnout": {"ballots_issued": 100},
        "checkin": {"role": "observer"},
        "incident": {"category": "vote_buying", "severity": 3},
        "assignment": {"assigned_by": "lead-1", "target_station_id": "KAZ011-0458"},
    }
    return {**body, **defaults.get(kind, {}), **fields}


def raw(body: dict) -> bytes:
    return json.dumps(body).encode("utf-8")


CASES = [
    # (name, message bytes, expected reason or None for accepted)
    ("empty bytes", b"", "empty_message"),
    ("no value (tombstone)", None, "empty_message"),
    ("not json", b"{station: 1", "invalid_json"),
    ("cut off in transit", raw(message())[:40], "invalid_json"),
    ("not utf-8", b"\xff\xfe\xfd", "invalid_json"),
    ("whitespace only", b"   ", "invalid_json"),
    ("json array", b"[1, 2]", "invalid_event"),
    ("json string", b'"turnout"', "invalid_event"),
    ("empty object", b"{}", "invalid_event"),
    ("unknown kind", raw(message(kind="vote")), "invalid_event"),
    ("negative ballots", raw(message(ballots_issued=-1)), "invalid_event"),
    ("extra field", raw(message(phone=PHONE)), "invalid_event"),
    ("naive time", raw(message(occurred_at="2026-03-15T12:00:00")), "invalid_event"),
    ("unknown station", raw(message(station_id="KAZ099-9999")), "unknown_station"),
    ("just before local midnight", raw(message(at=WINDOW.start - dt.timedelta(seconds=1))),
     "outside_election_day"),
    ("at local midnight", raw(message(at=WINDOW.start)), None),
    ("last second of the window", raw(message(at=WINDOW.end - dt.timedelta(seconds=1))), None),
    ("at the window end", raw(message(at=WINDOW.end)), "outside_election_day"),
    ("a week later", raw(message(at=NOON + dt.timedelta(days=7))), "outside_election_day"),
    ("the day before", raw(message(at=NOON - dt.timedelta(days=1))), "outside_election_day"),
    ("turnout equal to registered", raw(message(ballots_issued=1200)), None),
    ("turnout above registered", raw(message(ballots_issued=1201)), "turnout_above_registered"),
    ("turnout above a small station",
     raw(message(station_id="KAZ002-0001", ballots_issued=51)), "turnout_above_registered"),
    ("assignment to a known station", raw(message("assignment")), None),
    ("assignment to an unknown station",
     raw(message("assignment", target_station_id="KAZ099-0001")), "unknown_station"),
    ("check-in", raw(message("checkin")), None),
    ("incident", raw(message("incident")), None),
    ("turnout", raw(message()), None),
]


@pytest.mark.parametrize(("value", "reason"), [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_message_is_accepted_or_rejected_with_its_reason(value, reason):
    outcome = validate(value, STATIONS, WINDOW)
    if reason is None:
        assert not isinstance(outcome, Rejection), outcome
    else:
        assert isinstance(outcome, Rejection)
        assert outcome.reason == reason
        assert outcome.detail


def test_accepted_message_returns_the_parsed_event():
    body = message(ballots_issued=321)
    outcome = validate(raw(body), STATIONS, WINDOW)
    assert isinstance(outcome, Turnout)
    assert str(outcome.event_id) == body["event_id"]
    assert outcome.ballots_issued == 321


def test_time_in_another_offset_is_judged_by_its_instant():
    utc_time = (WINDOW.start - dt.timedelta(minutes=1)).astimezone(dt.UTC)
    outcome = validate(raw(message(at=utc_time)), STATIONS, WINDOW)
    assert isinstance(outcome, Rejection) and outcome.reason == "outside_election_day"


def test_unknown_station_is_reported_before_the_time():
    late_and_unknown = message(station_id="KAZ099-9999", at=WINDOW.end + dt.timedelta(days=1))
    assert validate(raw(late_and_unknown), STATIONS, WINDOW).reason == "unknown_station"


def test_check_rules_passes_a_valid_event():
    event = validate(raw(message()), STATIONS, WINDOW)
    assert check_rules(event, STATIONS, WINDOW) is None


def test_rejection_detail_names_the_failing_field():
    outcome = validate(raw(message(ballots_issued=-1)), STATIONS, WINDOW)
    assert "ballots_issued" in outcome.detail


def test_rejection_detail_is_limited_to_five_problems():
    body = {"kind": "turnout", "ballots_issued": -1, **{f"extra_{n}": 1 for n in range(10)}}
    outcome = validate(raw(body), STATIONS, WINDOW)
    assert outcome.reason == "invalid_event"
    assert outcome.detail.count(";") == 5 and "more" in outcome.detail


# --- rejection details never repeat what was sent -----------------------------------------

PLANTED = [
    ("extra field", message(phone=PHONE)),
    ("extra field named like the owner", message(name=f"Aigerim {PHONE}")),
    ("number field", message(ballots_issued=PHONE)),
    ("number field, phone with spaces", message(ballots_issued="+7 701 123 45 67")),
    ("observer id", message(observer_id=PHONE)),
    ("station id", message(station_id=PHONE)),
    ("event id", message(event_id=PHONE)),
    ("time", message(occurred_at=f"call {PHONE}")),
    ("source", message(source=PHONE)),
    ("location", message(location=PHONE)),
    ("location.lat", message(location={"lat": PHONE, "lon": 1})),
    ("incident description too long", message("incident", description=PHONE * 200)),
    ("incident category", message("incident", category=PHONE)),
    ("assignment note too long", message("assignment", note=PHONE * 50)),
    ("schema", message(schema=PHONE)),
    ("whole message a string", PHONE),
    ("whole message a list", [PHONE]),
]


@pytest.mark.parametrize("body", [case[1] for case in PLANTED], ids=[c[0] for c in PLANTED])
def test_rejection_detail_never_contains_the_submitted_value(body):
    outcome = validate(raw(body), STATIONS, WINDOW)
    assert isinstance(outcome, Rejection)
    assert PHONE not in outcome.detail
    assert "7011234567" not in outcome.detail.replace(" ", "")


def test_rejection_detail_does_not_echo_an_unknown_kind():
    outcome = validate(raw(message(kind=PHONE)), STATIONS, WINDOW)
    assert outcome.reason == "invalid_event"
    assert PHONE not in outcome.detail


def test_rejection_detail_does_not_echo_a_submitted_option_name():
    body = message("exitpoll", window_start=NOON.isoformat(), window_end=NOON.isoformat(),
                   interviews=1, choices={PHONE: -1})
    outcome = validate(raw(body), STATIONS, WINDOW)
    assert outcome.reason == "invalid_event"
    assert PHONE not in outcome.detail


# --- the election-day window --------------------------------------------------------------


def test_day_window_starts_at_local_midnight_of_the_election_day():
    window = DayWindow.for_election(ELECTION_DAY, ALMATY)
    assert window.start == dt.datetime(2026, 3, 15, 0, 0, tzinfo=ALMATY)
    assert window.start.utcoffset() == dt.timedelta(0)


def test_day_window_lasts_until_noon_after_the_election_day():
    window = DayWindow.for_election(ELECTION_DAY, ALMATY)
    assert window.end - window.start == ACCEPT_AFTER_MIDNIGHT == dt.timedelta(hours=36)
    assert window.end == dt.datetime(2026, 3, 16, 12, 0, tzinfo=ALMATY)
    assert window.end.utcoffset() == dt.timedelta(0)


def test_day_window_is_half_open():
    assert WINDOW.contains(WINDOW.start)
    assert not WINDOW.contains(WINDOW.end)
    assert WINDOW.contains(WINDOW.end - dt.timedelta(microseconds=1))
    assert not WINDOW.contains(WINDOW.start - dt.timedelta(microseconds=1))


@pytest.mark.parametrize("zone", ["UTC", "Asia/Almaty", "Asia/Aqtobe", "Europe/Berlin",
                                  "America/Los_Angeles"])
def test_day_window_follows_the_time_zone(zone):
    window = DayWindow.for_election(ELECTION_DAY, ZoneInfo(zone))
    local_start = window.start.astimezone(ZoneInfo(zone))
    assert (local_start.date(), local_start.time()) == (ELECTION_DAY, dt.time(0, 0))
