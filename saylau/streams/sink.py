"""Write a processed batch to the warehouse, retrying while the warehouse is away."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from saylau.streams.alerting import ALERT_COLUMNS
from saylau.streams.batch import REJECTED_COLUMNS, BatchResult
from saylau.streams.rows import (
    EVENT_COLUMNS,
    EXITPOLL_COLUMNS,
    PROTOCOL_COLUMNS,
    TABULATION_COLUMNS,
)
from saylau.warehouse.client import Warehouse, WarehouseError

log = logging.getLogger(__name__)


class WarehouseSink:
    def __init__(self, warehouse: Warehouse, retries: int = 30, pause_s: float = 1.0) -> None:
        self.warehouse = warehouse
        self.retries = retries
        self.pause_s = pause_s

    def write_alerts(self, rows: list[dict]) -> None:
        self._retrying(lambda: self.warehouse.insert_rows("alerts", ALERT_COLUMNS, rows))

    def write(self, result: BatchResult) -> None:
        """Insert the batch's rows. Raises after ``retries`` failures in a row, so the worker
        stops without acknowledging the batch and its messages are read again."""
        def insert() -> None:
            # Kind tables first, the archive last: the archive decides what "seen" means.
            self.warehouse.insert_rows("protocols", PROTOCOL_COLUMNS, result.protocols)
            self.warehouse.insert_rows("exitpolls", EXITPOLL_COLUMNS, result.exitpolls)
            self.warehouse.insert_rows("tabulation", TABULATION_COLUMNS, result.tabulation)
            self.warehouse.insert_rows("events", EVENT_COLUMNS, result.rows)
            self.warehouse.insert_rows("rejected", REJECTED_COLUMNS, result.rejects)

        self._retrying(insert)

    def _retrying(self, action: Callable[[], object]) -> None:
        for attempt in range(1, self.retries + 1):
            try:
                action()
                return
            except WarehouseError as error:
                if attempt == self.retries:
                    raise
                log.warning("warehouse write failed (attempt %d of %d): %s",
                            attempt, self.retries, error)
                time.sleep(self.pause_s)
