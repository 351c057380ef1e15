"""Geography benchmark: registry validation, nearest-station lookups, redeployment.

Two countries: Kazakhstan-sized (10,000 stations, 20,000 observers) and a very large
one (1,000,000 stations, 1.2 billion voters). Each figure is printed beside a baseline
measured in the same run:

- validation: the whole import (read the CSV, check every field, point in declared
  region) against a per-point shapely loop doing only the point-in-region part, on a
  sample, scaled up to the full registry;
- nearest station: the KD-tree against brute-force haversine over every station;
- redeployment: the optimal assignment against "highest priority first takes the nearest
  free observer", in time and in priority covered.

The last line is machine-readable and describes the 1,000,000-station case.
Run: python bench/geo.py  (about two minutes on two cores)
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from saylau.geo.distance import chord_for_metres, haversine_m, unit_xyz
from saylau.geo.redeploy import station_priority, suggest_redeployment
from saylau.geo.regions import load_regions
from saylau.geo.registry import synthetic_registry, write_registry_csv
from saylau.geo.roster import check_roster_file, synthetic_roster
from saylau.geo.spatial import nearest_station, station_tree, uncovered_stations
from saylau.geo.validation import check_registry_file

SEED = 11
FIXES = 200_000
FIX_NOISE_M = 150.0  # GPS fixes scatter around the station they were sent from
NEAREST_RADIUS_M = 500.0
COVERED_SHARE = 0.7
INCIDENT_SHARE = 0.01
MAX_KM = 10.0
MOST_FREE_OBSERVERS = 1_000
TARGETS = {"validate_s": 30.0, "nearest_per_s": 100_000.0, "redeploy_s": 1.0}


@dataclass
class Figures:
    validate_s: float = 0.0
    nearest_per_s: float = 0.0
    redeploy_s: float = 0.0


def timed(work: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = work()
    return result, time.perf_counter() - start


def say(text: str) -> None:
    print(text, flush=True)


# --- validation -------------------------------------------------------------------------


def bench_validation(registry: pd.DataFrame, regions: gpd.GeoDataFrame, folder: Path) -> float:
    path = folder / "stations.csv"
    write_registry_csv(registry, path)
    check, seconds = timed(lambda: check_registry_file(path, regions))
    assert check.ok, check.messages()[:3]
    sample = min(20_000, len(registry))
    problems, loop_seconds = timed(lambda: naive_validation(path, sample, regions))
    assert problems == 0
    scaled = loop_seconds * len(registry) / sample
    say(f"  validate: {seconds:.2f} s for {len(registry):,} rows (read, every check, point in "
        f"region) = {len(registry) / seconds:,.0f} rows/s")
    say(f"    baseline: row-by-row loop (csv.DictReader, float(), a set for duplicates, "
        f"shapely Point in polygon): {loop_seconds:.2f} s for {sample:,} rows = "
        f"{sample / loop_seconds:,.0f} rows/s, ~{scaled:.1f} s for all")
    return seconds


def naive_validation(path: Path, rows: int, regions: gpd.GeoDataFrame) -> int:
    """The obvious importer: one Python turn per row, each check in turn.

    It gets its own copies of the polygons: the vectorised check prepares (indexes) the
    shared ones, which an obvious importer would not do.
    """
    fresh = shapely.from_wkb(shapely.to_wkb(regions.geometry.values))
    polygons = dict(zip(regions["region_code"], fresh, strict=True))
    seen: set[str] = set()
    problems = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for _, row in zip(range(rows), csv.DictReader(handle), strict=False):
            problems += naive_row_problems(row, seen, polygons)
    return problems


def naive_row_problems(row: dict[str, str], seen: set[str], polygons: dict[str, Any]) -> int:
    problems = sum(not row[field].strip() for field in
                   ("station_id", "name", "region_code", "address", "lat", "lon",
                    "registered_voters"))
    problems += row["station_id"] in seen
    seen.add(row["station_id"])
    try:
        lon, lat, voters = float(row["lon"]), float(row["lat"]), float(row["registered_voters"])
    except ValueError:
        return problems + 1
    problems += (not (-180 <= lon <= 180 and -90 <= lat <= 90)) + (voters <= 0)
    polygon = polygons.get(row["region_code"])
    return problems + (polygon is None or not polygon.intersects(shapely.Point(lon, lat)))


# --- nearest station --------------------------------------------------------------------


def bench_nearest(registry: pd.DataFrame, rng: np.random.Generator) -> float:
    index, build_seconds = timed(lambda: station_tree(registry))
    lon, lat = fixes_near(registry, FIXES, rng)
    found, seconds = timed(lambda: nearest_station(index, lon, lat, NEAREST_RADIUS_M))
    rate = FIXES / seconds
    sample = 1_000 if len(registry) <= 100_000 else 100
    brute, brute_seconds = timed(lambda: brute_nearest(registry, lon[:sample], lat[:sample]))
    assert (found["position"].to_numpy()[:sample] == brute).all()
    say(f"  nearest: tree built in {build_seconds:.2f} s; {FIXES:,} fixes in {seconds:.2f} s = "
        f"{rate:,.0f} lookups/s ({found['station_id'].notna().mean():.0%} within "
        f"{NEAREST_RADIUS_M:.0f} m)")
    say(f"    baseline: brute-force haversine over every station: "
        f"{sample / brute_seconds:,.0f} lookups/s (same answers on {sample} fixes)")
    return rate


def fixes_near(registry: pd.DataFrame, count: int, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    chosen = rng.integers(0, len(registry), count)
    noise = rng.normal(0.0, FIX_NOISE_M / 111_320.0, (count, 2))
    lat = registry["lat"].to_numpy()[chosen] + noise[:, 1]
    lon = registry["lon"].to_numpy()[chosen] + noise[:, 0] / np.cos(np.radians(lat))
    return lon, lat


def brute_nearest(registry: pd.DataFrame, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    station_lon, station_lat = registry["lon"].to_numpy(), registry["lat"].to_numpy()
    found = np.empty(lon.size, dtype=np.int64)
    for i in range(lon.size):
        distance = haversine_m(lon[i], lat[i], station_lon, station_lat)
        best = int(distance.argmin())
        found[i] = best if distance[best] <= NEAREST_RADIUS_M else -1
    return found


# --- redeployment -----------------------------------------------------------------------


def bench_redeploy(registry: pd.DataFrame, rng: np.random.Generator) -> float:
    covered = registry["station_id"].to_numpy()[rng.random(len(registry)) < COVERED_SHARE]
    uncovered = uncovered_stations(registry, covered)
    region = str(uncovered["region_code"].value_counts().idxmax())
    local = uncovered[uncovered["region_code"] == region].copy()
    incidents = registry.sample(int(len(registry) * INCIDENT_SHARE), random_state=SEED)
    local["priority"] = station_priority(local, incidents[["lon", "lat"]]).to_numpy()
    free = free_observers(registry[registry["region_code"] == region],
                          min(MOST_FREE_OBSERVERS, len(local) // 3), rng)
    result, seconds = timed(lambda: suggest_redeployment(free, local, MAX_KM))
    greedy, greedy_seconds = timed(lambda: greedy_assignment(free, local, MAX_KM))
    say(f"  redeploy: region {region}, {len(free):,} free observers, {len(local):,} uncovered "
        f"stations, {MAX_KM:.0f} km: {seconds:.2f} s, {len(result):,} assigned, priority "
        f"{result['priority'].sum():,.0f}, {result['distance_km'].sum():,.0f} km")
    say(f"    baseline: greedy (nearest free observer, highest priority first): "
        f"{greedy_seconds:.2f} s, {len(greedy):,} assigned, priority {sum(greedy):,.0f}")
    return seconds


def free_observers(stations: pd.DataFrame, count: int, rng: np.random.Generator
                   ) -> pd.DataFrame:
    """Observers a regional lead can move: near other stations of the region (~1 km)."""
    lon, lat = fixes_near(stations, count, rng)
    spread = rng.normal(0.0, 1_000.0 / 111_320.0, (2, count))
    return pd.DataFrame({"observer_id": [f"free-{i}" for i in range(count)],
                         "lon": lon + spread[0], "lat": lat + spread[1]})


def greedy_assignment(free: pd.DataFrame, uncovered: pd.DataFrame, max_km: float) -> list[float]:
    tree = cKDTree(unit_xyz(free["lon"], free["lat"]))
    taken = np.zeros(len(free), dtype=bool)
    order = uncovered.sort_values("priority", ascending=False)
    points = unit_xyz(order["lon"], order["lat"])
    covered: list[float] = []
    for point, priority in zip(points, order["priority"], strict=True):
        near = tree.query_ball_point(point, chord_for_metres(max_km * 1000))
        if not near:
            continue
        near = np.asarray(near)[~taken[near]]
        if near.size:
            taken[near[np.linalg.norm(tree.data[near] - point, axis=1).argmin()]] = True
            covered.append(float(priority))
        if taken.all():
            break
    return covered


# --- the two countries ------------------------------------------------------------------


def bench_roster(registry: pd.DataFrame, observers: int, folder: Path) -> None:
    roster = synthetic_roster(registry, observers, seed=SEED)
    path = folder / "roster.csv"
    pd.concat([roster.public, roster.private.drop(columns="observer_id")], axis=1).to_csv(
        path, index=False)
    check, seconds = timed(lambda: check_roster_file(
        path, set(registry["region_code"]), set(registry["station_id"])))
    assert check.ok
    say(f"  roster: {observers:,} observers validated in {seconds:.2f} s")


def bench_country(regions: gpd.GeoDataFrame, stations: int, voters: int, observers: int
                  ) -> Figures:
    say(f"== {stations:,} stations, {voters:,} voters"
        + (f", {observers:,} observers" if observers else ""))
    registry, seconds = timed(lambda: synthetic_registry(stations, voters, seed=SEED,
                                                         regions=regions))
    say(f"  generate: {seconds:.2f} s")
    rng = np.random.default_rng(SEED)
    figures = Figures()
    with tempfile.TemporaryDirectory() as folder:
        figures.validate_s = bench_validation(registry, regions, Path(folder))
        if observers:
            bench_roster(registry, observers, Path(folder))
    figures.nearest_per_s = bench_nearest(registry, rng)
    figures.redeploy_s = bench_redeploy(registry, rng)
    for name, target in TARGETS.items():
        value = getattr(figures, name)
        met = value >= target if name == "nearest_per_s" else value <= target
        say(f"  target {name}: {target:,.0f} -> {'met' if met else 'MISSED'} ({value:,.2f})")
    return figures


def main() -> None:
    regions = load_regions()
    bench_country(regions, 10_000, 12_000_000, 20_000)
    large = bench_country(regions, 1_000_000, 1_200_000_000, 0)
    say(f"geo_bench stations=1000000 validate_s={large.validate_s:.2f} "
        f"nearest_per_s={large.nearest_per_s:.0f} redeploy_s={large.redeploy_s:.3f}")


if __name__ == "__main__":
    main()
