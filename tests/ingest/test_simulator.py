"""The simulated election day: deterministic, in time order, and valid by our own rules."""

import datetime as dt
import json
from collections import defaultdict
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from ingest.contract import KIND_TOPIC, parse_event
from ingest.simulator import DayPlan, SimulatedMessage, feed, simulate_day, turnout_curve
from streams.batch import Message, RecentIds, process_batch
from streams.validation import DayWindow, Rejection, StationInfo, validate

ALMATY = ZoneInfo("Asia/Almaty")
ELECTION_DAY = dt.date(2026, 3, 15)
N_STATIONS = 300


def small_registry(n: int = N_STATIONS) -> pd.DataFrame:
    return pd.DataFrame({
        "station_id": [f"KAZ{1 + i % 4:03d}-{i:04d}" for i in range(n)],
        "region_code": [f"KAZ{1 + i % 4:03d}" for i in range(n)],
        "registered_voters": [60 + (i * 37) % 2900 for i in range(n)],
        "lat": [43.0 + (i % 50) / 10 for i in range(n)],
        "lon": [70.0 + (i % 30) / 10 for i in range(n)],
    })


REGISTRY = small_registry()
STATIONS = {row.station_id: StationInfo(row.region_code, int(row.registered_voters))
            for row in REGISTRY.itertuples()}
PLAN = DayPlan(ELECTION_DAY, ALMATY, seed=7)
WINDOW = DayWindow.for_election(ELECTION_DAY, ALMATY)


@pytest.fixture(scope="module")
def day() -> list[SimulatedMessage]:
    return simulate_day(REGISTRY, PLAN)


def well_formed(messages: list[SimulatedMessage]) -> list[dict]:
    events = []
    for message in messages:
        try:
            events.append(json.loads(message.value))
        except ValueError:
            continue
    return events


def test_same_seed_gives_identical_messages(day):
    assert simulate_day(REGISTRY, PLAN) == day


def test_different_seeds_give_different_days(day):
    other = simulate_day(REGISTRY, DayPlan(ELECTION_DAY, ALMATY, seed=8))
    assert [m.value for m in other] != [m.value for m in day]


def test_messages_are_in_time_order(day):
    times = [message.occurred_at for message in day]
    assert times == sorted(times)
    assert all(moment.utcoffset() is not None for moment in times)


def test_day_has_every_simulated_kind(day):
    kinds = {event["kind"] for event in well_formed(day)}
    assert {"checkin", "turnout", "incident"} <= kinds


def test_every_well_formed_message_validates_against_the_registry(day):
    events = well_formed(day)
    assert len(events) > N_STATIONS
    for message in day:
        try:
            json.loads(message.value)
        except ValueError:
            continue
        outcome = validate(message.value, STATIONS, WINDOW)
        assert not isinstance(outcome, Rejection), (outcome, message.value)


def test_malformed_messages_are_rejected_as_invalid_json():
    noisy = simulate_day(REGISTRY, DayPlan(ELECTION_DAY, ALMATY, seed=7, malformed_rate=0.2,
                                           duplicate_rate=0.0))
    malformed = [m for m in noisy if len(well_formed([m])) == 0]
    assert malformed
    for message in malformed:
        assert validate(message.value, STATIONS, WINDOW).reason == "invalid_json"


def test_without_noise_every_message_is_a_distinct_valid_event():
    clean = simulate_day(REGISTRY, DayPlan(ELECTION_DAY, ALMATY, seed=7, duplicate_rate=0.0,
                                           malformed_rate=0.0))
    events = [parse_event(message.value) for message in clean]
    assert len({event.event_id for event in events}) == len(events)


def test_resent_messages_are_counted_as_duplicates_by_the_batch():
    noisy = simulate_day(REGISTRY, DayPlan(ELECTION_DAY, ALMATY, seed=7, duplicate_rate=0.2,
                                           malformed_rate=0.0))
    batch = [Message(f"saylau.{m.topic_suffix}", 0, n, m.value) for n, m in enumerate(noisy)]
    result = process_batch(batch, STATIONS, WINDOW, RecentIds(), dt.datetime.now(dt.UTC))
    distinct = len({json.loads(m.value)["event_id"] for m in noisy})
    assert result.duplicates == len(noisy) - distinct > 0
    assert len(result.rows) == distinct
    assert result.rejects == []


def test_messages_are_keyed_by_station_on_the_topic_of_their_kind(day):
    for message in day:
        try:
            event = json.loads(message.value)
        except ValueError:
            continue
        assert message.key == event["station_id"]
        assert message.topic_suffix == KIND_TOPIC[event["kind"]]


def test_turnout_per_station_never_decreases_nor_exceeds_registered_voters(day):
    registered = dict(zip(REGISTRY["station_id"], REGISTRY["registered_voters"], strict=True))
    by_station: dict[str, list[int]] = defaultdict(list)
    for event in well_formed(day):
        if event["kind"] == "turnout":
            by_station[event["station_id"]].append(event["ballots_issued"])
    assert by_station
    for station_id, counts in by_station.items():
        assert counts == sorted(counts), station_id
        assert 0 <= counts[-1] <= registered[station_id], station_id


def test_some_stations_have_no_observer(day):
    covered = {event["station_id"] for event in well_formed(day) if event["kind"] == "checkin"}
    assert 0 < len(covered) < N_STATIONS


def test_observers_check_in_around_opening_and_report_until_closing(day):
    opening = PLAN.local(PLAN.open_hours)
    closing = PLAN.local(PLAN.close_hours)
    for event in well_formed(day):
        at = dt.datetime.fromisoformat(event["occurred_at"])
        if event["kind"] == "checkin":
            assert abs(at - opening) <= dt.timedelta(minutes=30)
        else:
            assert opening <= at <= closing + dt.timedelta(seconds=30), event


def test_removed_observer_sends_no_turnout_after_removal(day):
    events = well_formed(day)
    removed_at = {e["station_id"]: e["occurred_at"] for e in events
                  if e["kind"] == "checkout" and e["reason"] == "removed"}
    for event in events:
        if event["kind"] == "turnout" and event["station_id"] in removed_at:
            assert dt.datetime.fromisoformat(event["occurred_at"]) < \
                dt.datetime.fromisoformat(removed_at[event["station_id"]])


def test_removal_is_reported_as_a_severe_incident():
    events = well_formed(simulate_day(REGISTRY, DayPlan(ELECTION_DAY, ALMATY, seed=19)))
    removals = [(e["station_id"], e["occurred_at"]) for e in events
                if e["kind"] == "checkout" and e["reason"] == "removed"]
    assert removals
    reports = {(e["station_id"], e["occurred_at"]) for e in events
               if e["kind"] == "incident" and e["category"] == "observer_removed"
               and e["severity"] == 3}
    assert set(removals) <= reports


def test_observer_reports_only_between_check_in_and_removal():
    events = well_formed(simulate_day(REGISTRY, DayPlan(ELECTION_DAY, ALMATY, seed=19)))
    present: dict[str, tuple[dt.datetime, dt.datetime]] = {}
    for e in events:
        at = dt.datetime.fromisoformat(e["occurred_at"])
        start, end = present.get(e["station_id"], (dt.datetime.max.replace(tzinfo=dt.UTC),
                                                   dt.datetime.max.replace(tzinfo=dt.UTC)))
        if e["kind"] == "checkin":
            start = min(start, at)
        if e["kind"] == "checkout":
            end = at
        present[e["station_id"]] = (start, end)
    out_of_shift = [e for e in events if e["kind"] == "incident"
                    and not (present[e["station_id"]][0]
                             <= dt.datetime.fromisoformat(e["occurred_at"])
                             <= present[e["station_id"]][1])]
    assert out_of_shift == []


# --- turnout_curve ------------------------------------------------------------------------


def test_turnout_curve_rises_monotonically_from_zero_to_one():
    curve = turnout_curve(np.linspace(0, 1, 1001))
    assert curve[0] == 0.0
    assert curve[-1] == pytest.approx(1.0, abs=1e-12)
    assert (np.diff(curve) >= 0).all()


def test_turnout_curve_is_clipped_outside_the_voting_day():
    assert turnout_curve(np.array([-0.5, 1.5])).tolist() == pytest.approx([0.0, 1.0])


def test_turnout_curve_has_a_slow_morning():
    early, midday = turnout_curve(np.array([0.1, 0.5]))
    assert early < 0.1 < midday < 0.9


# --- feed ---------------------------------------------------------------------------------


def test_feed_sends_every_message_in_order(day):
    sent: list[SimulatedMessage] = []
    sleeps: list[float] = []
    count = feed(day, sent.append, speed=1e12, sleep=sleeps.append)
    assert count == len(day)
    assert sent == day


def test_feed_of_nothing_sends_nothing():
    assert feed([], lambda _: pytest.fail("nothing to send"), speed=1.0) == 0


def test_feed_stops_while_waiting_when_asked(day):
    sent: list[SimulatedMessage] = []
    first, later = day[0], next(m for m in day if m.occurred_at > day[0].occurred_at)
    count = feed([first, later], sent.append, speed=1.0, should_stop=lambda: True,
                 sleep=lambda _: pytest.fail("should stop before sleeping"))
    assert count == 1
    assert sent == [first]


def test_feed_sleeps_in_short_steps_until_a_message_is_due(day):
    first = day[0]
    later = SimulatedMessage(first.occurred_at + dt.timedelta(hours=1), first.topic_suffix,
                             first.key, first.value)
    sleeps: list[float] = []
    stops = iter([False, False, True])
    count = feed([first, later], lambda _: None, speed=1.0, should_stop=lambda: next(stops),
                 sleep=sleeps.append)
    assert count == 1
    assert len(sleeps) == 2
    assert all(0 < pause <= 0.2 for pause in sleeps)
