"""`saylau infra init`: create the topics and the warehouse schema, idempotently.

The same command prepares the embedded broker (started by `saylau broker`) and chDB, or a
Kafka cluster and a ClickHouse server: it creates what is missing, leaves what exists
as it is, and prints which was which, so running it twice changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from kafka.errors import KafkaError

from saylau.core.settings import Settings
from saylau.kafka.topics import TopicState
from saylau.warehouse.client import Warehouse, WarehouseError, create_schema, open_warehouse

TABLES_SQL = "SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name"


def add_infra_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    from saylau.cli.stations import _settings_options  # the same options before or after ACTION

    infra = commands.add_parser("infra", help="prepare Kafka topics and the warehouse schema")
    common(infra)
    actions = infra.add_subparsers(dest="infra_command", required=True, metavar="ACTION")
    init = actions.add_parser(
        "init", help="create the topics (partitions, replication, retention) and the "
                     "warehouse schema; idempotent, prints what it created and what existed")
    _settings_options(init, common)
    init.add_argument("--partitions", dest="topic_partitions", type=int,
                      help="partitions of each new topic (SAYLAU_TOPIC_PARTITIONS)")
    init.add_argument("--replication", dest="topic_replication", type=int,
                      help="replicas of each new topic (SAYLAU_TOPIC_REPLICATION)")


def run_infra(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.runtime import prepare_topics  # the same topics the start-up path makes

    if settings.topic_min_insync_replicas > settings.topic_replication:
        print(f"saylau infra init: SAYLAU_TOPIC_MIN_INSYNC_REPLICAS "
              f"({settings.topic_min_insync_replicas}) exceeds SAYLAU_TOPIC_REPLICATION "
              f"({settings.topic_replication}): no write could ever succeed", file=sys.stderr)
        return 2
    bootstrap = settings.kafka_address
    try:
        topics = prepare_topics(settings, bootstrap)
    except KafkaError as error:
        print(f"saylau infra init: cannot prepare the topics on Kafka at {bootstrap}: "
              f"{type(error).__name__} (is the broker running? `saylau broker` starts the "
              f"embedded one)", file=sys.stderr)
        return 1
    warnings = report_topics(topics, settings)
    try:
        tables = prepare_schema(settings)
    except WarehouseError as error:
        print(f"saylau infra init: cannot prepare the warehouse: {error}", file=sys.stderr)
        return 1
    for name, is_new in tables:
        print(f"table {name}: {'created' if is_new else 'exists'}")
    created = sum(t.created for t in topics) + sum(is_new for _, is_new in tables)
    existed = len(topics) + len(tables) - created
    print(f"infra init: {created} created, {existed} already existed, "
          f"{warnings} differ from the settings")
    return 0


def report_topics(topics: list[TopicState], settings: Settings) -> int:
    """Print one line per topic; returns how many existing topics differ from the settings."""
    differing = 0
    for topic in topics:
        configs = "".join(f", {key}={value}" for key, value in sorted(topic.configs.items()))
        print(f"topic {topic.name}: {'created' if topic.created else 'exists'} "
              f"(partitions={topic.partitions}, replication={topic.replication}{configs})")
        differences = topic.differences(settings.topic_partitions, settings.topic_replication)
        if differences and not topic.created:
            differing += 1
            print(f"saylau infra init: topic {topic.name} exists with "
                  f"{', '.join(differences)}; left as it is (changing partitions would move "
                  f"stations to other partitions)", file=sys.stderr)
    return differing


def prepare_schema(settings: Settings) -> list[tuple[str, bool]]:
    """Run the (idempotent) schema; returns each table or view and whether it is new."""
    warehouse = open_warehouse(settings.warehouse,
                               settings.clickhouse_password.get_secret_value())
    try:
        before = existing_tables(warehouse)
        create_schema(warehouse)
        after = existing_tables(warehouse)
    finally:
        warehouse.close()
    return [(f"{warehouse.database}.{name}", name not in before) for name in after]


def existing_tables(warehouse: Warehouse) -> list[str]:
    frame = warehouse.query_df(TABLES_SQL, {"db": warehouse.database})
    return [str(name) for name in frame["name"]]
