"""The state of every station at one moment, assembled from the warehouse's answers.

One query gives each station's registry data and the inputs of its state (latest
turnout by source, presence, the times of the latest check and assignment); the
assembly (coverage, types) is pure and vectorised, so it is tested in memory.

"Now" reads pre-aggregated latest-state tables; a moment before the newest event reads
the raw archive, so late and out-of-order events count where they belong either way.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from saylau.warehouse import queries
from saylau.warehouse.client import Warehouse

COVERAGE_STATES = ("present", "en_route", "removed", "absent")
STATE_COLUMNS = ["station_id", "region_code", "lat", "lon", "registered_voters", "ballots",
                 "ballots_official", "present", "removed", "coverage", "covered"]
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' own text type, "str"
NO_TIME = pd.Timestamp("2000-01-01", tz="UTC")  # ClickHouse's "none" is 1970-01-01


def turnout_percent(ballots: pd.Series, registered: pd.Series) -> pd.Series:
    """Turnout in percent, rounded to 0.1, the figure every page shows."""
    share = ballots.astype("float64") * 100.0 / registered.where(registered > 0)
    return share.fillna(0.0).round(1)


def coverage(present: pd.Series, removed: pd.Series, assigned_at: pd.Series,
             changed_at: pd.Series) -> pd.Series:
    """present > en route (assigned after the last check-in/out) > removed > absent."""
    assigned_after = assigned_at.notna() & (changed_at.isna() | (assigned_at > changed_at))
    choice = np.select(
        [present.to_numpy(dtype=bool), assigned_after.to_numpy(dtype=bool),
         removed.to_numpy(dtype=bool)], [0, 1, 2], default=3)
    # Arrow's take copies the four names' bytes: ten times faster at a million stations
    # than pandas turning an array of Python strings into its text type.
    states = pa.array(COVERAGE_STATES).take(pa.array(choice))
    return pd.Series(states, index=present.index, name="coverage", dtype=TEXT)


def assemble(inputs: pd.DataFrame) -> pd.DataFrame:
    """The station state from ``queries.station_state_inputs``' frame (its columns are
    shared, not copied: pandas copies on write), its ``fingerprint`` kept if it has one."""
    changed_at, assigned_at = (_moment_or_none(inputs[c]) for c in ("changed_at",
                                                                     "assigned_at"))
    state = inputs.assign(
        coverage=coverage(inputs["present"], inputs["removed"], assigned_at, changed_at),
        covered=inputs["present"])
    return state[STATE_COLUMNS + [c for c in ("fingerprint",) if c in inputs.columns]]


def combine(stations: pd.DataFrame, turnout: pd.DataFrame, presence: pd.DataFrame,
            assignments: pd.DataFrame) -> pd.DataFrame:
    """The station state from the separate answers of ``queries.stations``,
    ``station_turnout``, ``station_presence`` and ``station_assignments`` (in the
    registry's order), for callers that hold those already."""
    inputs = stations[["station_id", "region_code", "lat", "lon", "registered_voters"]]
    inputs = inputs.reset_index(drop=True)
    index = pd.Index(inputs["station_id"])
    for source, column in (("observer_count", "ballots"), ("official", "ballots_official")):
        inputs[column] = _per_station(turnout[turnout["source"] == source], "ballots", index)
    for column in ("present", "removed", "changed_at"):
        inputs[column] = _per_station(presence, column, index)
    inputs["assigned_at"] = _per_station(assignments, "assigned_at", index)
    for column in ("ballots", "ballots_official", "present", "removed"):
        inputs[column] = inputs[column].fillna(0).astype("int64")
    return assemble(inputs)


def _per_station(frame: pd.DataFrame, column: str, index: pd.Index) -> pd.Series:
    values = frame.groupby("station_id")[column].max().reindex(index)
    return pd.Series(values.to_numpy(), index=range(len(index)))


def _moment_or_none(column: pd.Series) -> pd.Series:
    moments = pd.to_datetime(column, utc=True)
    return moments.where(moments >= NO_TIME)


def station_state(wh: Warehouse, as_of: dt.datetime | None = None,
                  region: str | None = None, ordered: bool = True) -> pd.DataFrame:
    """Every station (of ``region``, or all) as of ``as_of`` (default: everything received),
    one row each, always in the same order (not the registry's: see queries.STATION_STATE);
    not ``ordered``: in any order, faster, with a ``fingerprint`` of each station's row."""
    return assemble(_latest_state(
        wh, as_of, lambda now: queries.station_state_inputs(wh, as_of, region, now, ordered),
        ["turnout_at", "changed_at"]))


def region_observers(wh: Warehouse, region: str,
                     as_of: dt.datetime | None = None) -> pd.DataFrame:
    """The observers last seen in ``region`` as of ``as_of``, with their last station and
    status (free observers for redeployment are those whose status is a check-out)."""
    observers = _latest_state(
        wh, as_of, lambda now: queries.region_observers(wh, region, as_of, now),
        ["changed_at"])
    observers["changed_at"] = _moment_or_none(observers["changed_at"])
    return observers


def _latest_state(wh: Warehouse, as_of: dt.datetime | None,
                  read: Callable[[bool], pd.DataFrame], times: list[str]) -> pd.DataFrame:
    """``read(now=True)`` (pre-aggregated) when it is the state as of ``as_of``, else
    ``read(now=False)`` (the archive).

    The pre-aggregated tables hold every event received: they are the state as of
    ``as_of`` when no event is later than it. The newest event time says whether to try;
    the answer's own newest times (``times``) confirm it, so an event stored meanwhile
    with a later time sends the question to the archive.
    """
    if as_of is None:
        return read(True)
    latest = queries.latest_event_time(wh)
    if latest is None or latest <= as_of:
        answer = read(True)
        if _newest(answer, times) <= as_of:
            return answer
    return read(False)


def _newest(frame: pd.DataFrame, times: list[str]) -> dt.datetime:
    newest = max((_moment_or_none(frame[c]).max() for c in times), default=pd.NaT)
    return NO_TIME.to_pydatetime() if pd.isna(newest) else newest.to_pydatetime()


def region_turnout(state: pd.DataFrame, totals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per region: stations, registered, ballots, covered stations and turnout (``totals``:
    the state's ``region_totals``, if made already)."""
    totals = region_totals(state) if totals is None else totals
    grouped = totals[["stations", "registered", "ballots", "covered_stations"]].reset_index()
    grouped["turnout_pct"] = turnout_percent(grouped["ballots"], grouped["registered"])
    return grouped


def region_totals(state: pd.DataFrame) -> pd.DataFrame:
    """Per region (sorted; the index): stations, registered voters, ballots, covered
    stations, and the stations and voters without an observer present. Every per-region
    figure of the wall comes from this one pass over the stations."""
    covered = state["covered"].to_numpy(dtype=bool)
    voters = state["registered_voters"].to_numpy(dtype="int64")
    return sums_by(state["region_code"], {
        "registered": voters, "ballots": state["ballots"], "covered_stations": covered,
        "uncovered": ~covered, "uncovered_voters": voters * ~covered}, rows="stations")


def sums_by(keys: pd.Series, columns: dict[str, pd.Series | np.ndarray],
            rows: str = "rows", sort: bool = True) -> pd.DataFrame:
    """Per distinct key (the index, named as ``keys``; sorted unless not ``sort``): the
    number of ``rows`` and the sum of each integer column, as int64. A pandas groupby
    takes about 30 ms per call on a million text keys; the keys encoded once and each
    column summed by ``bincount``, a third of that. ``bincount`` adds in float64: exact
    for totals below 2**53."""
    codes, uniques = pd.factorize(keys, sort=sort)
    known = slice(None) if codes.min(initial=0) >= 0 else codes >= 0  # missing: nowhere
    codes = codes[known]
    sums = {rows: np.bincount(codes, minlength=len(uniques))}
    for name, values in columns.items():
        weights = np.asarray(values, dtype="float64")[known]
        sums[name] = np.bincount(codes, weights=weights, minlength=len(uniques))
    return pd.DataFrame(sums, index=pd.Index(uniques, name=keys.name)).astype("int64")


# The headline and the region table of one station snapshot: the wall, the pages and the
# media bundles all count from these, so their figures always agree.
@dataclass(frozen=True)
class Headline:
    stations: int
    covered: int
    registered: int
    ballots: int

    @property
    def turnout_pct(self) -> float:
        return float(turnout_percent(pd.Series([self.ballots]), pd.Series([self.registered]))[0])


def headline(state: pd.DataFrame) -> Headline:
    return Headline(stations=len(state), covered=int(state["covered"].sum()),
                    registered=int(state["registered_voters"].sum()),
                    ballots=int(state["ballots"].sum()))


def region_summary(state: pd.DataFrame, region_names: dict[str, str],
                   totals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per region: stations, covered, registered, ballots and turnout, from one station snapshot
    (so the map, the table and the headline always add up to the same numbers; ``totals``:
    the state's ``region_totals``, if made already)."""
    grouped = region_turnout(state, totals).rename(columns={"covered_stations": "covered"})
    grouped["region_name"] = grouped["region_code"].map(region_names).fillna(grouped["region_code"])
    return grouped.sort_values("region_code").reset_index(drop=True)


# --- The registry kept between snapshots ---------------------------------------------------


@dataclass(frozen=True)
class _Registry:
    folder: str  # the stations table's folder (named by its UUID) ...
    blocks: queries.Blocks  # ... and the insert blocks its parts held when this was read
    frame: pd.DataFrame  # station_id, region_code, lat, lon, registered_voters
    index: pd.Index  # station_hash of each row (unique), looked up by hash
    row_hashes: np.ndarray  # registry_hash of each row


class RegistryCache:
    """The registry's million rows read once, kept while the stations table's parts hold
    the same insert blocks (merged or not: a registry is loaded before the day, not during
    it), for ``station_state``.

    The state is then the kept rows beside ``queries.station_events_state``'s, matched by
    the hashes of the ids, which must be the very same set (else the registry changed
    meanwhile, or two ids share a hash, and the state is read whole as before). Only for a
    warehouse whose tables live in folders named by their UUID (see
    ``saylau.dashboard.moments``); elsewhere the state is read whole every time.
    """

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], _Registry] = {}
        self._lock = threading.Lock()

    def station_state(self, wh: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
        """``station_state(wh, as_of, ordered=False)``, in another order (the same every
        time), its ``fingerprint`` also covering each station's registry row."""
        registry = self._registry(wh)
        if registry is not None:
            events = _latest_state(
                wh, as_of, lambda now: queries.station_events_state(wh, as_of, now),
                ["turnout_at", "changed_at"])
            # Each registry row's events row: the same hashes (they are unique in the
            # registry, and the events' come one per registered station), else no match.
            rows = registry.index.get_indexer(events["station_hash"].to_numpy(np.uint64))
            if len(rows) == len(registry.frame) and (rows >= 0).all():
                order = np.empty_like(rows)
                order[rows] = np.arange(len(rows))
                events = events.take(order).reset_index(drop=True)
                fingerprint = events["fingerprint"].to_numpy(dtype=np.uint64) \
                    + registry.row_hashes  # modulo 2**64
                columns = {c: events[c] for c in events.columns  # both indexed 0..n-1
                           if c not in ("station_hash", "fingerprint")}
                return assemble(registry.frame.assign(**columns, fingerprint=fingerprint))
            with self._lock:
                self._kept.pop((wh.url, wh.database), None)
        return station_state(wh, as_of, ordered=False)

    def _registry(self, wh: Warehouse) -> _Registry | None:
        parts = queries.table_parts(wh, "stations")
        folder = queries.parts_folder(parts)
        if folder is None or (parts["data_version"] != parts["first_block"]).any():
            return None
        key = (wh.url, wh.database)
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and kept.folder == folder \
                and queries.only_known_blocks(kept.blocks, parts):
            return kept
        rows = queries.station_registry(wh)
        hashes = rows["station_hash"].to_numpy(dtype=np.uint64)
        if len(hashes) > 1 and not (np.diff(hashes) > 0).all():  # two ids, one hash
            return None
        index = pd.Index(hashes)
        index.get_indexer(hashes[:1])  # its hash table, made once
        kept = _Registry(folder, queries.parts_blocks(parts),
                         rows[["station_id", "region_code", "lat", "lon",
                               "registered_voters"]].reset_index(drop=True),
                         index, rows["registry_hash"].to_numpy(dtype=np.uint64))
        with self._lock:
            self._kept[key] = kept
        return kept


REGISTRY = RegistryCache()
