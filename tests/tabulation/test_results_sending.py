"""The results import's sender (saylau/kafka/batches.py): every message acknowledged, on
the partition kafka-python's EventProducer would have chosen for its key."""

from __future__ import annotations

import datetime as dt

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner import DefaultPartitioner

from saylau.ingest.results import events
from saylau.kafka.batches import partition_for, send_keyed
from saylau.kafka.broker import EmbeddedBroker


class OneTopic:
    """The two questions kafka-python's partitioner asks of the cluster's metadata."""

    def __init__(self, count: int) -> None:
        self.partitions = set(range(count))

    def topics(self) -> set[str]:
        return {"t"}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self.partitions


def test_keys_go_where_kafka_python_s_default_partitioner_puts_them() -> None:
    partitioner = DefaultPartitioner()
    for count in (1, 3, 4, 7):
        cluster = OneTopic(count)
        for number in range(300):
            key = f"KAZ{number % 20:03d}-{number:04d}".encode()
            assert partition_for(key, list(range(count))) == partitioner.partition(
                "t", key, key, b"", b"", cluster)


@pytest.mark.broker
@pytest.mark.timeout(120)
def test_every_message_is_acknowledged_and_on_its_key_s_partition(
        broker: EmbeddedBroker, topic_prefix: str) -> None:
    topic = f"{topic_prefix}.protocols"
    messages = [(f"S-{n % 50}".encode(), f'{{"n":{n}}}'.encode()) for n in range(5_000)]
    acknowledged: list[int] = []
    assert send_keyed(broker.bootstrap, topic, messages, acknowledged.append) == 5_000
    assert sum(acknowledged) == 5_000
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, consumer_timeout_ms=3000,
                             auto_offset_reset="earliest")
    partitions = sorted(consumer.partitions_for_topic(topic))
    consumer.assign([TopicPartition(topic, p) for p in partitions])
    received = [(record.partition, record.key, record.value) for record in consumer]
    consumer.close()
    assert sorted(v for _, _, v in received) == sorted(v for _, v in messages)
    assert all(p == partition_for(k, partitions) for p, k, _ in received)
    # a station's messages in the order sent
    first = [v for _, k, v in received if k == b"S-7"]
    assert first == [v for k, v in messages if k == b"S-7"]


def test_a_template_that_drifted_from_the_contract_stops_the_import(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import pandas as pd

    from saylau.ingest.results.table import key, number_targets

    options = ["amanat", "against_all"]
    row = {"station_id": "A-1", **{key(t): 1 for t in number_targets(options)}}
    row["registered"] = row["ballots_received"] = row["ballots_issued"] = 5
    row["ballots_cast"] = 3
    identity = events.Identity("pub-1", "cec-import",
                               dt.datetime(2026, 3, 15, 22, tzinfo=dt.UTC))
    assert len(events.protocol_messages(pd.DataFrame([row]), options, identity)) == 1
    monkeypatch.setattr(events, "_canonical_time", lambda moment: moment.isoformat())
    with pytest.raises(RuntimeError, match="no longer matches the event contract"):
        events.protocol_messages(pd.DataFrame([row]), options, identity)
