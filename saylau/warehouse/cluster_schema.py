"""The warehouse schema for a ClickHouse cluster, made from the single-server schema.

Every table of ``schema.sql`` becomes two on each server: ``NAME_local``, the same columns in
the replicated twin of its engine (``ReplacingMergeTree`` → ``ReplicatedReplacingMergeTree``,
ZooKeeper path ``/clickhouse/tables/{shard}/DB/NAME``, replica ``{replica}``, both macros of
the server's configuration), and ``NAME``, a ``Distributed`` table over the cluster that
readers and writers use as before. Materialized views read and write the local tables, so a
shard's aggregates are made from that shard's events.

Rows are sharded by station (``cityHash64(station_id)``): a station's events, its resent
duplicates and its aggregates live on one shard, so FINAL, ``GROUP BY event_id`` and the
per-station states are exact on the shard and merge across shards as on one server.

Derived from the one schema file rather than kept as a second copy, so the two cannot drift.
ClickHouse 18.16 has no ``ON CLUSTER`` for every statement here: the caller runs the
statements on each server.
"""

from __future__ import annotations

import logging
import re

from saylau.warehouse.client import Warehouse, WarehouseError

log = logging.getLogger(__name__)

# Tables whose rows have no station_id, or whose station is named otherwise. The key only
# places inserted rows; tables filled by materialized views follow their event's shard.
SHARDING_KEYS = {
    "rejected": "cityHash64(source_topic, source_partition, source_offset)",
    "assignment_times": "cityHash64(target_station_id)",
    "incident_times": "cityHash64(region_code)",
    "incidents_15m": "cityHash64(region_code)",
    "incident_reviews": "cityHash64(incident_id)",
}
DEFAULT_KEY = "cityHash64(station_id)"
LOCAL = "_local"

_TABLE = re.compile(r"^CREATE TABLE IF NOT EXISTS \$db\.(\w+)\s*\(", re.S)
_ENGINE = re.compile(r"ENGINE = (\w*MergeTree)\(([^)]*)\)")
_VIEW = re.compile(r"^CREATE MATERIALIZED VIEW IF NOT EXISTS \$db\.(\w+) TO \$db\.(\w+) AS", re.S)
_SOURCE = re.compile(r"\bFROM \$db\.(\w+)")
_INSERT = re.compile(r"^INSERT INTO \$db\.(\w+)", re.S)


def replicated_engine(engine: str, arguments: str, table: str) -> str:
    """``ReplacingMergeTree(version)`` → its replicated twin with ZooKeeper path and replica.

    The path holds the database name, so databases on one cluster never share a log.
    """
    path = "'/clickhouse/tables/{shard}/$db/" + table + "', '{replica}'"
    extra = f", {arguments.strip()}" if arguments.strip() else ""
    return f"ENGINE = Replicated{engine}({path}{extra})"


def cluster_statements(statements: list[str], cluster: str) -> list[str]:
    """The single-server schema's statements, rewritten for ``cluster`` (run on each server)."""
    rewritten: list[str] = []
    for statement in statements:
        rewritten.extend(_rewrite(statement, cluster))
    return rewritten


def _rewrite(statement: str, cluster: str) -> list[str]:
    if table := _TABLE.match(statement):
        name = table.group(1)
        engine = _ENGINE.search(statement)
        if engine is None:
            raise ValueError(f"table {name} has no MergeTree engine to replicate")
        local = statement.replace(f"$db.{name}", f"$db.{name}{LOCAL}", 1)
        local = _ENGINE.sub(replicated_engine(engine.group(1), engine.group(2), name), local)
        key = SHARDING_KEYS.get(name, DEFAULT_KEY)
        distributed = (f"CREATE TABLE IF NOT EXISTS $db.{name} AS $db.{name}{LOCAL} "
                       f"ENGINE = Distributed({cluster}, $db, {name}{LOCAL}, {key})")
        return [local, distributed]
    if view := _VIEW.match(statement):
        body = statement.replace(f"TO $db.{view.group(2)} AS", f"TO $db.{view.group(2)}{LOCAL} AS")
        return [_SOURCE.sub(lambda m: f"FROM $db.{m.group(1)}{LOCAL}", body)]
    if _INSERT.match(statement):
        # A back-fill: each shard fills its local table from its local archive.
        body = _INSERT.sub(lambda m: f"INSERT INTO $db.{m.group(1)}{LOCAL}", statement)
        return [_SOURCE.sub(lambda m: f"FROM $db.{m.group(1)}{LOCAL}", body)]
    return [statement]  # CREATE DATABASE


def create_cluster_schema(wh: Warehouse, statements: list[str], cluster: str) -> None:
    """Run the cluster's schema on each of its servers.

    A server that cannot be reached is passed over (with a warning) only when the schema
    exists already and another replica of its shard took the statements: a worker or
    dashboard restarted while a replica is down must start. New tables need every server.
    """
    from saylau.warehouse.server_engine import ServerWarehouse, replica_lost

    if not isinstance(wh, ServerWarehouse):
        raise WarehouseError("a cluster needs ClickHouse servers: clickhouse://…?cluster=NAME")
    existed = not wh.query_df(EXISTING_SCHEMA, {"db": wh.database}).empty
    rewritten = cluster_statements(statements, cluster)
    prepared: set[int] = set()
    unreachable: list[tuple[int, WarehouseError]] = []
    for shard, server in wh.cluster_servers():
        try:
            for statement in rewritten:
                server.command(statement)
            prepared.add(shard)
        except WarehouseError as error:
            if error.__cause__ is None or not replica_lost(error.__cause__):
                raise
            unreachable.append((shard, error))
        finally:
            server.close()
    for shard, failure in unreachable:
        if not existed or shard not in prepared:
            raise WarehouseError(f"the cluster schema needs every server: {failure}") from failure
        log.warning("cluster schema: passed over a server that is down (%s); its tables "
                    "exist and its shard's other replica is current", failure)


# The schema existed before this run: the archive's local table is there.
EXISTING_SCHEMA = ("SELECT name FROM system.tables WHERE database = {db:String} "
                   "AND name = 'events_local'")
