"""One consistent snapshot of the day's data, shared by every panel and every screen.

A snapshot is everything the wall shows (station state, region summary, headline,
incidents by category and verification, incident density, coverage gaps, alerts, and
national turnout at each official reporting time), all read as of the same moment. It is
taken at most once per refresh interval and as-of time: ten wall screens refreshing
together cost one set of warehouse queries, not ten, and every panel of every screen
shows numbers that add up.

The arithmetic is pure (``incident_matrix``, ``incident_density_by_region``,
``reporting_turnout`` …, DataFrames in, DataFrames out); ``take_snapshot`` runs the
queries; ``SnapshotCache`` keeps snapshots for one interval; ``current_snapshot`` is the
wiring the pages call inside a Dash callback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import flask
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from saylau.core.settings import Settings
from saylau.dashboard.moments import REPORTING_TURNOUT
from saylau.warehouse import queries
from saylau.warehouse.client import Warehouse
from saylau.warehouse.state import (
    REGISTRY,
    Headline,
    headline,
    region_summary,
    region_totals,
    sums_by,
    turnout_percent,
)

# Incidents that count: rejected ones and duplicates of another report do not.
COUNTED_STATUSES = ("verified", "unverified")
STATUSES = ("verified", "unverified", "rejected", "duplicate")


# --- Pure arithmetic ------------------------------------------------------------------------


def counted_incidents(incidents: pd.DataFrame) -> pd.DataFrame:
    return incidents[incidents["status"].isin(COUNTED_STATUSES)]


def incident_matrix(incidents: pd.DataFrame) -> pd.DataFrame:
    """Per category (rows, most counted first): incidents by status and ``counted``
    (verified + unverified)."""
    table = _count_by(incidents, "category", STATUSES)
    table["counted"] = table["verified"] + table["unverified"]
    return table.sort_values(["counted", "verified"], ascending=False, kind="stable")


def incident_density_by_region(incidents: pd.DataFrame, state: pd.DataFrame,
                               totals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per region of the registry: verified and unverified incidents, voters, and each per
    10,000 registered voters (``per_10k`` counts both). Incidents carry the region their
    station was enriched with. ``totals``: the state's ``region_totals``, if made already."""
    voters = (region_totals(state) if totals is None else totals)["registered"]
    frame = _count_by(incidents, "region_code", COUNTED_STATUSES).reindex(voters.index,
                                                                           fill_value=0)
    frame["voters"] = voters
    per_voter = 10_000 / voters.where(voters > 0)
    for column in COUNTED_STATUSES:
        frame[f"per_10k_{column}"] = (frame[column] * per_voter).fillna(0.0)
    frame["per_10k"] = frame["per_10k_verified"] + frame["per_10k_unverified"]
    return frame.reset_index()


def incident_counts(incidents: pd.DataFrame) -> pd.DataFrame:
    """Per station with counted incidents (the index, in no order): verified, unverified."""
    status = incidents["status"]
    counts = sums_by(incidents["station_id"], {
        "verified": status == "verified", "unverified": status == "unverified"}, sort=False)
    return counts.loc[counts["verified"] + counts["unverified"] > 0, list(COUNTED_STATUSES)]


def incidents_at_stations(incidents: pd.DataFrame, state: pd.DataFrame,
                          counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per station with counted incidents: its position, voters, verified and unverified
    (``counts``: the incidents' ``incident_counts``, if made already)."""
    counts = incident_counts(incidents) if counts is None else counts
    # Find the few stations among a million with Arrow's hash: pandas takes about a second
    # to index or match a million station ids, Arrow a tenth of that.
    ids = pa.array(state["station_id"])
    found = pc.index_in(ids, value_set=pa.array(counts.index, type=ids.type))
    here = found.is_valid()
    columns = ["station_id", "region_code", "lat", "lon", "registered_voters"]
    table = state.loc[here.to_numpy(zero_copy_only=False), columns].reset_index(drop=True)
    which = found.filter(here).to_numpy()  # each station's row in ``counts``
    for column in COUNTED_STATUSES:
        table[column] = counts[column].to_numpy()[which]
    return table


def _count_by(incidents: pd.DataFrame, key: str, statuses: Sequence[str]) -> pd.DataFrame:
    """Incidents per ``key`` (rows) and status (columns ``statuses``), as int64."""
    counts = incidents.groupby([key, "status"]).size().unstack(fill_value=0)
    table = counts.reindex(columns=list(statuses), fill_value=0).astype("int64")
    table.columns.name = None
    return table


def coverage_gap_summary(state: pd.DataFrame, totals: pd.DataFrame | None = None
                         ) -> pd.DataFrame:
    """Per region, worst first: stations and voters without an observer present, and the
    share of the region's voters whose station nobody watches (as ``saylau.geo.spatial``'s
    ``coverage_gaps``, from the state's ``covered`` column; ``totals``: the state's
    ``region_totals``, if made already)."""
    totals = region_totals(state) if totals is None else totals
    gaps = totals[["stations", "uncovered", "registered", "uncovered_voters"]].rename(
        columns={"registered": "voters"})
    gaps["uncovered_share"] = gaps["uncovered_voters"] / gaps["voters"].where(gaps["voters"] > 0)
    return gaps.sort_values(["uncovered_voters", "uncovered"], ascending=False,
                            kind="stable").reset_index()


def reporting_turnout(at_moments: pd.DataFrame, moments: Sequence[dt.datetime],
                      registered: int, reached_by: dt.datetime | None) -> pd.DataFrame:
    """One row per official reporting time: observer-count and official ballots and turnout
    as they stood then; ``reached`` is False for a time after ``reached_by`` (not yet)."""
    rows = []
    for moment in moments:
        stamp = pd.Timestamp(moment).tz_convert("UTC")
        here = at_moments[at_moments["moment"] == stamp].set_index("source")["ballots"]
        rows.append({"moment": moment,
                     "reached": reached_by is not None and moment <= reached_by,
                     "observer_ballots": int(here.get("observer_count", 0)),
                     "official_ballots": int(here.get("official", 0))})
    frame = pd.DataFrame(rows, columns=["moment", "reached", "observer_ballots",
                                        "official_ballots"])
    total = pd.Series([registered] * len(frame), index=frame.index, dtype="int64")
    for source in ("observer", "official"):
        frame[f"{source}_pct"] = turnout_percent(frame[f"{source}_ballots"], total)
    return frame


# --- The snapshot ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    as_of: dt.datetime | None  # None = everything received
    latest: dt.datetime | None  # newest event counted (as_of in time travel)
    state: pd.DataFrame
    summary: pd.DataFrame
    headline: Headline
    incidents: pd.DataFrame
    incidents_by_category: pd.DataFrame
    density: pd.DataFrame
    incident_stations: pd.DataFrame
    gaps: pd.DataFrame
    alerts: pd.DataFrame
    reporting: pd.DataFrame
    rejected: int
    version: str = ""  # changes when any figure above changes (content_version)
    taken_at: float = field(default_factory=time.monotonic)
    _built: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _build_lock: threading.Lock = field(default_factory=threading.Lock, compare=False,
                                        repr=False)

    @property
    def counted_incidents(self) -> int:
        return int(self.incidents_by_category["counted"].sum())

    def built(self, name: str, build: Callable[[], Any]) -> Any:
        """What ``build`` makes from this snapshot, made once: ten screens asking for the
        same panels in one interval share one set of figures."""
        with self._build_lock:
            if name not in self._built:
                self._built[name] = build()
            return self._built[name]


def content_version(as_of: dt.datetime | None, frames: Sequence[pd.DataFrame],
                    rejected: int) -> str:
    """A fingerprint of a snapshot's content: equal fingerprints, equal figures, so a
    screen that already shows them need not be sent them again. Numeric columns are
    hashed as raw bytes (fast at a million stations), text as ``_text_bytes``."""
    digest = hashlib.sha1(str((as_of, rejected)).encode(), usedforsecurity=False)
    for frame in frames:
        digest.update(str(frame.shape).encode())
        for column in frame.columns:
            values = frame[column]
            if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                digest.update(values.to_numpy().tobytes())
            else:
                for part in _text_bytes(values):
                    digest.update(part)
    return digest.hexdigest()


def _text_bytes(values: pd.Series) -> Iterator[bytes | memoryview]:
    """A column as text, in bytes that differ whenever a value differs: each value's length
    in bytes (-1 for none), then all their characters, straight from Arrow's buffers (no
    Python string per value: a tenth of the time of joining them)."""
    if not pd.api.types.is_string_dtype(values):
        values = values.astype(str)
    text = pa.array(values, type=pa.large_string())  # pandas' own text: no copy
    if isinstance(text, pa.ChunkedArray):  # a column put together from several
        text = text.combine_chunks()
    yield pc.binary_length(text).fill_null(-1).to_numpy().tobytes()
    if len(text):
        offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)
        start, end = offsets[text.offset], offsets[text.offset + len(text)]
        yield memoryview(text.buffers()[2])[start:end]


def stations_fingerprint(row_hashes: pd.Series) -> pd.DataFrame:
    """The stations' row hashes summed (modulo 2**64: the order of the rows does not
    matter) and counted, as a frame for ``content_version``."""
    total = np.add.reduce(row_hashes.to_numpy(dtype=np.uint64), dtype=np.uint64)
    return pd.DataFrame({"stations": [len(row_hashes)], "sum": np.array([total], np.uint64)})


def snapshot_moment(as_of: dt.datetime | None,
                    newest: dt.datetime | None) -> dt.datetime | None:
    """The newest moment a snapshot counts: ``as_of`` in time travel (if anything is newer),
    else the newest event."""
    return as_of if as_of is not None and (newest is None or as_of < newest) else newest


def state_panels(state: pd.DataFrame, region_names: dict[str, str],
                 totals: pd.DataFrame | None = None
                 ) -> tuple[pd.DataFrame, Headline, pd.DataFrame]:
    """The tables made from the station state alone: region summary, headline, gaps
    (``totals``: the state's ``region_totals``, if made already)."""
    totals = region_totals(state) if totals is None else totals
    return (region_summary(state, region_names, totals), headline(state),
            coverage_gap_summary(state, totals))


def incident_panels(incidents: pd.DataFrame, state: pd.DataFrame,
                    totals: pd.DataFrame | None = None,
                    at_stations: Callable[[], pd.DataFrame] | None = None
                    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The tables made from the incidents (and the stations' voters and positions): by
    category, density by region, and incidents at stations (``at_stations()`` if given:
    being made elsewhere meanwhile)."""
    by_category = incident_matrix(incidents)
    density = incident_density_by_region(incidents, state, totals)
    stations = at_stations() if at_stations else incidents_at_stations(incidents, state)
    return by_category, density, stations


def built_snapshot(as_of: dt.datetime | None, latest: dt.datetime | None, state: pd.DataFrame,
                   panels: tuple[pd.DataFrame, Headline, pd.DataFrame],
                   incident_tables: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
                   stations: pd.DataFrame, incidents: pd.DataFrame, at_moments: pd.DataFrame,
                   alerts: pd.DataFrame, rejected: int,
                   reporting_times: Sequence[dt.datetime]) -> Snapshot:
    """The snapshot from what was read (``stations``: a fingerprint of the state for
    ``content_version``), the ``state_panels`` of its state and the ``incident_panels``
    of its incidents."""
    reporting = reporting_turnout(at_moments, reporting_times,
                                  int(state["registered_voters"].sum()), latest)
    version = content_version(latest, [stations, incidents[["incident_id", "status"]],
                                       alerts[["alert_id", "detail"]], reporting], rejected)
    summary, numbers, gaps = panels
    by_category, density, incident_stations = incident_tables
    return Snapshot(
        as_of=as_of, latest=latest, state=state, summary=summary, headline=numbers,
        incidents=incidents, incidents_by_category=by_category, density=density,
        incident_stations=incident_stations, gaps=gaps, alerts=alerts, reporting=reporting,
        rejected=rejected, version=version)


def take_snapshot(wh: Warehouse, as_of: dt.datetime | None, region_names: dict[str, str],
                  reporting_times: Sequence[dt.datetime]) -> Snapshot:
    """Run every query of the wall as of one moment and derive the panels' tables.

    The incidents (counted per station as soon as they are read) and the turnout at the
    reporting times are read on connections of their own while this one reads the station
    state; then the incidents' stations are found on the other thread while this one makes
    the rest. The engine, Arrow and most of pandas' arithmetic work without Python's
    lock, so the two cores share the work.
    """
    latest = snapshot_moment(as_of, queries.latest_event_time(wh))
    passed = [m for m in reporting_times if latest is not None and m <= latest]
    with _readers(wh, 2) as (first, second), ThreadPoolExecutor(2) as pool:
        reading_incidents = pool.submit(_incidents_counted, first, as_of)
        reading_turnout = pool.submit(REPORTING_TURNOUT.at_moments, second, passed, as_of)
        # Unordered, with a hash of each station's row: their sum fingerprints the state
        # whatever the order, without sorting or hashing a million stations here.
        state = REGISTRY.station_state(wh, as_of)
        stations = stations_fingerprint(state.pop("fingerprint"))
        alerts = queries.alerts(wh, as_of)
        rejected = sum(queries.rejected_counts(wh).values())
        incidents, counts = reading_incidents.result()
        finding_stations = pool.submit(incidents_at_stations, incidents, state, counts)
        totals = region_totals(state)
        panels = state_panels(state, region_names, totals)
        incident_tables = incident_panels(incidents, state, totals, finding_stations.result)
        at_moments = reading_turnout.result()
    return built_snapshot(as_of, latest, state, panels, incident_tables, stations, incidents,
                          at_moments, alerts, rejected, reporting_times)


def _incidents_counted(wh: Warehouse, as_of: dt.datetime | None
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    incidents = queries.incidents(wh, as_of)
    return incidents, incident_counts(incidents)


@contextlib.contextmanager
def _readers(wh: Warehouse, count: int) -> Iterator[list[Warehouse]]:
    """``count`` more connections to the warehouse, closed afterwards (opening one takes
    well under a millisecond on chDB, a round trip on a server)."""
    opened: list[Warehouse] = []
    try:
        for _ in range(count):
            opened.append(wh.reader())
        yield opened
    finally:
        for reader in opened:
            reader.close()


class SnapshotCache:
    """Snapshots by as-of time, each reused for ``interval_s`` seconds after it was taken.

    Callers asking for the same as-of time while it is being taken wait for that one
    snapshot instead of taking their own.
    """

    def __init__(self, take: Callable[[dt.datetime | None], Snapshot], interval_s: float,
                 clock: Callable[[], float] = time.monotonic, keep: int = 64) -> None:
        self._take, self._interval, self._clock, self._keep = take, interval_s, clock, keep
        self._snapshots: dict[dt.datetime | None, Snapshot] = {}
        self._key_locks: dict[dt.datetime | None, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, as_of: dt.datetime | None) -> Snapshot:
        key = as_of.astimezone(dt.UTC) if as_of is not None else None
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            fresh = self._fresh(key)
            if fresh is not None:
                return fresh
            snapshot = self._take(key)
            with self._lock:
                self._snapshots[key] = snapshot
                self._forget_old()
            return snapshot

    def _fresh(self, key: dt.datetime | None) -> Snapshot | None:
        with self._lock:
            snapshot = self._snapshots.get(key)
        if snapshot is not None and self._clock() - snapshot.taken_at < self._interval:
            return snapshot
        return None

    def _forget_old(self) -> None:
        """Keep the newest ``keep`` snapshots (time travel visits many as-of times)."""
        if len(self._snapshots) > self._keep:
            oldest = sorted(self._snapshots, key=lambda k: self._snapshots[k].taken_at)
            for key in oldest[: len(self._snapshots) - self._keep]:
                del self._snapshots[key]


# --- Wiring for the pages -------------------------------------------------------------------

_CACHE_KEY = "SAYLAU_SNAPSHOTS"
_cache_lock = threading.Lock()


def current_settings() -> Settings:
    """The settings of the app serving this request (set by ``create_dashboard``)."""
    return flask.current_app.config["SAYLAU_SETTINGS"]  # type: ignore[no-any-return]


def reporting_moments(settings: Settings) -> list[dt.datetime]:
    election = settings.election()
    return [election.local(at) for at in election.reporting_times]


def snapshot_cache(app: flask.Flask) -> SnapshotCache:
    """The one cache of this app, made on first use (never at import time)."""
    with _cache_lock:
        cache: Any = app.config.get(_CACHE_KEY)
        if cache is None:
            context, settings = app.config["SAYLAU"], app.config["SAYLAU_SETTINGS"]
            moments = reporting_moments(settings)
            cache = SnapshotCache(
                lambda as_of: take_snapshot(context.warehouse, as_of, context.region_names,
                                            moments),
                settings.dashboard_snapshot_seconds)
            app.config[_CACHE_KEY] = cache
        return cache  # type: ignore[no-any-return]


def current_snapshot(as_of: dt.datetime | None = None) -> Snapshot:
    return snapshot_cache(flask.current_app).get(as_of)
