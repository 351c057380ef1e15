"""Read back what reached Kafka, to check what the gateway sent (and what it never sent)."""

from __future__ import annotations

import json

from kafka import KafkaConsumer, TopicPartition

from saylau.core.contract import EVENT_TOPICS


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
