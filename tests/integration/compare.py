"""Comparing what two warehouses answer: the wall's snapshot and the pages' query results."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import Any

import pandas as pd

from saylau.dashboard.snapshot import Snapshot
from saylau.warehouse.client import Warehouse, open_warehouse
from tests.support.clickhouse_server import ClickHouseServer


def assert_same_snapshot(left: Snapshot, right: Snapshot) -> None:
    for item in dataclasses.fields(Snapshot):
        if item.name in ("taken_at", "_built", "_build_lock"):
            continue
        assert_same_value(getattr(left, item.name), getattr(right, item.name), item.name)


def assert_same_value(left: Any, right: Any, name: str, ordered: bool = False) -> None:
    if isinstance(left, pd.DataFrame) and ordered:
        pd.testing.assert_frame_equal(_plain(left), _plain(right), obj=name)
    elif isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(_sorted(left), _sorted(right), obj=name)
    else:
        assert left == right, name


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrays as tuples, so rows compare."""
    return frame.map(lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str)
                     else v).reset_index(drop=True)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a fixed order: the snapshot reads the station state unordered, which a
    cluster returns shard by shard."""
    plain = _plain(frame)
    if plain.empty:
        return plain.reset_index(drop=True)
    keys = list(plain.columns)
    return plain.sort_values(keys, key=lambda c: c.astype(str)).reset_index(drop=True)


@contextlib.contextmanager
def direct(server: ClickHouseServer, database: str) -> Iterator[Warehouse]:
    """A plain connection to one server of a cluster: its own local tables."""
    wh = open_warehouse(f"clickhouse://default@127.0.0.1:{server.tcp_port}/{database}")
    try:
        yield wh
    finally:
        wh.close()
