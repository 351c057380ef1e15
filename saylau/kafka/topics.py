"""Create Saylau's topics. The embedded broker never creates a topic on first use."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from saylau.core.contract import ALERTS_TOPIC, INTAKE_TOPICS, REJECTED_TOPIC
from saylau.core.settings import Settings

log = logging.getLogger(__name__)


def topic_names(prefix: str = "saylau") -> list[str]:
    return [f"{prefix}.{suffix}" for suffix in (*INTAKE_TOPICS, REJECTED_TOPIC, ALERTS_TOPIC)]


@dataclass(frozen=True)
class TopicState:
    """A topic as the cluster describes it, and whether this call created it."""

    name: str
    partitions: int
    replication: int
    created: bool
    configs: Mapping[str, str] = field(default_factory=dict)

    def differences(self, partitions: int, replication: int) -> list[str]:
        """What an existing topic has other than what the settings ask for."""
        found = []
        if self.partitions != partitions:
            found.append(f"partitions {self.partitions} (settings: {partitions})")
        if self.replication != replication:
            found.append(f"replication {self.replication} (settings: {replication})")
        return found


def ensure_topics(bootstrap: str, names: list[str], partitions: int,
                  replication: int = 1, configs: Mapping[str, str] | None = None) -> list[str]:
    """Create the topics that are missing; returns the names it created. Idempotent."""
    return [state.name for state in
            ensure_topics_described(bootstrap, names, partitions, replication, configs)
            if state.created]


def ensure_topics_described(bootstrap: str, names: list[str], partitions: int,
                            replication: int = 1,
                            configs: Mapping[str, str] | None = None) -> list[TopicState]:
    """Create the missing topics (with ``configs``, e.g. retention.ms) and describe all.

    An existing topic is left as it is, even if it differs: adding partitions in the
    middle of a day would move stations (keys) to other partitions.
    """
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="saylau-admin",
                             request_timeout_ms=15_000)
    try:
        existing = set(admin.list_topics())
        created = set()
        for name in names:
            if name in existing:
                continue
            try:
                admin.create_topics([NewTopic(name, partitions, replication,
                                              topic_configs=dict(configs or {}))])
                created.add(name)
            except TopicAlreadyExistsError:
                continue  # another process created it meanwhile: fine
        if created:
            log.info("created topics %s", ", ".join(sorted(created)))
        found = _configs(admin, names, list(configs or {}))
        return [_state(described, described["name"] in created, found.get(described["name"]))
                for described in admin.describe_topics(names)]
    finally:
        admin.close()


def _state(described: Mapping[str, object], created: bool,
           configs: Mapping[str, str] | None) -> TopicState:
    partitions = described["partitions"]
    assert isinstance(partitions, list)
    replication = max((len(p["replica_nodes"]) for p in partitions), default=0)
    return TopicState(str(described["name"]), len(partitions), replication, created,
                      dict(configs or {}))


def _configs(admin: KafkaAdminClient, names: list[str],
             keys: list[str]) -> dict[str, dict[str, str]]:
    """The values of ``keys`` each topic reports (the embedded broker reports none)."""
    if not keys:
        return {}
    # Ask for every config and pick ours: the embedded broker drops the connection when
    # asked for named keys.
    resources = [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    answer = admin.describe_configs(resources, config_filter="all").get("topic", {})
    return {name: {key: str(data["value"] if isinstance(data, Mapping) else data)
                   for key, data in (answer.get(name) or {}).items() if key in keys}
            for name in names}


def prepare_topics(settings: Settings, bootstrap: str) -> list[TopicState]:
    """Create the missing topics as the settings say and describe all of them.

    The one way topics are made: at start-up (broker, worker, gateway, `saylau up`) and by
    `saylau infra init`, so a topic has the same retention and min.insync.replicas
    whichever process happened to create it first.
    """
    return ensure_topics_described(bootstrap, topic_names(settings.topic_prefix),
                                   settings.topic_partitions, settings.topic_replication,
                                   topic_configs(settings))


def topic_configs(settings: Settings) -> dict[str, str]:
    """Per-topic configs: the archive must not depend on the brokers' defaults."""
    return {"retention.ms": str(settings.topic_retention_ms),
            "min.insync.replicas": str(settings.topic_min_insync_replicas)}
