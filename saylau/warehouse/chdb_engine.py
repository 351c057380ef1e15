"""The embedded engine: chDB (ClickHouse in-process), data in a directory.

Only one process may open a directory; inside it, several connections work from
different threads, so ``reader()`` gives each consumer (dashboard, exporter) its own.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import chdb
import pandas as pd
import pyarrow as pa

from saylau.warehouse.client import QueryLimits, Row, WarehouseError, WarehouseUrl, with_database


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    raise TypeError(f"cannot store {type(value).__name__}")


def _param_value(value: Any) -> Any:
    """A value in the text form ClickHouse parses for a typed ``{name:Type}`` parameter."""
    if isinstance(value, dt.datetime):
        return _json_value(value)
    if isinstance(value, list | tuple):  # Array(T): quoted elements, parsed as data
        return "[" + ",".join(_quoted(item) for item in value) + "]"
    return value


def _quoted(item: Any) -> str:
    if isinstance(item, str):
        return "'" + item.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(_param_value(item))


def rows_table(columns: Sequence[str], rows: Sequence[Row]) -> pa.Table:
    """Rows as an Arrow table, which chDB reads in place. Times become UTC timestamps,
    which chDB stores unchanged in DateTime('UTC') (a time without zone is taken as UTC)."""
    return pa.table({column: _arrow_column([row[column] for row in rows])
                     for column in columns})


def _arrow_column(values: list[Any]) -> pa.Array:
    if isinstance(values[0], dt.datetime):
        return pa.array(values, type=pa.timestamp("s", tz="UTC"))
    array = pa.array(values)
    if pa.types.is_list(array.type) and pa.types.is_null(array.type.value_type):
        return array.cast(pa.list_(pa.string()))  # only empty lists: no element type to infer
    return array


class ChdbWarehouse:
    def __init__(self, spec: WarehouseUrl, url: str, *, read_only: bool = False,
                 limits: QueryLimits | None = None) -> None:
        self.url = url
        self.database = spec.database
        self._spec = spec
        self._read_only = read_only
        self._limits = limits
        Path(spec.path).mkdir(parents=True, exist_ok=True)
        # Keep the connection itself referenced: its cursor alone does not keep it open.
        self._conn = chdb.connect(str(Path(spec.path).resolve()))
        self._lock = threading.Lock()  # one statement at a time per connection
        if limits is not None:
            self._set_limits(limits)  # before readonly=1, which forbids SET
        if read_only:
            self._make_read_only()

    def _set_limits(self, limits: QueryLimits) -> None:
        try:
            for name, value in limits.settings().items():
                self._conn.query(f"SET {name} = {int(value)}")
        except Exception as exc:
            self._conn.close()
            raise WarehouseError(f"chDB: cannot set the query limits: {exc}") from exc

    def _make_read_only(self) -> None:
        """``readonly=1`` for this connection's session, before anything else runs on it.

        A session setting, not a per-query ``SETTINGS readonly=1``: chDB runs every statement
        of a multi-statement text, and a per-query setting would cover only the first. Once
        set, no statement can write, create, or set anything, ``readonly`` included.
        """
        try:
            self._conn.query("SET readonly = 1")
            setting = str(self._conn.query("SELECT getSetting('readonly')", "CSV")).strip()
        except Exception as exc:
            self._conn.close()
            raise WarehouseError(f"chDB: cannot make the connection read-only: {exc}") from exc
        if setting != "1":  # fail closed: never hand out a connection that can still write
            self._conn.close()
            raise WarehouseError(f"chDB: the connection is not read-only (readonly={setting})")

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params, "CSV")

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        return self._run(sql, params, "DataFrame")

    def _run(self, sql: str, params: Mapping[str, Any] | None, fmt: str) -> Any:
        bound = {key: _param_value(value) for key, value in (params or {}).items()}
        with self._lock:
            try:
                return self._conn.query(with_database(sql, self.database), fmt, params=bound)
            except Exception as exc:  # chDB raises its own error types; keep the message
                raise WarehouseError(f"chDB: {exc}") from exc

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> int:
        if not rows:
            return 0
        statement = with_database(f"INSERT INTO $db.{table} ({', '.join(columns)})",
                                  self.database)
        try:
            arrow = rows_table(columns, rows)  # noqa: F841 - read by name by Python(arrow)
            with self._lock:
                self._conn.query(f"{statement} SELECT {', '.join(columns)} FROM Python(arrow)")
        except Exception as exc:
            raise WarehouseError(f"chDB insert into {table}: {exc}") from exc
        return len(rows)

    def reader(self) -> ChdbWarehouse:
        return ChdbWarehouse(self._spec, self.url, read_only=self._read_only,
                             limits=self._limits)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
