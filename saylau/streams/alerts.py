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

from saylau.core.contract import Checkout, Event

ALERT_NAMESPACE = uuid.UUID("6c1e2a36-9f7d-4c55-8a43-0d6a1f0b5e21")
BURST_WINDOW = dt.timedelta(minutes=15)
JUMP_WINDOW = dt.timedelta(hours=1)  # a turnout jump is a rise since a report this recent


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
    bucket of the incidents that reached the threshold; ``buckets`` limits the buckets
    judged to those whose neighbours the frame fully covers.
    """
    if incidents.empty:
        return []
    frame = _window_counts(incidents)
    frame = frame[frame["n"] >= threshold]
    if buckets is not None:
        bucket_times = frame["t"].dt.floor("15min")
        frame = frame[(bucket_times >= buckets[0]) & (bucket_times <= buckets[1])]
    peaks = frame.assign(bucket=frame["t"].dt.floor("15min")).groupby(
        ["region_code", "bucket"], sort=True).agg(first=("t", "min"), peak=("n", "max"))
    return [Alert("incident_burst", f"{region}/{bucket:%Y%m%d%H%M}", str(region), "",
                  first.to_pydatetime(), float(peak), float(threshold),
                  f"{peak} incidents within 15 minutes")
            for (region, bucket), first, peak in zip(peaks.index, peaks["first"],
                                                     peaks["peak"], strict=True)]


def _window_counts(incidents: pd.DataFrame) -> pd.DataFrame:
    """For each incident, how many incidents of its region fall in (t - 15 min, t]."""
    frame = pd.DataFrame({
        "region_code": incidents["region_code"].to_numpy(),
        "t": pd.to_datetime(incidents["occurred_at"], utc=True).reset_index(drop=True)})
    frame = frame.sort_values(["region_code", "t"], ignore_index=True)
    region = frame.groupby("region_code", sort=False).ngroup().to_numpy()
    seconds = (frame["t"] - frame["t"].min()).dt.total_seconds().to_numpy()
    span = 10 ** 7  # seconds: far more than the data covers; keeps regions apart
    key = region * span + seconds
    window = BURST_WINDOW.total_seconds()
    frame["n"] = np.arange(len(frame)) + 1 - np.searchsorted(key, key - window, side="right")
    return frame


def turnout_alerts(history: pd.DataFrame, registered: Mapping[str, int],
                   regions: Mapping[str, str], polls_open: dt.datetime,
                   jump_pct: float, highest_before: pd.DataFrame | None = None,
                   judged_from: Mapping[str, dt.datetime] | None = None) -> list[Alert]:
    """Per station and source: turnout that rose more than ``jump_pct`` % of registered
    voters since the earliest report of the past hour (``turnout_jump``), and cumulative
    turnout that went down (``turnout_decrease``).

    ``history`` holds every report of the stations judged, or a window of them: with
    ``judged_from`` (per station, the start of an hour), only the alerts of reports from
    that moment on are judged, and ``history`` must hold each station's reports from an
    hour before it (a jump looks back an hour); ``highest_before`` (``station_id, source,
    ballots``) then gives the highest count reported before the window, which is all a
    decrease needs of the earlier reports.

    Vectorised over all reports at once: a batch can touch thousands of stations.
    """
    if history.empty:
        return []
    reports = _sorted_reports(history, polls_open, highest_before)
    jumps = _jump_rows(reports, registered, jump_pct)
    decreases = reports[reports["ballots"] < reports["highest_before"]]
    if judged_from is not None:
        jumps, decreases = _judged(jumps, judged_from), _judged(decreases, judged_from)
    return _jump_alerts(jumps, regions, jump_pct) + _decrease_alerts(decreases, regions)


def _judged(reports: pd.DataFrame, judged_from: Mapping[str, dt.datetime]) -> pd.DataFrame:
    start = pd.to_datetime(reports["station_id"].map(judged_from), utc=True)
    return reports[reports["occurred_at"] >= start]


def _sorted_reports(history: pd.DataFrame, polls_open: dt.datetime,
                    highest_before: pd.DataFrame | None = None) -> pd.DataFrame:
    reports = history.assign(occurred_at=pd.to_datetime(history["occurred_at"], utc=True))
    reports = reports.sort_values(["station_id", "source", "occurred_at", "event_id"],
                                  ignore_index=True)
    group = reports.groupby(["station_id", "source"], sort=False).ngroup().to_numpy()
    seconds = (reports["occurred_at"] - pd.Timestamp(polls_open)).dt.total_seconds()
    reports["group"], reports["seconds"] = group, seconds.to_numpy()
    running_max = reports.groupby("group")["ballots"].cummax()
    highest = running_max.groupby(reports["group"]).shift(1).fillna(0)
    if highest_before is not None and len(highest_before):
        earlier = reports[["station_id", "source"]].merge(
            highest_before, on=["station_id", "source"], how="left")["ballots"].fillna(0)
        highest = np.maximum(highest.to_numpy(), earlier.to_numpy())
    reports["highest_before"] = highest
    return reports


def _jump_rows(reports: pd.DataFrame, registered: Mapping[str, int],
               jump_pct: float) -> pd.DataFrame:
    # The earliest report of the past hour in the same group, found by binary search on
    # (group, seconds) encoded as one sortable number.
    span = 10 ** 7  # seconds: far more than a day
    group = reports["group"].to_numpy()
    key = group * span + reports["seconds"].to_numpy()
    position = np.searchsorted(key, key - JUMP_WINDOW.total_seconds(), side="left")
    index = np.arange(len(reports))
    in_window = (position < index) & (group[position] == group)
    baseline = np.where(in_window, reports["ballots"].to_numpy()[position], 0)
    # With no report in the past hour a rise cannot be judged, except in the first hour
    # after opening, when the count started from zero.
    known = in_window | (reports["seconds"].to_numpy() <= 3600)
    voters = reports["station_id"].map(registered).fillna(1).clip(lower=1).to_numpy()
    rise = (reports["ballots"].to_numpy() - baseline) * 100.0 / voters
    jumped = known & (rise > jump_pct)
    return reports[jumped].assign(rise=rise[jumped])


def _jump_alerts(jumps: pd.DataFrame, regions: Mapping[str, str],
                 jump_pct: float) -> list[Alert]:
    if jumps.empty:
        return []
    jumps = jumps.assign(hour=jumps["occurred_at"].dt.floor("h"))
    worst = jumps.groupby(["station_id", "source", "hour"], sort=True).agg(
        first=("occurred_at", "min"), rise=("rise", "max")).reset_index()
    return [Alert("turnout_jump", f"{r.station_id}/{r.source}/{r.hour:%Y%m%d%H}",
                  regions.get(r.station_id, ""), r.station_id, r.first.to_pydatetime(),
                  round(float(r.rise), 2), jump_pct,
                  f"turnout ({r.source}) rose {r.rise:.1f}% of registered voters within an "
                  "hour") for r in worst.itertuples(index=False)]


def _decrease_alerts(decreases: pd.DataFrame, regions: Mapping[str, str]) -> list[Alert]:
    return [Alert("turnout_decrease", f"{r.station_id}/{r.source}/{r.occurred_at.isoformat()}",
                  regions.get(r.station_id, ""), r.station_id, r.occurred_at.to_pydatetime(),
                  float(r.highest_before - r.ballots), 0.0,
                  f"cumulative turnout ({r.source}) went down from {int(r.highest_before)} "
                  f"to {r.ballots}") for r in decreases.itertuples(index=False)]


PROTOCOL_FIELDS = ("registered", "ballots_received", "ballots_issued", "ballots_cast", "invalid")


def protocol_alerts(latest: pd.DataFrame, regions: Mapping[str, str]) -> list[Alert]:
    """Stations whose official protocol differs from the observer's copy."""
    by_station: dict[str, dict[str, dict]] = {}
    for record in latest.to_dict("records"):  # one conversion: thousands of stations
        by_station.setdefault(str(record["station_id"]), {})[record["source"]] = record
    alerts = []
    for station in sorted(by_station):
        sources = by_station[station]
        if {"observer_copy", "official"} <= set(sources):
            alert = _mismatch(station, regions.get(station, ""), sources["observer_copy"],
                              sources["official"])
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
