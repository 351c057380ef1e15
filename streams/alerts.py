"""Alert rules as pure functions: data in, the alerts that hold out.

Every alert has an id derived from what it is about (uuid5 of kind and key), so raising it
again changes nothing, and its figures depend only on the reports, never on how they were
batched: a replay or a restarted worker computes the same alerts.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingest.contract import Checkout, Event

ALERT_NAMESPACE = uuid.UUID("6c1e2a36-9f7d-4c55-8a43-0d6a1f0b5e21")
BURST_WINDOW = dt.timedelta(minutes=15)
JUMP_WINDOW = dt.timedelta(hours=1)


@dataclass(frozen=True)
class Alert:
    kind: str
    key: str
    region_code: str
    station_id: str
    occurred_at: dt.datetime
    value: float
    threshold: float
    detail: str

    @property
    def alert_id(self) -> str:
        return str(uuid.uuid5(ALERT_NAMESPACE, f"{self.kind}/{self.key}"))


def utc_time(value: object) -> dt.datetime:
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def removal_alerts(events: Iterable[Event], regions: Mapping[str, str]) -> list[Alert]:
    """An observer expelled from a station (checkout with reason ``removed``)."""
    return [Alert("observer_removed", f"{e.station_id}/{e.observer_id}",
                  regions.get(e.station_id, ""), e.station_id, e.occurred_at.astimezone(dt.UTC),
                  1.0, 1.0, f"observer {e.observer_id} removed from the station")
            for e in events if isinstance(e, Checkout) and e.reason == "removed"]


def burst_alerts(incidents: pd.DataFrame, threshold: int,
                 buckets: tuple[dt.datetime, dt.datetime] | None = None) -> list[Alert]:
    """``threshold`` or more incidents in a region within 15 minutes.

    ``incidents`` has one row per incident (region_code, occurred_at); every incident in
    the 15 minutes before each one must be present. One alert per region and 15-minute
    bucket of the incident that crossed the threshold; ``buckets`` limits the buckets
    judged to those whose neighbours the frame fully covers.
    """
    alerts = []
    for region, group in incidents.groupby("region_code", sort=True):
        times = (pd.to_datetime(group["occurred_at"], utc=True).sort_values()
                 .dt.tz_localize(None).to_numpy("datetime64[ns]"))
        # Incidents in (t - 15 min, t] for each t: a sliding window by binary search.
        counts = np.arange(1, len(times) + 1) - np.searchsorted(
            times, times - np.timedelta64(BURST_WINDOW), side="right")
        for bucket, first_time, peak in _bucket_peaks(times, counts, threshold):
            if buckets is None or buckets[0] <= bucket <= buckets[1]:
                alerts.append(Alert("incident_burst", f"{region}/{bucket:%Y%m%d%H%M}",
                                    str(region), "", first_time, float(peak), float(threshold),
                                    f"{peak} incidents within 15 minutes"))
    return alerts


def _bucket_peaks(times: np.ndarray, counts: np.ndarray,
                  threshold: int) -> Iterable[tuple[dt.datetime, dt.datetime, int]]:
    frame = pd.DataFrame({"t": pd.to_datetime(times, utc=True), "n": counts})
    frame["bucket"] = frame["t"].dt.floor("15min")
    for bucket, group in frame[frame["n"] >= threshold].groupby("bucket", sort=True):
        yield bucket.to_pydatetime(), group["t"].iloc[0].to_pydatetime(), int(group["n"].max())


def turnout_alerts(history: pd.DataFrame, registered: Mapping[str, int],
                   regions: Mapping[str, str], polls_open: dt.datetime,
                   jump_pct: float) -> list[Alert]:
    """Per station and source: turnout that rose more than ``jump_pct`` % of registered
    voters within an hour (``turnout_jump``), and cumulative turnout that went down
    (``turnout_decrease``). ``history`` holds every report of the stations judged."""
    alerts: list[Alert] = []
    for (station, source), group in history.groupby(["station_id", "source"], sort=True):
        reports = group.sort_values(["occurred_at", "event_id"])
        times = pd.to_datetime(reports["occurred_at"], utc=True).tolist()
        ballots = reports["ballots"].astype("int64").tolist()
        voters = max(int(registered.get(str(station), 0)), 1)
        region = regions.get(str(station), "")
        alerts += _jumps(str(station), str(source), region, times, ballots, voters,
                         polls_open, jump_pct)
        alerts += _decreases(str(station), str(source), region, times, ballots)
    return alerts


def _jumps(station: str, source: str, region: str, times: list, ballots: list, voters: int,
           polls_open: dt.datetime, jump_pct: float) -> list[Alert]:
    worst: dict[str, Alert] = {}
    for moment, count in zip(times, ballots, strict=True):
        earlier = [b for t, b in zip(times, ballots, strict=True) if t <= moment - JUMP_WINDOW]
        if not earlier and moment - JUMP_WINDOW > polls_open:
            continue  # nothing to compare with: a first report late in the day is no jump
        rise = (count - max(earlier, default=0)) * 100.0 / voters
        if rise <= jump_pct:
            continue
        hour = moment.floor("h").to_pydatetime()
        key = f"{station}/{source}/{hour:%Y%m%d%H}"
        if key not in worst or rise > worst[key].value:
            first = worst[key].occurred_at if key in worst else moment.to_pydatetime()
            worst[key] = Alert("turnout_jump", key, region, station, first, round(rise, 2),
                               jump_pct, f"turnout ({source}) rose {rise:.1f}% of registered "
                                         "voters within an hour")
    return list(worst.values())


def _decreases(station: str, source: str, region: str, times: list,
               ballots: list) -> list[Alert]:
    alerts, highest = [], 0
    for moment, count in zip(times, ballots, strict=True):
        if count < highest:
            alerts.append(Alert("turnout_decrease", f"{station}/{source}/{moment.isoformat()}",
                                region, station, moment.to_pydatetime(), float(highest - count),
                                0.0, f"cumulative turnout ({source}) went down from {highest} "
                                     f"to {count}"))
        highest = max(highest, count)
    return alerts


PROTOCOL_FIELDS = ("registered", "ballots_received", "ballots_issued", "ballots_cast", "invalid")


def protocol_alerts(latest: pd.DataFrame, regions: Mapping[str, str]) -> list[Alert]:
    """Stations whose official protocol differs from the observer's copy."""
    alerts = []
    for station, group in latest.groupby("station_id", sort=True):
        by_source = {row["source"]: row for row in group.to_dict("records")}
        if {"observer_copy", "official"} <= set(by_source):
            alert = _mismatch(str(station), regions.get(str(station), ""),
                              by_source["observer_copy"], by_source["official"])
            if alert:
                alerts.append(alert)
    return alerts


def _mismatch(station: str, region: str, copy: dict, official: dict) -> Alert | None:
    fields = [f for f in PROTOCOL_FIELDS if int(copy[f]) != int(official[f])]
    options = sorted(set(copy["votes"]) | set(official["votes"]))
    moved = sum(abs(copy["votes"].get(o, 0) - official["votes"].get(o, 0)) for o in options)
    differing = [o for o in options if copy["votes"].get(o, 0) != official["votes"].get(o, 0)]
    if not fields and not differing:
        return None
    detail = "official protocol differs from the observer copy in: " + ", ".join(
        fields + [f"votes for {o}" for o in differing])
    return Alert("protocol_mismatch", station, region, station,
                 max(utc_time(copy["reported_at"]), utc_time(official["reported_at"])),
                 float(moved), 0.0, detail)


def uncovered_alerts(stations: pd.DataFrame, checked_in: set[str],
                     deadline: dt.datetime, minutes: int) -> list[Alert]:
    """Stations nobody had checked in to by ``deadline`` (opening + ``minutes``)."""
    missing = stations[~stations["station_id"].isin(checked_in)]
    return [Alert("station_uncovered", station, region, station, deadline, float(minutes),
                  float(minutes), f"no observer {minutes} minutes after opening")
            for station, region in zip(missing["station_id"], missing["region_code"],
                                       strict=True)]
