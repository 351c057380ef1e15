"""The polling-station registry: a synthetic generator and CSV reading/writing.

The synthetic registry stands in for the real one in development, demos and load tests.
It is deterministic for a given seed, exact in its totals, and every station lies inside
its declared region, so the same invariants the importer checks hold for it too.
Everything is vectorised per region (about 20 loop turns), never per station, so a
million stations take seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from saylau.core.settings import Settings
from saylau.geo.places import places_frame
from saylau.geo.regions import CITY_REGION_CODES, REGION_POPULATION, load_regions

log = logging.getLogger("saylau")

REGISTRY_COLUMNS = [
    "station_id",
    "name",
    "region_code",
    "district",
    "settlement",
    "address",
    "lat",
    "lon",
    "registered_voters",
]
REGISTRY_DTYPES = {
    **{column: "str" for column in REGISTRY_COLUMNS},
    "lat": "float64",
    "lon": "float64",
    "registered_voters": "int64",
}

# Share of stations drawn around a known town; the rest are rural, anywhere in the region.
URBAN_SHARE = 0.75
RURAL_SETTLEMENT = "rural"
MIN_STATION_VOTERS = 50
# Typical stations have 300-3000 voters: lognormal spread around the region's mean size,
# clipped so no station is absurdly small or large, rural ones about half the urban size.
VOTER_SPREAD_SIGMA = 0.45
VOTER_SPREAD_CLIP = (0.4, 2.2)
RURAL_SIZE_FACTOR = 0.55
COORDINATE_DECIMALS = 5  # about 1 m
KM_PER_DEGREE_LAT = 111.32
# Rejection sampling redraws only the points that fell outside; each round keeps a fixed
# share of the rest, so 200 rounds is far more than a real region needs.
MAX_SAMPLING_ROUNDS = 200


def synthetic_registry(
    n_stations: int = 10_000,
    total_voters: int = 12_000_000,
    seed: int = 2026,
    regions: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """A plausible registry of `n_stations` stations holding exactly `total_voters` voters.

    Stations and voters are shared among regions in proportion to REGION_POPULATION.
    The 50-voter floor per station is lowered when there are too few voters to honour
    it (for example a million stations for 12 million voters, in load tests).
    """
    if total_voters < n_stations:
        raise ValueError(f"total_voters ({total_voters}) must be at least n_stations")
    regions = (load_regions() if regions is None else regions).sort_values("region_code")
    populations = _region_populations(regions["region_code"])
    station_counts = apportion(populations, n_stations, minimum=1)
    voter_totals = apportion(populations, total_voters)
    places = places_frame()
    rng = np.random.default_rng(seed)
    frames = [
        _region_registry(region, int(count), int(voters), places, rng)
        for region, count, voters in zip(
            regions.itertuples(index=False), station_counts, voter_totals, strict=True
        )
    ]
    registry = pd.concat(frames, ignore_index=True)
    return registry.sort_values("station_id", ignore_index=True, kind="stable")


def _region_populations(codes: pd.Series) -> npt.NDArray[np.float64]:
    unknown = sorted(set(codes) - set(REGION_POPULATION))
    if unknown:
        raise ValueError(f"no population known for regions {unknown}")
    return np.array([REGION_POPULATION[code] for code in codes], dtype=float)


def apportion(weights: npt.ArrayLike, total: int, minimum: int = 0) -> npt.NDArray[np.int64]:
    """Split integer `total` in proportion to `weights` by largest remainder.

    The parts sum exactly to `total` and each is within one of its exact quota, except
    where a part had to be raised to `minimum` (taken from the largest parts).
    """
    weights = np.asarray(weights, dtype=float)
    if total < minimum * weights.size:
        raise ValueError(f"cannot give {weights.size} parts at least {minimum} out of {total}")
    quotas = weights / weights.sum() * total
    parts = np.floor(quotas).astype(np.int64)
    # Stable sort so equal remainders are resolved by position: determinism.
    by_remainder = np.argsort(-(quotas - parts), kind="stable")
    parts[by_remainder[: total - parts.sum()]] += 1
    while (parts < minimum).any():
        parts[np.argmax(parts)] -= 1
        parts[np.argmin(parts)] += 1
    return parts


def _region_registry(
    region: Any, count: int, voters: int, places: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    polygon = region.geometry
    local = places[places["region_code"] == region.region_code].reset_index(drop=True)
    urban_share = 1.0 if region.region_code in CITY_REGION_CODES else URBAN_SHARE
    centre = _choose_places(count, local, urban_share, rng)
    lon, lat = _station_points(polygon, local, centre, rng)
    urban = centre >= 0
    district, settlement = _district_and_settlement(lon, lat, local, centre, region.region_name)
    sizes = _split_voters(voters, urban, rng)
    order = _numbering_order(district, urban, lat)
    numbers = pd.Series(np.arange(1, count + 1)).astype(str)
    stations = pd.DataFrame(
        {
            "district": district[order],
            "settlement": settlement[order],
            "lat": lat[order],
            "lon": lon[order],
            "registered_voters": sizes[order],
        }
    )
    width = max(4, len(str(count)))
    stations.insert(0, "station_id", region.region_code + "-" + numbers.str.zfill(width))
    stations.insert(1, "name", "Polling station No. " + numbers)
    stations.insert(2, "region_code", region.region_code)
    stations.insert(5, "address", _addresses(stations, urban[order], rng))
    return stations[REGISTRY_COLUMNS]


def _choose_places(
    count: int, places: pd.DataFrame, urban_share: float, rng: np.random.Generator
) -> npt.NDArray:
    """Index of the place each station clusters around, or -1 for a rural station."""
    centre = np.full(count, -1, dtype=np.int64)
    if places.empty:
        return centre
    urban = rng.random(count) < urban_share
    weights = places["population"].to_numpy(dtype=float)
    centre[urban] = rng.choice(len(places), size=int(urban.sum()), p=weights / weights.sum())
    return centre


def _spread_km(population: npt.NDArray) -> npt.NDArray[np.float64]:
    # Bigger towns sprawl further: ~2 km for a small town, ~8 km for half a million.
    return np.clip(1.2 * np.sqrt(population / 10_000), 2.0, 20.0)


def _station_points(
    polygon: Any, places: pd.DataFrame, centre: npt.NDArray, rng: np.random.Generator
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Urban stations scatter around their place (gaussian); rural ones uniformly."""
    urban = centre >= 0
    centre_lon, centre_lat, sigma_lat = _cluster_centres(places, centre)
    sigma_lon = sigma_lat / np.cos(np.radians(centre_lat))
    min_lon, min_lat, max_lon, max_lat = polygon.bounds

    def propose(pending: npt.NDArray) -> tuple[npt.NDArray, npt.NDArray]:
        lon = rng.uniform(min_lon, max_lon, pending.size)
        lat = rng.uniform(min_lat, max_lat, pending.size)
        near = urban[pending]
        if near.any():
            chosen = pending[near]
            lon[near] = rng.normal(centre_lon[chosen], sigma_lon[chosen])
            lat[near] = rng.normal(centre_lat[chosen], sigma_lat[chosen])
        return lon, lat

    return _sample_inside(polygon, propose, centre.size)


def _cluster_centres(
    places: pd.DataFrame, centre: npt.NDArray
) -> tuple[npt.NDArray, npt.NDArray, npt.NDArray]:
    """Per station: its place's lon, lat and spread in degrees (zeros for rural stations)."""
    if places.empty:
        return np.zeros(centre.size), np.zeros(centre.size), np.zeros(centre.size)
    index = np.where(centre >= 0, centre, 0)  # rural rows borrow place 0; they never use it
    spread = _spread_km(places["population"].to_numpy(dtype=float)) / KM_PER_DEGREE_LAT
    return (
        places["lon"].to_numpy(dtype=float)[index],
        places["lat"].to_numpy(dtype=float)[index],
        np.where(centre >= 0, spread[index], 0.0),
    )


def _sample_inside(
    polygon: Any,
    propose: Callable[[npt.NDArray], tuple[npt.NDArray, npt.NDArray]],
    count: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Vectorised rejection sampling: redraw the points outside until none are left.

    Points are rounded before the check so that the stored coordinates are the ones
    that were tested (rounding can push a point across a border).
    """
    lon = np.empty(count)
    lat = np.empty(count)
    pending = np.arange(count)
    shapely.prepare(polygon)
    for _ in range(MAX_SAMPLING_ROUNDS):
        if pending.size == 0:
            return lon, lat
        candidate_lon, candidate_lat = (
            np.round(values, COORDINATE_DECIMALS) for values in propose(pending)
        )
        inside = shapely.contains_xy(polygon, candidate_lon, candidate_lat)
        lon[pending[inside]] = candidate_lon[inside]
        lat[pending[inside]] = candidate_lat[inside]
        pending = pending[~inside]
    if pending.size:
        raise RuntimeError(f"could not place {pending.size} stations inside their region")
    return lon, lat


def _district_and_settlement(
    lon: npt.NDArray,
    lat: npt.NDArray,
    places: pd.DataFrame,
    centre: npt.NDArray,
    region_name: str,
) -> tuple[npt.NDArray, npt.NDArray]:
    """Urban stations take their place's names; rural ones the district of the nearest place."""
    urban = centre >= 0
    settlement = np.full(lon.size, RURAL_SETTLEMENT, dtype=object)
    if places.empty:
        return np.full(lon.size, region_name, dtype=object), settlement
    nearest = np.where(urban, centre, _nearest_place(lon, lat, places))
    district = places["district"].to_numpy(dtype=object)[nearest]
    settlement[urban] = places["name"].to_numpy(dtype=object)[centre[urban]]
    return district, settlement


def _nearest_place(lon: npt.NDArray, lat: npt.NDArray, places: pd.DataFrame) -> npt.NDArray:
    # Equirectangular distance: a region's dozen places, so a points x places matrix is small.
    place_lon = places["lon"].to_numpy(dtype=float)
    place_lat = places["lat"].to_numpy(dtype=float)
    dx = (lon[:, None] - place_lon[None, :]) * np.cos(np.radians(lat))[:, None]
    dy = lat[:, None] - place_lat[None, :]
    return np.argmin(dx * dx + dy * dy, axis=1)


def _split_voters(voters: int, urban: npt.NDArray, rng: np.random.Generator) -> npt.NDArray:
    """Integer station sizes summing exactly to `voters`, urban stations bigger."""
    count = urban.size
    floor = min(MIN_STATION_VOTERS, voters // count)
    weights = np.clip(rng.lognormal(0.0, VOTER_SPREAD_SIGMA, count), *VOTER_SPREAD_CLIP)
    weights *= np.where(urban, 1.0, RURAL_SIZE_FACTOR)
    return floor + apportion(weights, voters - floor * count)


def _numbering_order(district: npt.NDArray, urban: npt.NDArray, lat: npt.NDArray) -> npt.NDArray:
    # Number stations district by district, town before countryside, north to south,
    # as real registries do, so neighbouring numbers are neighbouring stations.
    district_rank = pd.factorize(district, sort=True)[0]
    return np.lexsort((-lat, ~urban, district_rank))


def _addresses(stations: pd.DataFrame, urban: npt.NDArray, rng: np.random.Generator) -> pd.Series:
    school = pd.Series(rng.integers(1, 120, len(stations))).astype(str)
    town = "School No. " + school + ", " + stations["settlement"]
    village = "Village school No. " + school + ", " + stations["district"]
    return town.where(urban, village)


def write_registry_csv(registry: pd.DataFrame, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    registry[REGISTRY_COLUMNS].to_csv(path, index=False)


def read_registry_csv(path: str | Path) -> pd.DataFrame:
    """Read a registry CSV with fixed dtypes. Row-by-row validation lives in the importer."""
    # keep_default_na=False: an empty district is "", not NaN, and "NA" stays a name.
    return pd.read_csv(path, dtype=REGISTRY_DTYPES, keep_default_na=False)[REGISTRY_COLUMNS]


def registry_path_or_generate(
    path: str | Path, n_stations: int = 10_000, seed: int = 2026
) -> pd.DataFrame:
    """Read the registry at `path`; if there is none yet, generate it and save it there.

    An existing file is returned as is, whatever `n_stations` and `seed` say.
    """
    path = Path(path)
    if path.exists():
        return read_registry_csv(path)
    registry = synthetic_registry(n_stations=n_stations, seed=seed)
    write_registry_csv(registry, path)
    return registry


def load_registry(settings: Settings) -> pd.DataFrame:
    """The registry the settings name, generated (synthetic, seeded) if the file is missing."""
    registry = registry_path_or_generate(settings.registry_path, settings.registry_stations,
                                         settings.registry_seed)
    log.info("station registry: %d stations, %d registered voters (%s)", len(registry),
             int(registry["registered_voters"].sum()), settings.registry_path)
    return registry
