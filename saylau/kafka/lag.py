"""Consumer lag of a group: how many messages it has not yet committed."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition


class LagProbe:
    """Reads a group's lag repeatedly over one connection (a new client per reading costs
    more than the reading). The probe names the group only to fetch its offsets: it never
    subscribes, so it never joins the group or disturbs its members."""

    def __init__(self, bootstrap: str, group: str, topics: list[str]) -> None:
        # Short timeouts: a status page or a scrape must say "Kafka is down" within
        # seconds, not hang for kafka-python's defaults (30 s to bootstrap, 5 min a request).
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                       enable_auto_commit=False, client_id="saylau-lag",
                                       bootstrap_timeout_ms=5_000, request_timeout_ms=10_000)
        self._topics = topics

    def lag(self) -> int:
        return sum(self.lag_by_partition().values())

    def lag_by_partition(self) -> dict[tuple[str, int], int]:
        """{(topic, partition): messages past the group's committed offset}."""
        partitions = [TopicPartition(topic, p) for topic in self._topics
                      for p in sorted(self._consumer.partitions_for_topic(topic) or ())]
        ends = self._consumer.end_offsets(partitions)
        return {(tp.topic, tp.partition): max(ends[tp] - (self._consumer.committed(tp) or 0), 0)
                for tp in partitions}

    def close(self) -> None:
        self._consumer.close(autocommit=False)

    def __enter__(self) -> LagProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def consumer_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Messages in ``topics`` past the group's committed offsets (all of them if none)."""
    with LagProbe(bootstrap, group, topics) as probe:
        return probe.lag()
