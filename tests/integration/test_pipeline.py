"""End to end: kafka-python → the real broker → `saylau worker` (Faust) → each warehouse engine."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from kafka import KafkaConsumer, TopicPartition

from saylau.core.contract import KIND_TOPIC
from saylau.kafka.broker import EmbeddedBroker
from saylau.kafka.producer import EventProducer
from saylau.warehouse.client import open_warehouse
from saylau.warehouse.queries import event_counts, rejected_counts
from saylau.warehouse.state import region_turnout, station_state
from tests.integration.events import at, encode, event
from tests.integration.worker import WorkerProcess

pytestmark = [pytest.mark.broker, pytest.mark.timeout(400)]


def worker_env(broker: EmbeddedBroker, prefix: str, url: str, tmp_path: Path) -> dict[str, str]:
    return {"SAYLAU_KAFKA_BOOTSTRAP": broker.bootstrap, "SAYLAU_TOPIC_PREFIX": prefix,
            "SAYLAU_WORKER_GROUP": f"{prefix}-worker", "SAYLAU_WAREHOUSE": url,
            "SAYLAU_DATA_DIR": str(tmp_path), "SAYLAU_REGISTRY": str(tmp_path / "stations.csv"),
            "SAYLAU_WORKER_BATCH_SECONDS": "0.2", "SAYLAU_LOG_LEVEL": "info"}


class KnownDay:
    """A known set of messages and the exact numbers they must produce."""

    def __init__(self, registry: pd.DataFrame) -> None:
        self.stations = registry.head(30)
        self.messages: list[tuple[str, str, bytes]] = []  # (kind, key, value)
        self.latest_ballots: dict[str, int] = {}
        self._valid_events()
        self._noise()

    def _add(self, message: dict) -> dict:
        self.messages.append((message["kind"], message["station_id"], encode(message)))
        return message

    def _valid_events(self) -> None:
        for number, station in enumerate(self.stations.itertuples()):
            self._add(event("checkin", station.station_id, at(6, 45), f"obs-{number}",
                            role="observer"))
            if number < 5:
                self._add(event("checkout", station.station_id, at(12), f"obs-{number}",
                                reason="removed"))
            if number < 20:
                step = station.registered_voters // 10
                # Sent newest first: event time, not arrival order, decides the latest.
                for hour, multiple in ((14, 3), (10, 1), (12, 2)):
                    self._add(event("turnout", station.station_id, at(hour), f"obs-{number}",
                                    ballots_issued=step * multiple))
                self.latest_ballots[station.station_id] = step * 3
            if number < 7:
                self._add(event("incident", station.station_id, at(11), f"obs-{number}",
                                category="carousel_voting", severity=2))

    def _noise(self) -> None:
        first = self.stations.iloc[0]
        resent = [m for m in self.messages if m[0] in ("turnout", "checkin")][:13]
        self.messages.extend(resent)  # the same event_ids again
        bad = {
            "invalid_json": [b"{not json", b"\xff\xfe\x00", b'{"schema": "saylau.event/1"'],
            "invalid_event": [encode(event("incident", first.station_id, at(11),
                                           category="other", severity=7)),
                              encode(event("teleport", first.station_id, at(11)))],
            "unknown_station": [encode(event("checkin", "KAZ999-0001", at(8))),
                                encode(event("turnout", "NOWHERE", at(9), ballots_issued=1))],
            "outside_election_day": [encode(event("turnout", first.station_id,
                                                  "2026-03-20T12:00:00+05:00",
                                                  ballots_issued=1))],
            "turnout_above_registered": [encode(event(
                "turnout", first.station_id, at(13),
                ballots_issued=int(first.registered_voters) + 1))],
            "empty_message": [b""],
        }
        self.expected_rejected = {reason: len(values) for reason, values in bad.items()}
        for values in bad.values():
            self.messages.extend(("turnout", first.station_id, value) for value in values)

    def expected_kinds(self) -> dict[str, int]:
        kinds = Counter(json.loads(v)["kind"] for k, _, v in self._accepted_unique())
        return dict(kinds)

    def _accepted_unique(self) -> list[tuple[str, str, bytes]]:
        seen, unique = set(), []
        for message in self.messages[: self._valid_count()]:
            if message[2] not in seen:
                seen.add(message[2])
                unique.append(message)
        return unique

    def _valid_count(self) -> int:
        return len(self.messages) - sum(self.expected_rejected.values())

    def send(self, producer: EventProducer, prefix: str, messages=None) -> None:
        for kind, key, value in messages if messages is not None else self.messages:
            producer.send_raw(f"{prefix}.{KIND_TOPIC[kind]}", key, value)
        producer.flush()


def rejected_topic_reasons(bootstrap: str, topic: str) -> Counter:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=3000,
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
    reasons = Counter(json.loads(record.value)["reason"] for record in consumer)
    consumer.close()
    return reasons


def test_known_events_give_exact_counts_in_the_warehouse_and_rejected_topic(
        broker: EmbeddedBroker, topic_prefix: str, warehouse_url: str, tmp_path: Path,
        registry: pd.DataFrame) -> None:
    day = KnownDay(registry)
    with EventProducer(broker.bootstrap, topic_prefix) as producer:
        day.send(producer, topic_prefix)
    env = worker_env(broker, topic_prefix, warehouse_url, tmp_path)
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        worker.wait_caught_up()
        assert worker.stop() == 0

    warehouse = open_warehouse(warehouse_url)
    try:
        assert event_counts(warehouse) == {"checkin": 30, "checkout": 5, "incident": 7,
                                           "turnout": 60}
        assert event_counts(warehouse) == day.expected_kinds()
        assert rejected_counts(warehouse) == day.expected_rejected
        state = station_state(warehouse).set_index("station_id")
        assert int(state["covered"].sum()) == 25
        latest = state.loc[list(day.latest_ballots), "ballots"].to_dict()
        assert latest == day.latest_ballots
        assert_region_turnout_matches(region_turnout(state.reset_index()), registry,
                                      day.latest_ballots)
    finally:
        warehouse.close()
    assert rejected_topic_reasons(broker.bootstrap, f"{topic_prefix}.rejected") == \
        Counter(day.expected_rejected)


def assert_region_turnout_matches(regions: pd.DataFrame, registry: pd.DataFrame,
                                  latest: dict[str, int]) -> None:
    ballots = registry["station_id"].map(latest).fillna(0)
    expected = registry.assign(ballots=ballots).groupby("region_code").agg(
        registered=("registered_voters", "sum"), ballots=("ballots", "sum"))
    actual = regions.set_index("region_code")[["registered", "ballots"]]
    assert actual.to_dict() == expected.astype("int64").to_dict()


def test_events_resent_after_a_worker_restart_are_counted_once(
        broker: EmbeddedBroker, topic_prefix: str, warehouse_url: str, tmp_path: Path,
        registry: pd.DataFrame) -> None:
    day = KnownDay(registry)
    valid = day.messages[: day._valid_count()]
    half = len(valid) // 2
    env = worker_env(broker, topic_prefix, warehouse_url, tmp_path)
    with EventProducer(broker.bootstrap, topic_prefix) as producer:
        day.send(producer, topic_prefix, valid[:half])
        with WorkerProcess(env, tmp_path / "worker-1.log") as worker:
            worker.wait_caught_up()
            assert worker.stop() == 0
        # After the restart the worker remembers nothing: the whole first half comes again.
        day.send(producer, topic_prefix, valid)
        with WorkerProcess(env, tmp_path / "worker-2.log") as worker:
            worker.wait_caught_up()
            assert worker.stop() == 0

    warehouse = open_warehouse(warehouse_url)
    try:
        assert event_counts(warehouse) == day.expected_kinds()
        state = station_state(warehouse).set_index("station_id")
        assert state.loc[list(day.latest_ballots), "ballots"].to_dict() == day.latest_ballots
    finally:
        warehouse.close()
