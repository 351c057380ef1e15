"""`saylau infra init`, the real command, run twice against the broker and both warehouses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient

from saylau.kafka.broker import EmbeddedBroker
from saylau.kafka.topics import ensure_topics, topic_names
from saylau.warehouse.client import SCHEMA_PATH, open_warehouse
from tests.support.clickhouse_cluster import ClickHouseCluster

pytestmark = pytest.mark.timeout(300)

PARTITIONS = 5
RETENTION_MS = "-1"


def schema_objects() -> set[str]:
    """Every table and view saylau/warehouse/schema.sql creates, read from the file itself."""
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    return set(re.findall(r"CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS \$db\.(\w+)", text))


def infra_init(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "saylau", "infra", "init", *args],
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=180, check=False)


def lines_about(output: str, what: str) -> dict[str, str]:
    """{name: 'created' | 'exists'} from the command's `topic X: …` or `table X: …` lines."""
    return {m[1]: m[2] for m in re.finditer(rf"^{what} (\S+): (created|exists)", output, re.M)}


def describe(bootstrap: str, names: list[str]) -> dict[str, tuple[int, int]]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        return {topic["name"]: (len(topic["partitions"]),
                                max(len(p["replica_nodes"]) for p in topic["partitions"]))
                for topic in admin.describe_topics(names)}
    finally:
        admin.close()


@pytest.fixture
def init_env(broker: EmbeddedBroker, warehouse_url: str, tmp_path: Path) -> dict[str, str]:
    # No SAYLAU_KAFKA_BOOTSTRAP: the command must find the embedded broker by its port,
    # as it does after `saylau broker`.
    return {"SAYLAU_BROKER_PORT": str(broker.port), "SAYLAU_WAREHOUSE": warehouse_url,
            "SAYLAU_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:10]}",
            "SAYLAU_TOPIC_PARTITIONS": str(PARTITIONS), "SAYLAU_TOPIC_RETENTION_MS": RETENTION_MS,
            "SAYLAU_DATA_DIR": str(tmp_path / "data"), "SAYLAU_LOG_LEVEL": "warning"}


def test_init_twice_creates_everything_once_and_then_changes_nothing(
        broker: EmbeddedBroker, init_env: dict[str, str], warehouse_url: str) -> None:
    names = topic_names(init_env["SAYLAU_TOPIC_PREFIX"])
    tables = schema_objects()

    first = infra_init(init_env)
    assert first.returncode == 0, first.stderr
    assert lines_about(first.stdout, "topic") == dict.fromkeys(names, "created")
    database = open_warehouse(warehouse_url).database
    assert lines_about(first.stdout, "table") == {f"{database}.{t}": "created" for t in tables}
    assert f"{len(names) + len(tables)} created, 0 already existed" in first.stdout

    second = infra_init(init_env)
    assert second.returncode == 0, second.stderr
    assert lines_about(second.stdout, "topic") == dict.fromkeys(names, "exists")
    assert lines_about(second.stdout, "table") == {f"{database}.{t}": "exists" for t in tables}
    assert f"0 created, {len(names) + len(tables)} already existed" in second.stdout

    assert describe(broker.bootstrap, names) == dict.fromkeys(names, (PARTITIONS, 1))
    assert f"retention.ms={RETENTION_MS}" in second.stdout.splitlines()[0]
    warehouse = open_warehouse(warehouse_url)
    try:
        found = warehouse.query_df("SELECT name FROM system.tables WHERE database = {db:String}",
                                   {"db": warehouse.database})
    finally:
        warehouse.close()
    assert set(found["name"]) == tables


def test_an_existing_topic_is_reported_and_left_as_it_is(
        broker: EmbeddedBroker, init_env: dict[str, str]) -> None:
    names = topic_names(init_env["SAYLAU_TOPIC_PREFIX"])
    ensure_topics(broker.bootstrap, names[:1], partitions=2)

    result = infra_init(init_env)

    assert result.returncode == 0, result.stderr
    assert lines_about(result.stdout, "topic")[names[0]] == "exists"
    assert f"topic {names[0]} exists with partitions 2 (settings: {PARTITIONS})" in result.stderr
    assert describe(broker.bootstrap, names[:1]) == {names[0]: (2, 1)}
    assert "1 differ from the settings" in result.stdout


def test_an_unreachable_broker_is_a_clear_error(tmp_path: Path) -> None:
    from saylau.kafka.broker import free_port

    env = {"SAYLAU_KAFKA_BOOTSTRAP": f"127.0.0.1:{free_port()}",
           "SAYLAU_WAREHOUSE": f"chdb://{tmp_path}/warehouse", "SAYLAU_LOG_LEVEL": "error"}
    result = infra_init(env)
    assert result.returncode == 1
    assert "cannot prepare the topics on Kafka at 127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr


def test_start_up_creates_topics_with_the_configs_infra_init_uses(
        broker: EmbeddedBroker, tmp_path: Path) -> None:
    """Whoever creates a topic first (a worker starting, or `infra init`), it is the same."""
    from saylau.cli.runtime import prepare_topics, topic_configs
    from saylau.core.settings import Settings
    from saylau.kafka.topics import ensure_topics_described

    retention = "172800000"  # two days: not a default any broker would report by itself
    settings = Settings(topic_prefix=f"t{uuid.uuid4().hex[:10]}", topic_partitions=3,
                        topic_retention_ms=int(retention))
    names = topic_names(settings.topic_prefix)
    assert topic_configs(settings) == {"retention.ms": retention, "min.insync.replicas": "1"}

    created = prepare_topics(settings, broker.bootstrap)  # what the worker calls at start

    assert [(t.name, t.created, t.partitions) for t in created] == [(n, True, 3) for n in names]
    described = ensure_topics_described(broker.bootstrap, names, 3, 1, topic_configs(settings))
    assert not any(t.created for t in described)
    assert {t.name: t.configs.get("retention.ms") for t in described} == \
        dict.fromkeys(names, retention)
    result = infra_init({"SAYLAU_BROKER_PORT": str(broker.port),
                         "SAYLAU_TOPIC_PREFIX": settings.topic_prefix,
                         "SAYLAU_TOPIC_PARTITIONS": "3", "SAYLAU_TOPIC_RETENTION_MS": retention,
                         "SAYLAU_WAREHOUSE": f"chdb://{tmp_path}/warehouse",
                         "SAYLAU_DATA_DIR": str(tmp_path), "SAYLAU_LOG_LEVEL": "warning"})
    assert result.returncode == 0, result.stderr
    assert lines_about(result.stdout, "topic") == dict.fromkeys(names, "exists")
    assert "0 differ from the settings" in result.stdout
    assert all(f"retention.ms={retention}" in line for line in result.stdout.splitlines()
               if line.startswith("topic "))


def test_init_on_a_cluster_creates_replicated_and_distributed_tables_on_every_server(
        broker: EmbeddedBroker, clickhouse_cluster: ClickHouseCluster, tmp_path: Path) -> None:
    database = f"t_{uuid.uuid4().hex[:10]}"
    env = {"SAYLAU_BROKER_PORT": str(broker.port),
           "SAYLAU_WAREHOUSE": clickhouse_cluster.url(database),
           "SAYLAU_TOPIC_PREFIX": f"t{uuid.uuid4().hex[:10]}",
           "SAYLAU_DATA_DIR": str(tmp_path / "data"), "SAYLAU_LOG_LEVEL": "warning"}
    text = SCHEMA_PATH.read_text(encoding="utf-8")
    tables = set(re.findall(r"CREATE TABLE IF NOT EXISTS \$db\.(\w+)", text))
    views = schema_objects() - tables
    expected = tables | {f"{t}_local" for t in tables} | views

    first = infra_init(env)
    assert first.returncode == 0, first.stderr
    assert lines_about(first.stdout, "table") == {f"{database}.{t}": "created" for t in expected}
    second = infra_init(env)
    assert second.returncode == 0, second.stderr
    assert set(lines_about(second.stdout, "table").values()) == {"exists"}

    for server in clickhouse_cluster.all_servers:
        wh = open_warehouse(f"clickhouse://default@127.0.0.1:{server.tcp_port}/{database}")
        try:
            engines = dict(wh.query_df(
                "SELECT name, engine FROM system.tables WHERE database = {db:String}",
                {"db": database}).itertuples(index=False, name=None))
        finally:
            wh.close()
        assert set(engines) == expected
        assert {engines[t] for t in tables} == {"Distributed"}
        assert all(engines[f"{t}_local"].startswith("Replicated") for t in tables)
