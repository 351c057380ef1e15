"""Spatial questions about stations, each answered for whole arrays at once.

Nearest-station lookups use a KD-tree over unit-sphere coordinates (saylau.geo.distance), so a
lookup costs O(log n) in C rather than a Python loop over stations; distances reported
are haversine metres. Region membership lives in saylau.geo.regions.region_of_points.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial import cKDTree

from saylau.geo.distance import chord_for_metres, haversine_m, unit_xyz

# Distances are compared with this slack (1 mm) so that a fix exactly at the radius is
# inside even when the floating-point haversine comes out a hair above it.
GEOFENCE_SLACK_M = 1e-3


@dataclass(frozen=True, eq=False)
class StationTree:
    """Stations in a KD-tree: build once per registry, query many times."""

    station_ids: npt.NDArray[np.object_]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    tree: cKDTree


def station_tree(stations: pd.DataFrame) -> StationTree:
    """Index the `station_id, lon, lat` of a registry."""
    lon = stations["lon"].to_numpy(dtype=float)
    lat = stations["lat"].to_numpy(dtype=float)
    # balanced_tree=False builds several times faster on a million points and queries
    # about as fast; compact_nodes likewise.
    tree = cKDTree(unit_xyz(lon, lat), balanced_tree=False, compact_nodes=False)
    return StationTree(stations["station_id"].to_numpy(dtype=object), lon, lat, tree)


def nearest_station(
    index: StationTree, lon: npt.ArrayLike, lat: npt.ArrayLike, max_m: float
) -> pd.DataFrame:
    """For each fix, the nearest station within `max_m` metres.

    Returns one row per fix: `station_id` (missing, NA, when no station is that close),
    `position` (the station's row in the registry, -1 when none) and `distance_m`
    (haversine metres, NaN when none).
    """
    lon = np.atleast_1d(np.asarray(lon, dtype=float))
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    chord, position = index.tree.query(unit_xyz(lon, lat), k=1,
                                       distance_upper_bound=chord_for_metres(max_m))
    found = np.isfinite(chord)
    position = np.where(found, position, -1)
    distance = np.full(lon.size, np.nan)
    chosen = position[found]
    distance[found] = haversine_m(lon[found], lat[found], index.lon[chosen], index.lat[chosen])
    found &= ~(distance > max_m + GEOFENCE_SLACK_M)  # the chord bound is a hair generous
    station = np.full(lon.size, None, dtype=object)
    station[found] = index.station_ids[position[found]]
    return pd.DataFrame({"station_id": station, "position": np.where(found, position, -1),
                         "distance_m": np.where(found, distance, np.nan)})


def within_geofence(
    station_lonlat: npt.ArrayLike, fix_lonlat: npt.ArrayLike, radius_m: float | npt.ArrayLike
) -> npt.NDArray[np.bool_]:
    """Whether each fix (n x 2 lon, lat) is within `radius_m` metres of its station.

    A fix exactly at the radius is within. This is a flag for people to look at, not a
    reason to reject a check-in: GPS in a concrete school can be off by a lot.
    """
    station = np.atleast_2d(np.asarray(station_lonlat, dtype=float))
    fix = np.atleast_2d(np.asarray(fix_lonlat, dtype=float))
    distance = haversine_m(station[:, 0], station[:, 1], fix[:, 0], fix[:, 1])
    return np.asarray(distance <= np.asarray(radius_m, dtype=float) + GEOFENCE_SLACK_M)


def geofence_flags(checkins: pd.DataFrame, stations: pd.DataFrame, radius_m: float) -> pd.Series:
    """True for check-ins (station_id, lon, lat) whose fix is beyond `radius_m` of their
    station. A check-in without a fix, or at an unknown station, is not flagged."""
    where = stations.set_index("station_id")[["lon", "lat"]]
    station = where.reindex(checkins["station_id"]).to_numpy(dtype=float)
    fix = checkins[["lon", "lat"]].to_numpy(dtype=float)
    known = ~np.isnan(station).any(axis=1) & ~np.isnan(fix).any(axis=1)
    outside = np.zeros(len(checkins), dtype=bool)
    outside[known] = ~within_geofence(station[known], fix[known], radius_m)
    return pd.Series(outside, index=checkins.index, name="outside_geofence")


def uncovered_stations(stations: pd.DataFrame, covered_ids: Iterable[str]) -> pd.DataFrame:
    """The stations whose id is not among `covered_ids` (no observer present)."""
    covered = stations["station_id"].isin(pd.Index(list(covered_ids)))
    return stations[~covered.to_numpy()]


def coverage_gaps(stations: pd.DataFrame, covered_ids: Iterable[str]) -> pd.DataFrame:
    """Per region: stations and voters without an observer, worst first.

    Columns: stations, uncovered, voters, uncovered_voters, and uncovered_share, the
    share of the region's registered voters whose station nobody watches (a big urban
    station counts for more than a small village one). Sorted by uncovered_voters.
    """
    covered = stations["station_id"].isin(pd.Index(list(covered_ids))).to_numpy()
    voters = stations["registered_voters"].to_numpy(dtype=np.int64)
    frame = pd.DataFrame({
        "region_code": stations["region_code"].to_numpy(),
        "stations": 1,
        "uncovered": (~covered).astype(np.int64),
        "voters": voters,
        "uncovered_voters": np.where(covered, 0, voters),
    })
    gaps = frame.groupby("region_code").sum()
    gaps["uncovered_share"] = gaps["uncovered_voters"] / gaps["voters"].where(gaps["voters"] > 0)
    return gaps.sort_values(["uncovered_voters", "uncovered"], ascending=False, kind="stable")
