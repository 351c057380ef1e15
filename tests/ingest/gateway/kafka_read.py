"""Read back what reached Kafka, to check what the gateway sent (and what it never sent)."""

from __future__ import annotations

import json

from kafka import KafkaConsumer, TopicPartition

from saylau.core.contract import EVENT_TOPICS, REFUSED_TOPIC


def event_ids_in_kafka(bootstrap: str, prefix: str, timeout_ms: int = 1500) -> list[str]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=timeout_ms,
                             auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        partitions = [TopicPartition(f"{prefix}.{name}", p) for name in EVENT_TOPICS
                      for p in consumer.partitions_for_topic(f"{prefix}.{name}") or ()]
        consumer.assign(partitions)
        return [json.loads(record.value)["event_id"] for record in consumer]
    finally:
        consumer.close()


def refused_in_kafka(bootstrap: str, prefix: str, timeout_ms: int = 1500) -> list[dict]:
    """The gateway's envelopes of malformed messages (saylau/core/refused.py)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=timeout_ms,
                             auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        topic = f"{prefix}.{REFUSED_TOPIC}"
        consumer.assign([TopicPartition(topic, p)
                         for p in consumer.partitions_for_topic(topic) or ()])
        return [json.loads(record.value) for record in consumer]
    finally:
        consumer.close()
