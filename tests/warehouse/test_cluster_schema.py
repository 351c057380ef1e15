"""The cluster schema is the single-server schema, table for table, replicated and sharded."""

import re

from saylau.warehouse.client import SCHEMA_PATH, split_statements
from saylau.warehouse.cluster_schema import cluster_statements, replicated_engine

STATEMENTS = split_statements(SCHEMA_PATH.read_text(encoding="utf-8"))
CLUSTER = cluster_statements(STATEMENTS, "saylau")


def created(statements: list[str], what: str) -> list[str]:
    return re.findall(rf"CREATE {what} IF NOT EXISTS \$db\.(\w+)", "\n".join(statements))


def test_each_table_becomes_a_replicated_local_table_and_a_distributed_one():
    tables = created(STATEMENTS, "TABLE")
    assert created(CLUSTER, "TABLE") == [n for t in tables for n in (f"{t}_local", t)]
    distributed = [s for s in CLUSTER if "ENGINE = Distributed" in s]
    assert len(distributed) == len(tables)
    assert all("ENGINE = Replicated" in s for s in CLUSTER if re.search(r"\w+_local \(", s))


def test_events_are_sharded_by_station():
    events = next(s for s in CLUSTER if s.startswith("CREATE TABLE IF NOT EXISTS $db.events "))
    assert events.endswith("ENGINE = Distributed(saylau, $db, events_local, "
                           "cityHash64(station_id))")


def test_views_read_and_write_local_tables_only():
    views = [s for s in CLUSTER if s.startswith("CREATE MATERIALIZED VIEW")]
    assert len(views) == len(created(STATEMENTS, "MATERIALIZED VIEW"))
    for view in views:
        assert re.findall(r"(?:TO|FROM) \$db\.(\w+)", view)
        assert all(name.endswith("_local") for name in re.findall(r"(?:TO|FROM) \$db\.(\w+)",
                                                                  view)), view


def test_back_fills_fill_each_shards_local_tables_from_its_local_archive():
    fills = [s for s in CLUSTER if s.startswith("INSERT")]
    assert len(fills) == sum(s.startswith("INSERT") for s in STATEMENTS)
    for fill in fills:
        assert all(n.endswith("_local") for n in re.findall(r"(?:INTO|FROM) \$db\.(\w+)", fill))


def test_engine_arguments_follow_the_zookeeper_path_and_replica():
    assert replicated_engine("ReplacingMergeTree", "version", "alerts") == (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/$db/alerts', "
        "'{replica}', version)")
    assert replicated_engine("AggregatingMergeTree", "", "t") == (
        "ENGINE = ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/$db/t', "
        "'{replica}')")


def test_every_table_that_feeds_a_view_is_inserted_without_deduplication():
    """18.16 skips the views of a block dropped as a duplicate (see server_engine.py)."""
    from saylau.warehouse.server_engine import VIEW_SOURCES

    views = [s for s in STATEMENTS if s.startswith("CREATE MATERIALIZED VIEW")]
    sources = {name for view in views for name in re.findall(r"FROM \$db\.(\w+)", view)}
    assert sources == VIEW_SOURCES
