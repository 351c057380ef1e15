"""A simulated day stored in a real warehouse (both engines), and an exporter over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from saylau.exports import Exporter
from saylau.geo.registry import synthetic_registry, write_registry_csv
from saylau.warehouse.client import Warehouse, open_warehouse
from tests.exports.days import ELECTION, StoredDay, simulated_day


@pytest.fixture(scope="session")
def registry() -> pd.DataFrame:
    """200 stations over Kazakhstan's 20 regions (real polygons, so maps have data)."""
    return synthetic_registry(n_stations=200, total_voters=200_000, seed=11)


@pytest.fixture
def stored(warehouse_url: str, registry: pd.DataFrame,
           tmp_path: Path) -> Iterator[tuple[Warehouse, StoredDay]]:
    warehouse = open_warehouse(warehouse_url)
    write_registry_csv(registry, tmp_path / "stations.csv")
    try:
        yield warehouse, simulated_day(warehouse, registry)
    finally:
        warehouse.close()


@pytest.fixture
def exporter(stored: tuple[Warehouse, StoredDay], tmp_path: Path) -> Exporter:
    warehouse, _day = stored
    return Exporter.create(warehouse, ELECTION, tmp_path / "exports", tmp_path / "stations.csv")
