"""A simulated election day stored in a real warehouse the way the worker stores it:
validated, de-duplicated, enriched, inserted in batches, alerts judged after each batch."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from saylau.cli.runtime import station_index
from saylau.core.election import Election
from saylau.core.validation import DayWindow
from saylau.ingest.simulator import NO_NOISE, Scenario, simulate_day
from saylau.streams.alerting import AlertMonitor, Thresholds
from saylau.streams.batch import Message, RecentIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse.client import Warehouse, create_schema
from saylau.warehouse.queries import load_stations

ELECTION = Election()
BATCH = 5_000
# Enough exit pollsters that the margin of error can be estimated in a small registry.
SCENARIO = Scenario(seed=3, noise=NO_NOISE, exitpoll_share=0.15)


@dataclass
class StoredDay:
    registry: pd.DataFrame
    events: list[dict[str, Any]] = field(default_factory=list)  # every event stored

    def observer_ids(self) -> list[str]:
        return sorted({e["observer_id"] for e in self.events
                       if e["kind"] in ("checkin", "checkout", "turnout", "incident")})


def store_events(warehouse: Warehouse, registry: pd.DataFrame, values: list[bytes],
                 election: Election = ELECTION, alerts: bool = True) -> None:
    """Process ``values`` as the worker does and insert them, batch by batch."""
    stations = station_index(registry)
    window = DayWindow.for_election(election.date, election.tz)
    recent, sink = RecentIds(), WarehouseSink(warehouse)
    monitor = AlertMonitor(warehouse, registry, election.opens_at, Thresholds())
    for start in range(0, len(values), BATCH):
        batch = [Message("sim", 0, start + i, value)
                 for i, value in enumerate(values[start:start + BATCH])]
        result = process_batch(batch, stations, window, recent, dt.datetime.now(dt.UTC))
        sink.write(result)
        recent.add_all(result.event_ids)
        if alerts:
            sink.write_alerts(monitor.judge(result.events))


def simulated_day(warehouse: Warehouse, registry: pd.DataFrame,
                  scenario: Scenario = SCENARIO, alerts: bool = True) -> StoredDay:
    """Create the schema, load the registry and store a whole simulated day."""
    create_schema(warehouse)
    load_stations(warehouse, registry)
    day = simulate_day(registry, ELECTION, scenario)
    values = [message.value for message in day.messages()]
    store_events(warehouse, registry, values, alerts=alerts)
    return StoredDay(registry, [json.loads(v) for v in values])
