"""Consumer lag of a group: how many messages it has not yet committed."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition


def consumer_lag(bootstrap: str, group: str, topics: list[str]) -> int:
    """Messages in ``topics`` past the group's committed offsets (all of them if none).

    The consumer names the group only to fetch its offsets: it never subscribes, so it
    never joins the group or disturbs its members.
    """
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                             enable_auto_commit=False, client_id="saylau-lag")
    try:
        partitions = [TopicPartition(topic, p) for topic in topics
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(partitions)
        return sum(max(ends[tp] - (consumer.committed(tp) or 0), 0) for tp in partitions)
    finally:
        consumer.close(autocommit=False)
