"""The server engine: ClickHouse over the native protocol (clickhouse-driver)."""

from __future__ import annotations

import datetime as dt
import operator
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from clickhouse_driver import Client
from clickhouse_driver.errors import Error as DriverError

from saylau.warehouse.client import Row, WarehouseError, WarehouseUrl, with_database

_PARAM = re.compile(r"\{(\w+):([^{}]+)\}")


def driver_placeholders(sql: str) -> str:
    """Turn ``{name:Type}`` into the driver's ``%(name)s``: the driver escapes the values.

    ClickHouse 18.16 predates server-side query parameters, so binding happens in the
    driver; literal ``%`` must be doubled for its pyformat pass. Arrays keep their type
    with a CAST (an empty ``[]`` would otherwise be Array(Nothing)); other values stay
    literals, so a time is read in its column's time zone, not the server's.
    """
    def placeholder(match: re.Match[str]) -> str:
        name, type_name = match.group(1), match.group(2)
        if type_name.startswith("Array("):
            return f"CAST(%({name})s AS {type_name})"
        return f"%({name})s"

    return _PARAM.sub(placeholder, sql.replace("%", "%%"))


def _driver_value(value: Any) -> Any:
    """Aware times in UTC: the driver writes a time's wall clock and drops its zone."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def insert_tuples(columns: Sequence[str], rows: Sequence[Row]) -> list[tuple[Any, ...]]:
    """The rows as the driver's tuples, times as whole seconds since the epoch.

    Every time column is DateTime('UTC'). The driver turns each time into those seconds
    itself, one pytz conversion per value; an integer it writes as it is. Which columns hold
    times is read from the first row. A time without zone is UTC, as the driver takes it.
    """
    values = operator.itemgetter(*columns)  # one column: the value itself, not a tuple
    tuples = [values(row) for row in rows] if len(columns) > 1 else [(values(row),)
                                                                      for row in rows]
    times = [i for i, value in enumerate(tuples[0]) if isinstance(value, dt.datetime)]
    if not times:
        return tuples
    converted = []
    for row in tuples:
        items = list(row)
        for i in times:
            items[i] = _epoch_seconds(items[i])
        converted.append(tuple(items))
    return converted


def _epoch_seconds(value: Any) -> Any:
    if not isinstance(value, dt.datetime):
        return value  # already seconds, or a value the driver refuses with its own error
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


# The driver writes parameters into the query text. Alert judging names every station its
# batches touched (up to a whole registry), beyond the server's default of 256 KiB.
MAX_QUERY_BYTES = 256 * 1024 * 1024


class ServerWarehouse:
    def __init__(self, spec: WarehouseUrl, url: str, password: str = "", *,
                 read_only: bool = False) -> None:
        self.url = url
        self.database = spec.database
        self._spec = spec
        self._password = password
        self._read_only = read_only
        settings: dict[str, Any] = {"use_numpy": False, "max_query_size": MAX_QUERY_BYTES}
        if read_only:
            # The driver sends its settings with every query, so each statement runs with
            # readonly=1 whatever its text says (the server refuses SETTINGS readonly=0 and
            # SET then, and refuses a text of several statements on its own).
            settings["readonly"] = 1
        self._client = Client(host=spec.host, port=spec.port, user=spec.user, password=password,
                              connect_timeout=5, send_receive_timeout=60, settings=settings)
        self._lock = threading.Lock()  # a driver Client is not safe across threads

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._execute(sql, params)

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        # Column by column, as the server sends them: rows would be transposed by the driver
        # and back again by pandas (a fifth of the alert judge's time at 1M events).
        data, columns = self._execute(sql, params, with_column_types=True, columnar=True)
        names = [name for name, _type in columns]
        if not data:
            return pd.DataFrame([], columns=names)
        frame = pd.DataFrame({number: list(values) for number, values in enumerate(data)})
        frame.columns = names  # by position: a name may come twice
        return frame

    def _execute(self, sql: str, params: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        text = with_database(sql, self.database)
        if params:
            text = driver_placeholders(text)
        with self._lock:
            try:
                bound = {k: _driver_value(v) for k, v in params.items()} if params else None
                return self._client.execute(text, bound, **kwargs)
            except (DriverError, OSError, EOFError) as exc:
                raise WarehouseError(f"ClickHouse {self._spec.host}:{self._spec.port}: "
                                     f"{exc}") from exc

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> int:
        if not rows:
            return 0
        statement = f"INSERT INTO $db.{table} ({', '.join(columns)}) VALUES"
        self._execute_insert(statement, insert_tuples(columns, rows))
        return len(rows)

    def _execute_insert(self, statement: str, tuples: list[tuple]) -> None:
        with self._lock:
            try:
                self._client.execute(with_database(statement, self.database), tuples)
            except (DriverError, OSError, EOFError) as exc:
                raise WarehouseError(f"ClickHouse insert: {exc}") from exc

    def reader(self) -> ServerWarehouse:
        return ServerWarehouse(self._spec, self.url, self._password, read_only=self._read_only)

    def close(self) -> None:
        with self._lock:
            self._client.disconnect()
