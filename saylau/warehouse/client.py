"""One warehouse interface, two engines: embedded chDB and ClickHouse server.

Query text is shared by both engines. It names the database as ``$db`` and binds every
value as a ClickHouse query parameter ``{name:Type}``; values are never formatted into SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

import pandas as pd

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SCHEMA_PATH = Path(__file__).with_name("schema.sql")
Row = Mapping[str, Any]


@dataclass(frozen=True)
class QueryLimits:
    """Per-query limits of a connection, as ClickHouse settings: ``saylau sql`` runs what
    somebody typed, and one careless query must not hold the warehouse's cores or memory
    on election night."""

    seconds: int
    memory_bytes: int

    def settings(self) -> dict[str, int]:
        return {"max_execution_time": self.seconds, "max_memory_usage": self.memory_bytes}


class WarehouseError(RuntimeError):
    """A warehouse operation failed; the message says which and why."""


class Warehouse(Protocol):
    """What the rest of Saylau may ask of a warehouse, whatever the engine."""

    database: str
    url: str

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame: ...

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> int: ...

    def reader(self) -> Warehouse: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class WarehouseUrl:
    engine: str  # "chdb" or "clickhouse"
    path: str = ""
    host: str = ""
    port: int = 9000
    user: str = "default"
    database: str = "saylau"
    # A ClickHouse cluster (``?cluster=NAME``): the schema becomes replicated tables under
    # Distributed ones. ``?alt_hosts=h:p,h:p``: the driver moves to the next when one fails.
    cluster: str = ""
    alt_hosts: tuple[str, ...] = ()


def parse_warehouse_url(url: str) -> WarehouseUrl:
    """``chdb://DIR[?db=NAME]`` or ``clickhouse://[user@]host[:port][/database]`` with, for a
    cluster, ``?cluster=NAME&alt_hosts=host:port,host:port``."""
    parsed = urlparse(url)
    if parsed.scheme == "chdb":
        path = unquote(parsed.netloc + parsed.path)
        if not path:
            raise WarehouseError(f"warehouse URL {url!r} names no directory: chdb://DIR")
        database = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part)
        return WarehouseUrl("chdb", path=path, database=_identifier(database.get("db", "saylau")))
    if parsed.scheme == "clickhouse":
        if parsed.password is not None:
            # Refused, not ignored: URLs end up in logs and process lists, passwords must not.
            raise WarehouseError("the warehouse URL holds a password: remove it from the URL "
                                 "and set SAYLAU_CLICKHOUSE_PASSWORD instead")
        if not parsed.hostname:
            raise WarehouseError(f"warehouse URL {url!r} names no host")
        try:
            port = parsed.port or 9000
        except ValueError as error:
            raise WarehouseError(f"warehouse URL names an invalid port: {error}") from error
        options = _query_options(parsed.query)
        cluster = options.get("cluster", "")
        return WarehouseUrl("clickhouse", host=parsed.hostname, port=port,
                            user=unquote(parsed.username or "default"),
                            database=_identifier(parsed.path.strip("/") or "saylau"),
                            cluster=_identifier(cluster) if cluster else "",
                            alt_hosts=_alt_hosts(options.get("alt_hosts", "")))
    raise WarehouseError(
        f"warehouse URL {url!r}: use chdb://DIR or clickhouse://[user@]host:port/database")


def _query_options(query: str) -> dict[str, str]:
    return {key: unquote(value) for key, _, value in
            (part.partition("=") for part in query.split("&") if part)}


HOST_PORT = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")


def _alt_hosts(text: str) -> tuple[str, ...]:
    hosts = tuple(host.strip() for host in text.split(",") if host.strip())
    for host in hosts:
        if not HOST_PORT.match(host):
            raise WarehouseError(f"alt_hosts: {host!r} is not host[:port]")
    return hosts


def _identifier(name: str) -> str:
    if not IDENTIFIER.match(name):
        raise WarehouseError(f"{name!r} is not a valid name (letters, digits and _)")
    return name


def with_database(sql: str, database: str) -> str:
    """Put the (validated) database name where the query text says ``$db``."""
    return sql.replace("$db", _identifier(database))


def split_statements(script: str) -> list[str]:
    """The statements of a SQL script, ``--`` comments dropped.

    Only for our own schema file, whose string literals hold no ``--`` and no ``;``.
    """
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


def open_warehouse(url: str, password: str = "", *, read_only: bool = False,
                   limits: QueryLimits | None = None) -> Warehouse:
    """Open the warehouse a URL names. Imports the engine only when it is used.

    ``read_only`` puts the connection in ClickHouse's ``readonly=1`` before it runs anything:
    no statement on it can write or change a setting (``saylau sql``), so ``limits`` set
    with it cannot be lifted by a query's own ``SETTINGS``. The worker and the dashboard
    keep their normal connections.
    """
    spec = parse_warehouse_url(url)
    if spec.engine == "chdb":
        from saylau.warehouse.chdb_engine import ChdbWarehouse

        return ChdbWarehouse(spec, url, read_only=read_only, limits=limits)
    from saylau.warehouse.server_engine import ServerWarehouse

    return ServerWarehouse(spec, url, password, read_only=read_only, limits=limits)


def create_schema(wh: Warehouse) -> None:
    statements = split_statements(SCHEMA_PATH.read_text(encoding="utf-8"))
    cluster = parse_warehouse_url(wh.url).cluster
    if cluster:
        from saylau.warehouse.cluster_schema import create_cluster_schema

        create_cluster_schema(wh, statements, cluster)
        return
    for statement in statements:
        wh.command(statement)


def insert_in_chunks(wh: Warehouse, table: str, columns: Sequence[str],
                     rows: Iterable[Row], chunk: int = 50_000) -> int:
    written, buffer = 0, []
    for row in rows:
        buffer.append(row)
        if len(buffer) >= chunk:
            written += wh.insert_rows(table, columns, buffer)
            buffer = []
    if buffer:
        written += wh.insert_rows(table, columns, buffer)
    return written
