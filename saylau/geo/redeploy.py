"""Redeployment: which free observer should go to which uncovered station.

The goal is lexicographic: first cover the most priority (registered voters, incidents
nearby), then, among the assignments that do, travel the least in total. Each observer
covers one station and travels at most `max_km`.

Handing the whole thing to scipy's linear_sum_assignment with costs `-priority + tiny *
distance` is correct but slow: when every station costs almost the same for every
observer, its shortest augmenting paths explore the whole matrix (3,000 observers x
9,000 stations take a minute). So the work is split in two exact steps:

1. Which stations. Stations one observer each can reach form a transversal matroid, so
   taking stations in priority order and keeping each one for which an augmenting path
   to a free observer exists gives the maximum priority (the matroid greedy, which is
   optimal, unlike "nearest free observer first"). Observers found to have no
   augmenting path stay that way and are skipped from then on. Stations are fetched
   from a KD-tree in priority order, a chunk at a time, and the search stops once every
   observer is taken, so a city with tens of thousands of stations costs a few chunks.
2. Who goes where. Every assignment of maximum priority covers the same number of
   stations of each priority level (a matroid property). The candidates are the
   stations step 1 took plus, within a level, those that competed for the same
   observers; a linear_sum_assignment over them, with the per-level counts forced by
   "left uncovered" rows, finds the least total distance. Its costs are then plain
   distances, which it solves quickly.

Both steps are exact; tests compare them with a brute-force assignment on random cases.
Cost grows with the number of free observers: about a second for 1,000 observers and
30,000 uncovered stations in one region, a few seconds for 3,000.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.spatial import cKDTree

from saylau.geo.distance import chord_for_metres, haversine_m, metres_for_chord, unit_xyz

ASSIGNMENT_COLUMNS = ["observer_id", "station_id", "distance_km", "priority"]
MIN_CHUNK = 256
# Station priority when an incident was reported nearby: one incident weighs as much as
# this many registered voters (a default; regional leads can pass their own).
INCIDENT_WEIGHT = 500.0
INCIDENT_RADIUS_KM = 5.0

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def station_priority(stations: pd.DataFrame, incidents: pd.DataFrame | None = None,
                     radius_km: float = INCIDENT_RADIUS_KM,
                     incident_weight: float = INCIDENT_WEIGHT) -> pd.Series:
    """Registered voters plus `incident_weight` per incident (lon, lat) within `radius_km`."""
    priority = stations["registered_voters"].to_numpy(dtype=float)
    if incidents is not None and len(incidents) and len(stations):
        tree = cKDTree(unit_xyz(incidents["lon"], incidents["lat"]))
        nearby = tree.query_ball_point(unit_xyz(stations["lon"], stations["lat"]),
                                       chord_for_metres(radius_km * 1000), return_length=True)
        priority = priority + incident_weight * np.asarray(nearby, dtype=float)
    return pd.Series(priority, index=stations.index, name="priority")


def observer_positions(observers: pd.DataFrame, stations: pd.DataFrame,
                       station_column: str = "last_station") -> pd.DataFrame:
    """Observers with `lon`/`lat`: their GPS fix if they have one, else the position of
    the station in `station_column` (where they were last seen)."""
    where = stations.set_index("station_id")[["lon", "lat"]]
    fallback = where.reindex(observers[station_column]).to_numpy(dtype=float)
    result = observers.copy()
    for axis, column in enumerate(("lon", "lat")):
        given = (observers[column].to_numpy(dtype=float) if column in observers
                 else np.full(len(observers), np.nan))
        result[column] = np.where(np.isnan(given), fallback[:, axis], given)
    return result


def suggest_redeployment(observers: pd.DataFrame, uncovered: pd.DataFrame, max_km: float,
                         priority: str = "priority") -> pd.DataFrame:
    """The assignment of free observers (observer_id, lon, lat) to uncovered stations
    (station_id, lon, lat, and a `priority` column) that covers the most priority within
    `max_km` of travel each, and among those the least total distance.

    Returns observer_id, station_id, distance_km, priority; highest priority first.
    Stations with no positive priority are not worth a trip and are left out.
    """
    observers = observers[np.isfinite(observers[["lon", "lat"]].to_numpy(dtype=float)).all(axis=1)]
    worth = uncovered[(uncovered[priority].to_numpy(dtype=float) > 0)
                      & np.isfinite(uncovered[["lon", "lat"]].to_numpy(dtype=float)).all(axis=1)]
    # Highest priority first; ties keep the caller's order so results are reproducible.
    worth = worth.iloc[np.argsort(-worth[priority].to_numpy(dtype=float), kind="stable")]
    if observers.empty or worth.empty:
        return _empty_assignment()
    cover = _Cover(observers["lon"].to_numpy(dtype=float), observers["lat"].to_numpy(dtype=float),
                   worth["lon"].to_numpy(dtype=float), worth["lat"].to_numpy(dtype=float),
                   worth[priority].to_numpy(dtype=float), max_km * 1000.0)
    candidates = cover.candidates()
    rows, columns, distance_m = _least_distance(cover, candidates)
    chosen = worth.iloc[candidates[columns]]
    result = pd.DataFrame({
        "observer_id": observers["observer_id"].to_numpy()[rows],
        "station_id": chosen["station_id"].to_numpy(),
        "distance_km": distance_m / 1000.0,
        "priority": chosen[priority].to_numpy(dtype=float),
    })
    return result.sort_values(["priority", "distance_km"], ascending=[False, True],
                              ignore_index=True, kind="stable")


def _empty_assignment() -> pd.DataFrame:
    return pd.DataFrame({"observer_id": pd.Series(dtype=object),
                         "station_id": pd.Series(dtype=object),
                         "distance_km": pd.Series(dtype=float), "priority": pd.Series(dtype=float)})


@dataclass
class _Cover:
    """Step 1: the matroid greedy over stations sorted by priority (highest first)."""

    obs_lon: FloatArray
    obs_lat: FloatArray
    lon: FloatArray
    lat: FloatArray
    priority: FloatArray
    max_m: float
    station_of: IntArray = field(init=False)  # per observer: its station, or -1 if free
    observer_of: dict[int, int] = field(init=False, default_factory=dict)
    alive: npt.NDArray[np.bool_] = field(init=False)  # may still lie on an augmenting path
    seen: IntArray = field(init=False)  # per observer: the last search that reached it
    parent: IntArray = field(init=False)  # per observer: the station it was reached from
    search: int = field(init=False, default=0)  # how many searches so far
    neighbours: dict[int, IntArray] = field(init=False, default_factory=dict)
    taken: list[int] = field(init=False, default_factory=list)
    useful: list[int] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.station_of = np.full(self.obs_lon.size, -1, dtype=np.int64)
        self.alive = np.ones(self.obs_lon.size, dtype=bool)
        self.seen = np.zeros(self.obs_lon.size, dtype=np.int64)
        self.parent = np.full(self.obs_lon.size, -1, dtype=np.int64)

    def candidates(self) -> IntArray:
        """Stations that some maximum-priority assignment may use (sorted positions)."""
        start, size = 0, max(MIN_CHUNK, self.obs_lon.size)
        while start < self.lon.size and len(self.taken) < self.obs_lon.size:
            end = self._tie_safe_end(start + size)
            self._cover_chunk(start, end)
            start = end
        return np.union1d(np.asarray(self.taken, dtype=np.int64),
                          np.asarray(self.useful, dtype=np.int64))

    def _tie_safe_end(self, end: int) -> int:
        # Never split a run of equal priorities between chunks: step 2 needs every tie.
        if end >= self.lon.size:
            return self.lon.size
        last = self.priority[end - 1]
        return int(np.searchsorted(-self.priority, -last, side="right"))

    def _cover_chunk(self, start: int, end: int) -> None:
        indptr, observers = self._reach(start, end)
        reached = np.flatnonzero(np.diff(indptr)) + start
        for station in reached:
            near = observers[indptr[station - start]:indptr[station - start + 1]]
            self.neighbours[int(station)] = near
        # Runs of equal priority: see `useful`.
        runs = np.flatnonzero(np.diff(self.priority[reached])) + 1
        for run in np.split(reached, runs):
            if len(self.taken) == self.obs_lon.size:
                return
            self._cover_level([int(station) for station in run])

    def _cover_level(self, stations: list[int]) -> None:
        """Take the stations of one priority level, in order, where a path exists.

        A station of this level that a maximum-priority assignment could use is one with
        an augmenting path before any station of its own level was taken; when several
        compete, step 2 chooses among them by distance, so they are remembered as useful.
        """
        if len(stations) > 1:
            self.useful.extend(s for s in stations if self._augment(s, flip=False))
        for station in stations:
            if len(self.taken) == self.obs_lon.size:
                return
            if self._augment(station, flip=True):
                self.taken.append(station)

    def _reach(self, start: int, end: int) -> tuple[IntArray, IntArray]:
        """CSR (indptr, observers) of the observers within reach of stations start..end."""
        chunk = cKDTree(unit_xyz(self.lon[start:end], self.lat[start:end]))
        # Only observers still alive can be on an augmenting path; once most are tied up
        # (a city fills up after a few chunks) this keeps later chunks cheap.
        alive = np.flatnonzero(self.alive)
        observers = cKDTree(unit_xyz(self.obs_lon[alive], self.obs_lat[alive]))
        pairs = chunk.sparse_distance_matrix(observers, chord_for_metres(self.max_m),
                                             output_type="ndarray")
        keep = metres_for_chord(pairs["v"]) <= self.max_m
        # scipy's COO-to-CSR conversion groups the pairs by station in linear time.
        grouped = csr_matrix((np.ones(int(keep.sum()), dtype=np.int8),
                              (pairs["i"][keep], alive[pairs["j"][keep]])),
                             shape=(end - start, self.obs_lon.size))
        return grouped.indptr.astype(np.int64), grouped.indices.astype(np.int64)

    def _augment(self, station: int, flip: bool) -> bool:
        """Breadth-first search for an alternating path from `station` to a free observer;
        with `flip`, shift the stations along it so that `station` is covered.

        The loop is over the stations of the search front; each one's observers are
        handled as an array.
        """
        self.search += 1  # marks `seen` for this search without clearing it
        front, reached = [station], []
        while front:
            following: list[int] = []
            for current in front:
                near = self.neighbours[current]
                near = near[self.alive[near] & (self.seen[near] != self.search)]
                if near.size == 0:
                    continue
                self.seen[near] = self.search
                self.parent[near] = current
                free = near[self.station_of[near] < 0]
                if free.size:
                    if flip:
                        self._flip(int(free[0]))
                    return True
                reached.append(near)
                following.extend(self.station_of[near].tolist())
            front = following
        if reached:
            # No path from here: these observers are tied up for good (the greedy never
            # frees an observer), so later searches skip them.
            self.alive[np.concatenate(reached)] = False
        return False

    def _flip(self, observer: int) -> None:
        """Shift every station on the path to the next observer; the new one gets one too."""
        while True:
            station = int(self.parent[observer])
            previous = self.observer_of.get(station)  # None only for the new station
            self.station_of[observer] = station
            self.observer_of[station] = observer
            if previous is None:
                return
            observer = previous


def _least_distance(cover: _Cover, candidates: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
    """Step 2: observers to candidate stations with the least total distance, covering
    per priority level exactly as many stations as step 1 did (every maximum-priority
    assignment does). Returns observer rows, candidate positions, metres.
    """
    if candidates.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    distance = haversine_m(cover.obs_lon[:, None], cover.obs_lat[:, None],
                           cover.lon[candidates][None, :], cover.lat[candidates][None, :])
    reachable = distance <= cover.max_m
    observers = np.flatnonzero(reachable.any(axis=1))
    distance, reachable = distance[observers], reachable[observers]
    levels, level = np.unique(cover.priority[candidates], return_inverse=True)
    to_cover = np.bincount(np.searchsorted(levels, cover.priority[cover.taken]),
                           minlength=levels.size)
    spare = np.bincount(level, minlength=levels.size) - to_cover
    solve = _with_spare_rows if spare.sum() <= observers.size else _with_level_costs
    rows, columns = solve(distance / 1000.0, reachable, level, spare)
    real = (rows < observers.size)
    rows, columns = rows[real], columns[real]
    real = reachable[rows, columns]
    rows, columns = rows[real], columns[real]
    return observers[rows], columns, distance[rows, columns]


def _with_spare_rows(km: FloatArray, reachable: npt.NDArray[np.bool_], level: IntArray,
                     spare: IntArray) -> tuple[IntArray, IntArray]:
    """Distances only: each level gets as many "left uncovered" rows as it has stations
    beyond what step 1 covered there, usable for that level's stations only.

    Every station is then assigned, to an observer or to its level's spare row, so the
    covered count per level is forced and the costs are plain distances, which
    linear_sum_assignment solves fast (priority-laden costs make it crawl).
    """
    forbidden = float(km.max(initial=0.0)) * km.shape[1] + 1.0
    real = np.where(reachable, km, forbidden)
    owner = np.repeat(np.arange(spare.size), spare)  # the level of each spare row
    spares = np.where(owner[:, None] == level[None, :], 0.0, forbidden)
    return linear_sum_assignment(np.vstack([real, spares]))  # type: ignore[no-any-return]


def _with_level_costs(km: FloatArray, reachable: npt.NDArray[np.bool_], level: IntArray,
                      spare: IntArray) -> tuple[IntArray, IntArray]:
    """Many more stations than observers (few, much-tied priority levels): reward each
    reachable pair by its level, weighted so that one level outweighs any total distance.

    The best stations of a matroid depend only on the order of the priorities, so whole
    levels (1, 2, …) choose the same stations as the priorities themselves would.
    """
    weight = float(km.max(initial=0.0)) * min(km.shape) + 1.0
    return linear_sum_assignment(np.where(reachable, km - weight * (level[None, :] + 1), 0.0))  # type: ignore[no-any-return]
