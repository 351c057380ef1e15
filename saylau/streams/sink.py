"""Write a processed batch to the warehouse, retrying while the warehouse is away."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable

from saylau.streams.alerting import ALERT_COLUMNS
from saylau.streams.batch import REJECTED_COLUMNS, BatchResult, settle
from saylau.streams.rows import (
    EVENT_COLUMNS,
    EXITPOLL_COLUMNS,
    PROTOCOL_COLUMNS,
    TABULATION_COLUMNS,
)
from saylau.warehouse import queries
from saylau.warehouse.client import Warehouse, WarehouseError

log = logging.getLogger(__name__)


class WarehouseSink:
    def __init__(self, warehouse: Warehouse, retries: int = 30, pause_s: float = 1.0) -> None:
        self.warehouse = warehouse
        self.retries = retries
        self.pause_s = pause_s

    def write_alerts(self, rows: list[dict]) -> None:
        self._retrying(lambda: self.warehouse.insert_rows("alerts", ALERT_COLUMNS, rows))

    def settle(self, result: BatchResult) -> None:
        """Keep those of the batch's suspects (ids the filter may have seen) that the
        warehouse does not hold: one lookup, of the suspects only. Called just before the
        batch is written, after every earlier batch was, so an earlier copy is found."""
        if not result.suspects:
            return
        stored: set[str] = set()

        def look_up() -> None:
            stored.update(queries.stored_event_ids(self.warehouse, result.suspect_keys()))

        self._retrying(look_up)
        settle(result, stored, dt.datetime.now(dt.UTC))

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

