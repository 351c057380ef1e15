"""The simulated election day: reproducible, valid by our own rules, and shaped like a day."""

import datetime as dt
import json
import re
import uuid
from collections import Counter

import numpy as np
import pytest

from saylau.core.contract import (
    CITIZEN_KINDS,
    INCIDENT_CATEGORIES,
    KIND_TOPIC,
    TABULATION_KINDS,
    parse_event,
)
from saylau.core.election import NON_VOTE_ANSWERS
from saylau.core.validation import Rejection, validate
from saylau.ingest.simulator import (
    NO_NOISE,
    Scenario,
    SimulatedMessage,
    feed,
    simulate_day,
    truth_path,
    turnout_curve,
)
from tests.ingest.simulated import (
    ELECTION,
    N_STATIONS,
    NOISY_SCENARIO,
    REGISTERED,
    REGISTRY,
    STATIONS,
    WINDOW,
    clean_day,
    noisy_day,
    occurred,
    write,
)

OPENS, CLOSES = ELECTION.opens_at, ELECTION.closes_at


@pytest.fixture(scope="module")
def day():
    return noisy_day()


@pytest.fixture(scope="module")
def clean():
    return clean_day()


# --- reproducible ---------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(day, tmp_path):
    again = write(REGISTRY, NOISY_SCENARIO, tmp_path)
    assert again.path.read_bytes() == day.path.read_bytes()
    assert truth_path(again.path).read_bytes() == truth_path(day.path).read_bytes()


def test_different_seed_gives_a_different_day(day):
    other = simulate_day(REGISTRY, ELECTION, Scenario(seed=8))
    assert b"".join(text for text, _ in other.chunks()) != day.path.read_bytes()


def test_file_does_not_depend_on_the_block_size(day):
    assert b"".join(text for text, _ in day.day.chunks(size=777)) == day.path.read_bytes()


# --- valid by the contract and the stream's rules ---------------------------------------------


def test_every_well_formed_message_validates_against_contract_and_registry(day):
    accepted = 0
    for record in day.records:
        if isinstance(record["value"], str):
            continue
        raw = json.dumps(record["value"], separators=(",", ":")).encode()
        parse_event(raw)
        outcome = validate(raw, STATIONS, WINDOW)
        assert not isinstance(outcome, Rejection), (outcome, raw)
        accepted += 1
    assert accepted > 10 * N_STATIONS


def test_malformed_messages_are_rejected_as_invalid_json(day):
    malformed = [record["value"] for record in day.records if isinstance(record["value"], str)]
    assert malformed
    for text in malformed:
        assert validate(text.encode(), STATIONS, WINDOW).reason == "invalid_json"


def test_messages_are_keyed_by_station_on_the_topic_of_their_kind(day):
    for record in day.records:
        value = record["value"]
        if isinstance(value, dict):
            assert record["key"] == value["station_id"]
            assert record["topic"] == f"saylau.{KIND_TOPIC[value['kind']]}"
        else:
            assert record["key"] in STATIONS
            assert record["topic"].split(".", 1)[1] in set(KIND_TOPIC.values())


def test_file_holds_exactly_the_bytes_sent_to_kafka(day):
    messages = list(day.day.messages())
    assert len(messages) == len(day.records)
    for message, record in zip(messages, day.records, strict=True):
        value = record["value"]
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"),
                                                               ensure_ascii=False)
        assert message.value == text.encode()
        assert (message.key, f"saylau.{message.topic_suffix}") == (record["key"], record["topic"])
        assert message.sent_at == dt.datetime.fromisoformat(record["sent_at"])


def test_messages_are_in_sending_order_with_offsets(day):
    sent = [dt.datetime.fromisoformat(record["sent_at"]) for record in day.records]
    assert sent == sorted(sent)
    assert all(moment.utcoffset() == dt.timedelta(hours=5) for moment in sent)


def test_event_ids_are_distinct_uuid4s(clean):
    ids = [uuid.UUID(event["event_id"]) for event in clean.events]
    assert len(ids) == len(clean.records)
    assert all(event_id.version == 4 for event_id in ids)


@pytest.mark.parametrize(("kind", "field", "pattern"), [
    ("checkin", "observer_id", r"(obs|poll|press)-\d{6}"),
    ("turnout", "observer_id", r"obs-\d{6}|cec"),
    ("protocol", "observer_id", r"obs-\d{6}|cec"),
    ("exitpoll", "observer_id", r"poll-\d{6}"),
    ("review", "reviewer_id", r"hq-\d{2}"),
    ("assignment", "assigned_by", r"lead-KAZ\d{3}"),
])
def test_people_appear_only_by_pseudonymous_ids(day, kind, field, pattern):
    values = {event[field] for event in day.of_kind(kind)}
    assert values
    assert all(re.fullmatch(pattern, value) for value in values), values


# --- a day that looks real --------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "field", "expected"), [
    ("checkin", "role", {"observer", "exit_pollster", "journalist"}),
    ("checkout", "reason", {"shift_end", "removed", "reassigned", "other"}),
    ("turnout", "source", {"observer_count", "official"}),
    ("protocol", "source", {"observer_copy", "official"}),
    ("review", "verdict", {"verified", "rejected", "duplicate"}),
])
def test_day_has_every_variant_of_each_kind(day, kind, field, expected):
    assert {event[field] for event in day.of_kind(kind)} == expected


def test_day_has_every_kind_of_the_contract(day):
    # Every kind observers, pollsters and headquarters send. Citizen reports and their cases
    # come from the public page (docs/citizen.md), protocol entries and photo releases from
    # the tabulation page (docs/tabulation.md), not from the movement's day: the simulator
    # makes none, and its days stay byte-identical for their seeds.
    assert {event["kind"] for event in day.events} == \
        set(KIND_TOPIC) - CITIZEN_KINDS - TABULATION_KINDS


def test_coverage_differs_by_region_and_leaves_stations_uncovered(day):
    covered = {event["station_id"] for event in day.of_kind("checkin", role="observer")}
    assert 0 < len(covered) < N_STATIONS
    by_region = Counter(station.split("-")[0] for station in covered)
    shares = [by_region[region] / (N_STATIONS / 4) for region in ("KAZ001", "KAZ002",
                                                                   "KAZ003", "KAZ004")]
    assert max(shares) - min(shares) > 0.2


def test_most_observers_check_in_around_opening(day):
    first = {}
    for event in sorted(day.of_kind("checkin", role="observer"), key=occurred):
        first.setdefault(event["station_id"], occurred(event))
    early = [at for at in first.values() if abs(at - OPENS) <= dt.timedelta(hours=1)]
    assert len(early) >= 0.8 * len(first)


def test_turnout_never_decreases_per_source_and_stays_within_registered(day):
    for source in ("observer_count", "official"):
        for station, reports in day.by_station("turnout", source=source).items():
            counts = [report["ballots_issued"] for report in reports]
            assert counts == sorted(counts), (station, source)
            assert 0 <= counts[-1] <= REGISTERED[station]


def test_turnout_follows_the_daily_shape(day):
    official = day.of_kind("turnout", source="official")
    total_by_hour = Counter()
    for report in official:
        total_by_hour[occurred(report).hour] += report["ballots_issued"]
    hours = sorted(total_by_hour)
    assert hours == [10, 12, 14, 16, 18, 20]
    shares = [total_by_hour[hour] / total_by_hour[20] for hour in hours]
    assert 0.1 < shares[0] < 0.4 < shares[2] < 0.8 < shares[4] < 1.0


def test_commission_reports_turnout_for_every_station_at_every_reporting_time(day):
    reports = day.by_station("turnout", source="official")
    assert len(reports) == N_STATIONS
    for station, station_reports in reports.items():
        assert [occurred(r).time() for r in station_reports] == list(ELECTION.reporting_times)
        assert all(r["observer_id"] == "cec" and r["registered_voters"] == REGISTERED[station]
                   for r in station_reports)


def test_official_turnout_at_the_close_equals_the_official_protocol(day):
    protocols = {p["station_id"]: p for p in day.of_kind("protocol", source="official")}
    assert len(protocols) == N_STATIONS
    for station, reports in day.by_station("turnout", source="official").items():
        assert reports[-1]["ballots_issued"] == protocols[station]["ballots_issued"]


@pytest.mark.parametrize("source", ["observer_copy", "official"])
def test_protocol_arithmetic_holds(day, source):
    protocols = day.of_kind("protocol", source=source)
    assert protocols
    for p in protocols:
        assert set(p["votes"]) == set(ELECTION.options)
        assert p["ballots_cast"] == sum(p["votes"].values()) + p["invalid"]
        assert p["ballots_cast"] <= p["ballots_issued"] <= p["registered"]
        assert p["ballots_issued"] <= p["ballots_received"]
        assert p["registered"] == REGISTERED[p["station_id"]]


def _presence(day):
    """(station, observer) -> list of (check-in, check-out) times."""
    checkins = {(e["station_id"], e["observer_id"]): occurred(e) for e in day.of_kind("checkin")}
    return {(e["station_id"], e["observer_id"]): (checkins[(e["station_id"], e["observer_id"])],
                                                  occurred(e))
            for e in day.of_kind("checkout")}


def test_everyone_who_checks_in_checks_out_later(day):
    checkins = Counter((e["station_id"], e["observer_id"]) for e in day.of_kind("checkin"))
    checkouts = Counter((e["station_id"], e["observer_id"]) for e in day.of_kind("checkout"))
    assert checkins == checkouts
    assert all(start < end for start, end in _presence(day).values())


@pytest.mark.parametrize(("kind", "source"), [
    ("turnout", "observer_count"), ("incident", None), ("exitpoll", None),
    ("protocol", "observer_copy"),
])
def test_people_report_only_while_present_at_the_station(day, kind, source):
    presence = _presence(day)
    reports = day.of_kind(kind, **({"source": source} if source else {}))
    assert reports
    for report in reports:
        start, end = presence[(report["station_id"], report["observer_id"])]
        assert start <= occurred(report) <= end, report


def test_removed_observer_reports_the_removal_as_a_severe_incident(day):
    removals = {(e["station_id"], e["observer_id"], e["occurred_at"])
                for e in day.of_kind("checkout", reason="removed")}
    assert removals
    reports = {(e["station_id"], e["observer_id"], e["occurred_at"])
               for e in day.of_kind("incident", category="observer_removed", severity=3)}
    assert removals == reports


def test_assigned_observer_checks_in_at_the_target_station(day):
    assignments = day.of_kind("assignment")
    assert assignments
    checkins = {(e["station_id"], e["observer_id"]): occurred(e) for e in day.of_kind("checkin")}
    for assignment in assignments:
        arrived = checkins[(assignment["target_station_id"], assignment["observer_id"])]
        assert arrived > occurred(assignment)
        assert assignment["assigned_by"] == f"lead-{assignment['target_station_id'][:6]}"


def test_incidents_use_the_contract_categories_and_severities(day):
    incidents = day.of_kind("incident")
    assert {e["category"] for e in incidents} <= set(INCIDENT_CATEGORIES)
    assert {e["severity"] for e in incidents} <= {1, 2, 3}
    assert len({e["category"] for e in incidents}) >= 6


def test_reviews_refer_to_reported_incidents_and_come_later(day):
    incidents = {e["event_id"]: e for e in day.of_kind("incident")}
    reviews = day.of_kind("review")
    assert 0 < len(reviews) < len(incidents)
    for review in reviews:
        incident = incidents[review["incident_id"]]
        assert review["station_id"] == incident["station_id"]
        assert occurred(review) > occurred(incident)


def test_exit_polls_are_hourly_windows_whose_answers_add_up(day):
    polls = day.of_kind("exitpoll")
    assert polls
    answers = set(ELECTION.options) | set(NON_VOTE_ANSWERS)
    for poll in polls:
        start, end = (dt.datetime.fromisoformat(poll[f]) for f in ("window_start", "window_end"))
        assert OPENS <= start < end <= CLOSES and end - start == dt.timedelta(hours=1)
        assert set(poll["choices"]) == answers
        assert sum(poll["choices"].values()) == poll["interviews"]


def test_exit_poll_tracks_the_true_vote_at_polled_stations(day):
    votes: Counter = Counter()
    for poll in day.of_kind("exitpoll"):
        votes.update({k: v for k, v in poll["choices"].items() if k in ELECTION.options})
    true = Counter()
    polled = {poll["station_id"] for poll in day.of_kind("exitpoll")}
    falsified = {s["station_id"]: s for s in day.truth["falsification"]["stations"]}
    for protocol in day.of_kind("protocol", source="official"):
        if protocol["station_id"] in polled:
            station = falsified.get(protocol["station_id"])
            true.update(station["true"]["votes"] if station else protocol["votes"])
    polled_total, true_total = sum(votes.values()), sum(true.values())
    for option in ELECTION.options:
        assert votes[option] / polled_total == pytest.approx(true[option] / true_total,
                                                             abs=0.04)


# --- turnout_curve ----------------------------------------------------------------------------


def test_turnout_curve_rises_monotonically_from_zero_to_one():
    curve = turnout_curve(np.linspace(0, 1, 1001))
    assert curve[0] == 0.0
    assert curve[-1] == 1.0
    assert (np.diff(curve) >= 0).all()


def test_turnout_curve_is_clipped_outside_the_voting_day():
    assert turnout_curve(np.array([-0.5, 1.5])).tolist() == [0.0, 1.0]


def test_turnout_curve_has_a_slow_morning():
    early, midday = turnout_curve(np.array([0.1, 0.5]))
    assert early < 0.1 < midday < 0.9


# --- feed -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def messages(clean):
    return list(clean.day.messages())


def test_feed_sends_every_message_in_order(messages):
    sent: list[SimulatedMessage] = []
    count = feed(messages, sent.append, speed=float("inf"), sleep=lambda _: None)
    assert count == len(messages)
    assert sent == messages


def test_feed_of_nothing_sends_nothing():
    assert feed([], lambda _: pytest.fail("nothing to send"), speed=1.0) == 0


def test_feed_stops_while_waiting_when_asked(messages):
    first = messages[0]
    later = next(m for m in messages if m.sent_at > first.sent_at)
    stops = iter([False, True])
    sent: list[SimulatedMessage] = []
    count = feed([first, later], sent.append, speed=1.0, should_stop=lambda: next(stops),
                 sleep=lambda _: pytest.fail("should stop before sleeping"))
    assert (count, sent) == (1, [first])


def test_feed_sleeps_in_short_steps_until_a_message_is_due(messages):
    first = messages[0]
    later = SimulatedMessage(first.sent_at + dt.timedelta(hours=1), first.topic_suffix,
                             first.key, first.value)
    sleeps: list[float] = []
    stops = iter([False, False, False, True])
    count = feed([first, later], lambda _: None, speed=1.0, should_stop=lambda: next(stops),
                 sleep=sleeps.append)
    assert count == 1
    assert len(sleeps) == 2
    assert all(0 < pause <= 0.2 for pause in sleeps)


def test_scenario_without_noise_is_reproducible_across_calls():
    first = simulate_day(REGISTRY, ELECTION, Scenario(seed=3, noise=NO_NOISE))
    second = simulate_day(REGISTRY, ELECTION, Scenario(seed=3, noise=NO_NOISE))
    assert [m.value for m in first.messages()] == [m.value for m in second.messages()]
