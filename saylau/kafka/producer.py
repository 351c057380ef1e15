"""Send events to Kafka with kafka-python, keyed by station_id (one station, one partition)."""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from saylau.core.contract import Event, event_to_json, topic_for


def reliable_producer(bootstrap: str, client_id: str, **overrides: Any) -> KafkaProducer:
    """The one way Saylau makes a Kafka producer. acks="all": a report counts as sent only
    once the broker has it; each user may tune batching and timeouts (`overrides`)."""
    options: dict[str, Any] = {"acks": "all", "linger_ms": 5, "retries": 5, **overrides}
    return KafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, **options)


class EventProducer:
    def __init__(self, bootstrap: str, prefix: str = "saylau") -> None:
        self.prefix = prefix
        self._producer = reliable_producer(bootstrap, "saylau-producer")

    def send(self, event: Event) -> None:
        self.send_raw(topic_for(event.kind, self.prefix), event.station_id,
                      event_to_json(event).encode("utf-8"))

    def send_raw(self, topic: str, key: str, value: bytes) -> FutureRecordMetadata:
        """Send bytes as they are: also how tests and the simulator inject malformed input,
        and how the worker publishes rejects and alerts. The future tells of delivery."""
        return self._producer.send(topic, key=key.encode("utf-8"), value=value)

    def flush(self, timeout: float = 30.0) -> None:
        self._producer.flush(timeout)

    def close(self) -> None:
        self._producer.close(timeout=10)

    def __enter__(self) -> EventProducer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()
        self.close()
