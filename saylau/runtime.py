"""Start-up steps shared by the commands: registry, warehouse, topics, logging."""

from __future__ import annotations

import logging
import sys

import pandas as pd

from geo.registry import registry_path_or_generate
from infra.topics import TopicState, ensure_topics_described, topic_names
from saylau.settings import Settings
from streams.validation import station_index

__all__ = ["configure_logging", "load_registry", "open_prepared_warehouse", "prepare_topics",
           "station_index", "topic_configs"]
from warehouse.client import Warehouse, create_schema, open_warehouse
from warehouse.queries import load_stations

log = logging.getLogger("saylau")


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("kafka", "aiokafka", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def load_registry(settings: Settings) -> pd.DataFrame:
    registry = registry_path_or_generate(settings.registry_path, settings.registry_stations,
                                         settings.registry_seed)
    log.info("station registry: %d stations, %d registered voters (%s)", len(registry),
             int(registry["registered_voters"].sum()), settings.registry_path)
    return registry


def open_prepared_warehouse(settings: Settings, registry: pd.DataFrame) -> Warehouse:
    """Open the warehouse, create the schema if needed and load the station registry."""
    warehouse = open_warehouse(settings.warehouse,
                               settings.clickhouse_password.get_secret_value())
    create_schema(warehouse)
    load_stations(warehouse, registry)
    return warehouse


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
