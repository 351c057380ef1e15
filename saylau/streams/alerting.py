"""After each stored batch, re-judge the alerts its reports could change.

Reads the warehouse (the reports of the affected stations and regions), applies the pure
rules of ``saylau.streams.alerts``, and returns alert rows: the alerts that hold (active = 1) and
those that later evidence withdrew (active = 0). Blocking: run it in an executor.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from saylau.core.contract import Checkin, Event, Incident, Protocol, Turnout
from saylau.streams.alerts import (
    BURST_WINDOW,
    JUMP_WINDOW,
    Alert,
    burst_alerts,
    protocol_alerts,
    removal_alerts,
    turnout_alerts,
    uncovered_alerts,
    utc_time,
)
from saylau.warehouse import queries
from saylau.warehouse.client import Warehouse

ALERT_COLUMNS = ("alert_id", "kind", "region_code", "station_id", "occurred_at", "raised_at",
                 "active", "version", "value", "threshold", "detail")


@dataclass(frozen=True)
class Thresholds:
    burst_incidents: int = 5
    turnout_jump_pct: float = 15.0
    uncovered_minutes: int = 30


class AlertMonitor:
    def __init__(self, warehouse: Warehouse, registry: pd.DataFrame, polls_open: dt.datetime,
                 thresholds: Thresholds) -> None:
        self.warehouse = warehouse
        self.registry = registry[["station_id", "region_code"]]
        self.regions = dict(zip(registry["station_id"], registry["region_code"], strict=True))
        self.registered = dict(zip(registry["station_id"], registry["registered_voters"],
                                   strict=True))
        self.polls_open = polls_open.astimezone(dt.UTC)
        self.thresholds = thresholds
        self.deadline = self.polls_open + dt.timedelta(minutes=thresholds.uncovered_minutes)
        self._coverage_judged = False

    def judge(self, events: list[Event]) -> list[dict[str, Any]]:
        """Alert rows for what this batch's events could have changed."""
        rows = self._rows(removal_alerts(events, self.regions))
        rows += self._bursts([e for e in events if isinstance(e, Incident)])
        rows += self._turnout([e for e in events if isinstance(e, Turnout)])
        rows += self._protocols(sorted({e.station_id for e in events
                                        if isinstance(e, Protocol)}))
        rows += self._coverage(events)
        return rows

    def _bursts(self, incidents: list[Incident]) -> list[dict[str, Any]]:
        if not incidents:
            return []
        times = [i.occurred_at.astimezone(dt.UTC) for i in incidents]
        first = pd.Timestamp(min(times)).floor("15min").to_pydatetime()
        last = pd.Timestamp(max(times)).floor("15min").to_pydatetime()
        # Judge buckets first-15m … last+15m; their incidents look back up to 15 minutes.
        judged = (first - BURST_WINDOW, last + BURST_WINDOW)
        regions = sorted({self.regions[i.station_id] for i in incidents})
        frame = queries.incident_times(self.warehouse, regions, judged[0] - BURST_WINDOW,
                                       judged[1] + BURST_WINDOW)
        # More incidents only add to a count: a burst alert is never withdrawn, but one
        # already raised with the same figures need not be written again.
        held = queries.active_alerts(self.warehouse, "incident_burst", regions=regions)
        found = burst_alerts(frame, self.thresholds.burst_incidents, judged)
        return self._rows(found, held, withdraw=False)

    def _turnout(self, reports: list[Turnout]) -> list[dict[str, Any]]:
        """Judge, for each station reported on, the alerts its new reports could change:
        those of the reports from the start of the hour of its earliest new report.

        Earlier reports keep their judgement: a jump of a report looks back one hour, a
        decrease at the reports before it, so a new report changes neither for reports
        before it; and a jump alert covers a whole hour, hence the hour's start. Reading
        starts an hour before that (a jump's baseline); of the reports before, only the
        highest count matters (for a decrease), read as one figure per station and source.
        Stored alerts are withdrawn only from that start on, where the judgement saw all
        the evidence; the rest were judged on evidence this window does not hold.
        """
        if not reports:
            return []
        earliest: dict[str, dt.datetime] = {}
        for report in reports:
            at = report.occurred_at.astimezone(dt.UTC)
            if report.station_id not in earliest or at < earliest[report.station_id]:
                earliest[report.station_id] = at
        judged_from = {station: at.replace(minute=0, second=0, microsecond=0)
                       for station, at in earliest.items()}
        starts = {station: int((at - JUMP_WINDOW).timestamp())
                  for station, at in judged_from.items()}
        window, highest = queries.turnout_window(self.warehouse, starts)
        found = turnout_alerts(window, self.registered, self.regions, self.polls_open,
                               self.thresholds.turnout_jump_pct, highest, judged_from)
        stations = sorted(earliest)
        held = pd.concat([queries.active_alerts(self.warehouse, kind, stations)
                          for kind in ("turnout_jump", "turnout_decrease")])
        if len(held):
            start = pd.to_datetime(held["station_id"].map(judged_from), utc=True)
            held = held[pd.to_datetime(held["occurred_at"], utc=True) >= start]
        return self._rows(found, held)

    def _protocols(self, stations: list[str]) -> list[dict[str, Any]]:
        if not stations:
            return []
        latest = queries.latest_protocols(self.warehouse, station_ids=stations)
        held = queries.active_alerts(self.warehouse, "protocol_mismatch", stations)
        return self._rows(protocol_alerts(latest, self.regions), held)

    def _coverage(self, events: list[Event]) -> list[dict[str, Any]]:
        """Judge every station once the day has passed the deadline; after that, a late
        check-in from before the deadline withdraws its own station's alert."""
        if self._coverage_judged:
            late = sorted({e.station_id for e in events if isinstance(e, Checkin)
                           and e.role == "observer" and e.occurred_at <= self.deadline})
            if not late:
                return []
            return self._rows([], queries.active_alerts(self.warehouse, "station_uncovered",
                                                        late))
        latest = queries.latest_event_time(self.warehouse)
        if latest is None or latest < self.deadline:
            return []
        self._coverage_judged = True
        checked_in = queries.stations_checked_in_by(self.warehouse, self.deadline)
        found = uncovered_alerts(self.registry, checked_in, self.deadline,
                                 self.thresholds.uncovered_minutes)
        held = queries.active_alerts(self.warehouse, "station_uncovered",
                                     self.registry["station_id"].tolist())
        return self._rows(found, held)

    def _rows(self, alerts: Iterable[Alert], held: pd.DataFrame | None = None,
              withdraw: bool = True) -> list[dict[str, Any]]:
        """Rows for alerts that are new or whose figures changed, and withdrawals of
        ``held`` alerts that no longer hold. Unchanged alerts are not written again."""
        now = dt.datetime.now(dt.UTC)
        version = time.time_ns()
        known = _figures(held)
        found = {a.alert_id: a for a in alerts}
        rows = [alert_row(a, now, version, active=1) for alert_id, a in found.items()
                if known.get(alert_id) != _figure(a.occurred_at, a.value)]
        if withdraw and held is not None and len(held):
            gone = held[~held["alert_id"].isin(set(found))]
            rows += [withdrawal_row(record, now, version) for record in gone.to_dict("records")]
        return rows


def _figures(held: pd.DataFrame | None) -> dict[str, tuple[dt.datetime, float]]:
    if held is None or held.empty:
        return {}
    return {alert_id: _figure(at, value) for alert_id, at, value in zip(
        held["alert_id"], held["occurred_at"], held["value"], strict=True)}


def _figure(at: object, value: float) -> tuple[dt.datetime, float]:
    """What identifies an alert's figures as stored: whole seconds (DateTime), the value."""
    return utc_time(at).replace(microsecond=0), round(float(value), 6)


def alert_row(alert: Alert, now: dt.datetime, version: int, active: int) -> dict[str, Any]:
    return {"alert_id": alert.alert_id, "kind": alert.kind, "region_code": alert.region_code,
            "station_id": alert.station_id, "occurred_at": alert.occurred_at,
            "raised_at": now, "active": active, "version": version, "value": alert.value,
            "threshold": alert.threshold, "detail": alert.detail}


def withdrawal_row(held: dict[str, Any], now: dt.datetime, version: int) -> dict[str, Any]:
    return {"alert_id": held["alert_id"], "kind": held["kind"],
            "region_code": held["region_code"], "station_id": held["station_id"],
            "occurred_at": utc_time(held["occurred_at"]), "raised_at": now, "active": 0,
            "version": version, "value": 0.0, "threshold": 0.0,
            "detail": "withdrawn: later reports contradict it"}
