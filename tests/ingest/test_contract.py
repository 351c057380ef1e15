"""The event contract, version 1: what parses, what is refused, and the committed schema."""

import json
import typing

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saylau.core.contract import (
    EVENT_TOPICS,
    INCIDENT_CATEGORIES,
    KIND_TOPIC,
    SCHEMA_PATH,
    SCHEMA_VERSION,
    Event,
    event_to_json,
    json_schema,
    parse_event,
    topic_for,
)

COMMON = {
    "schema": SCHEMA_VERSION,
    "event_id": "5f0c2a4e-8b1d-4c3e-9f60-1a2b3c4d5e6f",
    "station_id": "KAZ011-0457",
    "observer_id": "obs-20931",
    "occurred_at": "2026-03-15T12:00:05+05:00",
    "location": {"lat": 49.80, "lon": 73.10, "accuracy_m": 15},
}
SHA = "ab" * 32

EXAMPLES = {
    "checkin": {"kind": "checkin", "role": "observer"},
    "checkout": {"kind": "checkout", "role": "observer", "reason": "removed"},
    "turnout": {"kind": "turnout", "ballots_issued": 412, "registered_voters": 1800,
                "source": "observer_count"},
    "incident": {"kind": "incident", "category": "carousel_voting", "severity": 2,
                 "description": "a bus brought the same people twice",
                 "media": [{"sha256": SHA, "mime": "image/jpeg"}]},
    "review": {"kind": "review", "incident_id": "0b6f7a0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
               "verdict": "verified", "reviewer_id": "lead-7"},
    "exitpoll": {"kind": "exitpoll", "window_start": "2026-03-15T10:00:00+05:00",
                 "window_end": "2026-03-15T11:00:00+05:00", "interviews": 120,
                 "choices": {"party_a": 50, "against_all": 20, "refused": 30, "undecided": 20}},
    "protocol": {"kind": "protocol", "source": "observer_copy", "registered": 1800,
                 "ballots_received": 1800, "ballots_issued": 1100, "ballots_cast": 1098,
                 "invalid": 12, "votes": {"party_a": 700, "against_all": 386}},
    "assignment": {"kind": "assignment", "assigned_by": "lead-7",
                   "target_station_id": "KAZ011-0458", "note": "cover the afternoon"},
    # citizen kinds belong to no station; a report to no observer (docs/citizen.md)
    "citizen_report": {"kind": "citizen_report", "station_id": "citizen",
                       "observer_id": "anonymous", "category": "employer_pressure",
                       "sector": "school", "region_code": "KAZ011",
                       "description": "told to vote and photograph the ballot",
                       "contact_sealed": "c2VhbGVk"},
    "case_update": {"kind": "case_update", "station_id": "citizen", "observer_id": "lawyer-1",
                    "case_id": "0b6f7a0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b", "verdict": "verified",
                    "status": "contacted", "note": "called back"},
    # tabulation kinds come from the dashboard's tabulation page (docs/tabulation.md)
    "protocol_entry": {"kind": "protocol_entry", "observer_id": "volunteer-3",
                       "photo_sha256": SHA, "registered": 1800, "ballots_received": 1800,
                       "ballots_issued": 1100, "ballots_cast": 1098, "invalid": 12,
                       "votes": {"party_a": 700, "against_all": 386}},
    "photo_release": {"kind": "photo_release", "observer_id": "hq-1", "photo_sha256": SHA,
                      "released": True},
}
CONTRACT_KINDS = {typing.get_args(model.model_fields["kind"].annotation)[0]
                  for model in typing.get_args(typing.get_args(Event)[0])}


def example(kind_: str, **changes: object) -> dict:
    return {**COMMON, **EXAMPLES[kind_], **changes}


def dumps(message: dict) -> str:
    return json.dumps(message)


def assert_refused(message: dict | str) -> pydantic.ValidationError:
    with pytest.raises(pydantic.ValidationError) as caught:
        parse_event(message if isinstance(message, str) else dumps(message))
    return caught.value


# --- valid examples ---------------------------------------------------------------------


def test_examples_cover_every_kind_of_the_contract():
    assert set(EXAMPLES) == CONTRACT_KINDS == set(KIND_TOPIC)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_valid_example_parses_to_its_kind(kind):
    event = parse_event(dumps(example(kind)))
    assert event.kind == kind
    assert str(event.event_id) == COMMON["event_id"]
    assert event.occurred_at.utcoffset() is not None


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_valid_example_round_trips_through_event_to_json(kind):
    event = parse_event(dumps(example(kind)))
    text = event_to_json(event)
    assert parse_event(text) == event
    assert json.loads(text)["schema"] == SCHEMA_VERSION


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_bytes_and_text_parse_alike(kind):
    text = dumps(example(kind))
    assert parse_event(text.encode("utf-8")) == parse_event(text)


def test_location_is_optional():
    message = example("checkin")
    del message["location"]
    assert parse_event(dumps(message)).location is None
    assert "location" not in json.loads(event_to_json(parse_event(dumps(message))))


def test_schema_version_defaults_when_absent():
    message = example("checkin")
    del message["schema"]
    assert parse_event(dumps(message)).schema_ == SCHEMA_VERSION


# --- what each kind refuses -------------------------------------------------------------


@pytest.mark.parametrize("severity", [1, 2, 3])
def test_incident_severity_one_to_three_is_accepted(severity):
    assert parse_event(dumps(example("incident", severity=severity))).severity == severity


@pytest.mark.parametrize("severity", [0, 4, -1, 100])
def test_incident_severity_outside_one_to_three_is_refused(severity):
    assert_refused(example("incident", severity=severity))


def test_incident_description_of_2000_characters_is_accepted():
    assert len(parse_event(dumps(example("incident", description="x" * 2000))).description) \
        == 2000


def test_incident_description_over_2000_characters_is_refused():
    assert_refused(example("incident", description="x" * 2001))


@pytest.mark.parametrize("category", INCIDENT_CATEGORIES)
def test_every_listed_incident_category_is_accepted(category):
    assert parse_event(dumps(example("incident", category=category))).category == category


@pytest.mark.parametrize("category", ["fraud", "", "Ballot_Stuffing", "other "])
def test_unknown_incident_category_is_refused(category):
    assert_refused(example("incident", category=category))


@pytest.mark.parametrize("media", [
    [{"sha256": "AB" * 32, "mime": "image/jpeg"}],  # upper-case hex
    [{"sha256": SHA[:-1], "mime": "image/jpeg"}],  # 63 characters
    [{"sha256": SHA, "mime": "jpeg"}],
    [{"sha256": SHA, "mime": "image/jpeg", "filename": "me.jpg"}],
    [{"sha256": SHA, "mime": "image/jpeg"}] * 21,
])
def test_malformed_incident_media_is_refused(media):
    assert_refused(example("incident", media=media))


@pytest.mark.parametrize("kind", ["vote", "", "Turnout", "rejected"])
def test_unknown_kind_is_refused(kind):
    assert_refused(example("turnout", kind=kind))


def test_missing_kind_is_refused():
    message = example("turnout")
    del message["kind"]
    assert_refused(message)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
@pytest.mark.parametrize("field", ["name", "phone", "schema_", "extra"])
def test_extra_field_is_refused(kind, field):
    error = assert_refused(example(kind, **{field: "Aigerim, +77011234567"}))
    assert any(item["type"] == "extra_forbidden" for item in error.errors())


def test_extra_field_inside_location_is_refused():
    assert_refused(example("checkin", location={"lat": 49.8, "lon": 73.1, "name": "home"}))


@pytest.mark.parametrize("value", ["2026-03-15T12:00:05", "2026-03-15 12:00:05"])
def test_naive_occurred_at_is_refused(value):
    assert_refused(example("checkin", occurred_at=value))


@pytest.mark.parametrize("field", ["window_start", "window_end"])
def test_naive_exit_poll_window_is_refused(field):
    assert_refused(example("exitpoll", **{field: "2026-03-15T10:00:00"}))


@pytest.mark.parametrize(("kind", "changes"), [
    ("turnout", {"ballots_issued": -1}),
    ("turnout", {"registered_voters": -5}),
    ("turnout", {"ballots_issued": 10_000_001}),
    ("exitpoll", {"interviews": -1}),
    ("exitpoll", {"choices": {"party_a": -3}}),
    ("protocol", {"registered": -1}),
    ("protocol", {"ballots_received": -1}),
    ("protocol", {"ballots_issued": -1}),
    ("protocol", {"ballots_cast": -1}),
    ("protocol", {"invalid": -1}),
    ("protocol", {"votes": {"against_all": -1}}),
])
def test_negative_or_impossible_count_is_refused(kind, changes):
    assert_refused(example(kind, **changes))


@pytest.mark.parametrize(("kind", "changes"), [
    ("checkin", {"role": "voter"}),
    ("checkout", {"reason": "tired"}),
    ("turnout", {"source": "rumour"}),
    ("review", {"verdict": "maybe"}),
    ("protocol", {"source": "guess"}),
    ("checkin", {"schema": "saylau.event/2"}),
    ("checkin", {"event_id": "not-a-uuid"}),
    ("checkin", {"station_id": "KAZ 011/0457"}),
    ("checkin", {"station_id": ""}),
    ("checkin", {"observer_id": "Aigerim Nurlanovna"}),
    ("checkin", {"location": {"lat": 91, "lon": 0}}),
    ("checkin", {"location": {"lat": 0, "lon": -181}}),
    ("checkin", {"location": {"lat": 0, "lon": 0, "accuracy_m": -1}}),
    ("assignment", {"note": "x" * 501}),
    ("assignment", {"target_station_id": "a;b"}),
    ("exitpoll", {"choices": {"": 1}}),
    ("exitpoll", {"choices": {f"option_{n}": 1 for n in range(65)}}),
])
def test_value_breaking_the_contract_is_refused(kind, changes):
    assert_refused(example(kind, **changes))


@pytest.mark.parametrize("raw", ["", "{", "null", "[]", '"turnout"', "42", "{}"])
def test_message_that_is_not_an_event_object_is_refused(raw):
    assert_refused(raw)


def test_infinite_location_accuracy_is_refused():
    message = example("turnout")
    del message["location"]
    text = dumps(message)[:-1] + ', "location": {"lat": 1, "lon": 2, "accuracy_m": Infinity}}'
    assert_refused(text)


# --- the committed JSON Schema ----------------------------------------------------------


def test_committed_json_schema_matches_the_models():
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(json_schema())), (
        f"{SCHEMA_PATH.name} is out of date: run `python -m saylau.core.contract` and commit it")


def test_json_schema_forbids_extra_fields_in_every_kind():
    definitions = json_schema()["$defs"]
    for kind_model in ("Checkin", "Checkout", "Turnout", "Incident", "Review", "ExitPoll",
                       "Protocol", "Assignment", "Location", "Media"):
        assert definitions[kind_model]["additionalProperties"] is False, kind_model


# --- topics -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(CONTRACT_KINDS))
def test_topic_for_maps_every_kind_to_a_known_topic(kind):
    topic = topic_for(kind)
    assert topic.startswith("saylau.")
    assert topic.removeprefix("saylau.") in EVENT_TOPICS


@pytest.mark.parametrize(("kind", "topic"), [
    ("checkin", "saylau.checkins"), ("checkout", "saylau.checkins"),
    ("turnout", "saylau.turnout"), ("incident", "saylau.incidents"),
    ("review", "saylau.incidents"), ("exitpoll", "saylau.exitpolls"),
    ("protocol", "saylau.protocols"), ("assignment", "saylau.assignments"),
])
def test_topic_for_follows_the_design_table(kind, topic):
    assert topic_for(kind) == topic


def test_topic_for_uses_the_prefix():
    assert topic_for("turnout", prefix="test42") == "test42.turnout"


def test_topic_for_unknown_kind_raises():
    with pytest.raises(KeyError):
        topic_for("vote")


# --- property tests: parse_event never fails in any other way -------------------------

JSON_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats()
                | st.text(max_size=30))
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20)
FIELD_NAMES = sorted({name for body in EXAMPLES.values() for name in body} | set(COMMON)
                     | {"name", "phone"})
FINITE_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**8)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=10)


@st.composite
def mutated_examples(draw, values=JSON_VALUES):
    """A valid example with some fields dropped and others set to arbitrary JSON values."""
    message = example(draw(st.sampled_from(sorted(EXAMPLES))))
    for name in draw(st.lists(st.sampled_from(sorted(message)), max_size=3)):
        message.pop(name, None)
    message.update(draw(st.dictionaries(st.sampled_from(FIELD_NAMES), values, max_size=3)))
    return message


def parses_or_is_refused(raw: bytes | str) -> None:
    try:
        parse_event(raw)
    except pydantic.ValidationError:
        pass


PROPERTY = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.binary(max_size=300))
def test_arbitrary_bytes_parse_or_raise_validation_error(raw):
    parses_or_is_refused(raw)


@PROPERTY
@given(st.text(max_size=300))
def test_arbitrary_text_parses_or_raises_validation_error(raw):
    parses_or_is_refused(raw)


@PROPERTY
@given(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=8))
def test_arbitrary_json_object_parses_or_raises_validation_error(message):
    parses_or_is_refused(dumps(message))


@PROPERTY
@given(mutated_examples())
def test_mutated_example_parses_or_raises_validation_error(message):
    parses_or_is_refused(dumps(message))


@PROPERTY
@given(mutated_examples(values=FINITE_JSON_VALUES))
def test_every_event_that_parses_round_trips_through_event_to_json(message):
    try:
        event = parse_event(dumps(message))
    except pydantic.ValidationError:
        return
    assert parse_event(event_to_json(event)) == event
