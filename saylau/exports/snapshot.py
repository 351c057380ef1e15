"""Everything a bundle shows, read from the warehouse as of one moment of event time.

Every query takes the same ``as_of``, so all files of a bundle describe the same instant
and add up. Observer ids never leave this module: the frames kept here have no
observer column (the warehouse's per-station state has none either).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from saylau.warehouse import queries
from saylau.warehouse.client import Warehouse
from saylau.warehouse.state import combine

INCIDENT_COLUMNS = ["incident_id", "station_id", "region_code", "category", "severity",
                    "occurred_at", "status"]
ALERT_COLUMNS = ["kind", "region_code", "station_id", "occurred_at"]


@dataclass(frozen=True)
class Snapshot:
    as_of: dt.datetime  # UTC, whole seconds
    stations: pd.DataFrame  # the registry (public columns), sorted by station_id
    state: pd.DataFrame  # saylau.warehouse.state.combine: turnout and coverage per station
    incidents: pd.DataFrame  # INCIDENT_COLUMNS, one row per incident
    alerts: pd.DataFrame  # ALERT_COLUMNS: alerts holding at as_of (no ids, no details)
    exitpoll_tallies: pd.DataFrame  # region_code, station_id, option, answers


def whole_second_utc(moment: dt.datetime) -> dt.datetime:
    """The warehouse stores whole seconds; a bundle's as-of is one of them."""
    if moment.tzinfo is None:
        raise ValueError("as-of time must carry a time zone")
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def take_snapshot(wh: Warehouse, as_of: dt.datetime) -> Snapshot:
    as_of = whole_second_utc(as_of)
    stations = queries.stations(wh)
    state = combine(stations, queries.station_turnout(wh, as_of),
                    queries.station_presence(wh, as_of), queries.station_assignments(wh, as_of))
    # Alert ids and details can name an observer (a removal's id hashes the observer id):
    # only what kind of alert, and where, leaves the warehouse.
    alerts = queries.alerts(wh, as_of)[ALERT_COLUMNS]
    return Snapshot(as_of=as_of, stations=stations,
                    state=state.sort_values("station_id", ignore_index=True),
                    incidents=queries.incidents(wh, as_of)[INCIDENT_COLUMNS],
                    alerts=alerts.reset_index(drop=True),
                    exitpoll_tallies=queries.exitpoll_tallies(wh, as_of))
