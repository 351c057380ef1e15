"""Transport noise: the rates asked for are the rates delivered, and recorded in the truth."""

import datetime as dt
import json
import math
from collections import Counter

import pytest

from saylau.ingest.simulator import NO_NOISE, NoiseRates, Scenario, simulate_day
from saylau.streams.batch import Message, RecentIds, process_batch
from tests.ingest.simulated import (
    ELECTION,
    NOISY,
    REGISTRY,
    STATIONS,
    WINDOW,
    clean_day,
    noisy_day,
)

NAMES = ("duplicate", "late", "out_of_order", "malformed")


def within_binomial(count: int, trials: int, rate: float) -> bool:
    expected = trials * rate
    return abs(count - expected) <= 4 * math.sqrt(trials * rate * (1 - rate)) + 1


@pytest.fixture(scope="module")
def day():
    return noisy_day()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("rate", [0.0, 0.02, 0.2])
def test_realised_noise_rate_is_the_rate_asked(name, rate):
    scenario = Scenario(seed=13, noise=NoiseRates(**{other: 0.0 for other in NAMES} | {name: rate}))
    noise = simulate_day(REGISTRY, ELECTION, scenario).truth["noise"]
    assert noise["requested"][name] == rate
    assert within_binomial(noise[name], noise["events"], rate), noise
    assert all(noise[other] == 0 for other in NAMES if other != name)


def test_file_shows_the_duplicates_and_malformed_messages_the_truth_records(day):
    noise = day.truth["noise"]
    values = Counter(json.dumps(r["value"], sort_keys=True) for r in day.records
                     if isinstance(r["value"], dict))
    assert sum(count - 1 for count in values.values()) == noise["duplicate"]
    assert sum(isinstance(r["value"], str) for r in day.records) == noise["malformed"]
    assert len(day.records) == noise["messages"] == noise["events"] + noise["duplicate"] + \
        noise["malformed"]
    assert len(day.events) == noise["events"]


def test_truth_records_the_rates_asked(day):
    assert day.truth["noise"]["requested"] == NOISY.as_dict()


def test_late_messages_keep_the_time_they_occurred(day):
    delays = [dt.datetime.fromisoformat(r["sent_at"])
              - dt.datetime.fromisoformat(r["value"]["occurred_at"])
              for r in day.records if isinstance(r["value"], dict)]
    assert all(delay >= dt.timedelta(0) for delay in delays)
    long_ones = sum(delay >= dt.timedelta(minutes=25) for delay in delays)
    assert long_ones >= 0.7 * day.truth["noise"]["late"]


def test_out_of_order_messages_arrive_after_a_later_event_of_their_station(day):
    newest: dict[str, dt.datetime] = {}
    overtaken = 0
    for record in day.records:
        if isinstance(record["value"], str):
            continue
        at = dt.datetime.fromisoformat(record["value"]["occurred_at"])
        station = record["key"]
        overtaken += at < newest.get(station, at)
        newest[station] = max(at, newest.get(station, at))
    noise = day.truth["noise"]
    assert overtaken >= 0.5 * (noise["out_of_order"] + noise["late"])


def test_malformed_message_is_followed_by_a_good_retry(day):
    pending: Counter = Counter()
    for record in day.records:
        if isinstance(record["value"], str):
            pending[record["key"], record["topic"]] += 1
        elif pending[record["key"], record["topic"]]:
            pending[record["key"], record["topic"]] -= 1
    assert sum(pending.values()) <= 0.1 * day.truth["noise"]["malformed"]


def test_without_noise_every_message_is_a_distinct_valid_event():
    day = clean_day()
    assert day.truth["noise"]["messages"] == day.truth["noise"]["events"] == len(day.records)
    assert all(isinstance(record["value"], dict) for record in day.records)
    assert len({record["value"]["event_id"] for record in day.records}) == len(day.records)


def test_the_stream_counts_a_resent_message_once(day):
    batch = [Message(record["topic"], 0, offset, json.dumps(record["value"]).encode())
             for offset, record in enumerate(day.records) if isinstance(record["value"], dict)]
    result = process_batch(batch, STATIONS, WINDOW, RecentIds(), dt.datetime.now(dt.UTC))
    assert result.duplicates == day.truth["noise"]["duplicate"] > 0
    assert len(result.rows) == day.truth["noise"]["events"]
    assert result.rejects == []


@pytest.mark.parametrize("rates", [{"duplicate": -0.1}, {"late": 1.0}, {"malformed": 2}])
def test_impossible_noise_rate_is_refused(rates):
    with pytest.raises(ValueError, match="rate must be in"):
        NoiseRates(**rates)


def test_no_noise_means_no_copies():
    assert NO_NOISE.as_dict() == dict.fromkeys(NAMES, 0.0)
