"""A warehouse ready for work: opened, its schema created, the station registry loaded."""

from __future__ import annotations

import pandas as pd

from saylau.core.settings import Settings
from saylau.warehouse.client import Warehouse, create_schema, open_warehouse
from saylau.warehouse.queries import load_stations


def open_prepared_warehouse(settings: Settings, registry: pd.DataFrame) -> Warehouse:
    """Open the warehouse, create the schema if needed and load the station registry."""
    warehouse = open_warehouse(settings.warehouse,
                               settings.clickhouse_password.get_secret_value())
    create_schema(warehouse)
    load_stations(warehouse, registry)
    return warehouse
