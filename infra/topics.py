"""Create Saylau's topics. The embedded broker never creates a topic on first use."""

from __future__ import annotations

import logging

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from ingest.contract import ALERTS_TOPIC, EVENT_TOPICS, REJECTED_TOPIC

log = logging.getLogger(__name__)


def topic_names(prefix: str = "saylau") -> list[str]:
    return [f"{prefix}.{suffix}" for suffix in (*EVENT_TOPICS, REJECTED_TOPIC, ALERTS_TOPIC)]


def ensure_topics(bootstrap: str, names: list[str], partitions: int,
                  replication: int = 1) -> list[str]:
    """Create the topics that are missing; returns the names it created. Idempotent."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="saylau-admin",
                             request_timeout_ms=15_000)
    try:
        missing = [name for name in names if name not in set(admin.list_topics())]
        for name in missing:
            try:
                admin.create_topics([NewTopic(name, partitions, replication)])
            except TopicAlreadyExistsError:
                continue  # another process created it meanwhile: fine
        if missing:
            log.info("created topics %s", ", ".join(missing))
        return missing
    finally:
        admin.close()
