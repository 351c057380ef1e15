"""Geofence, nearest station and coverage gaps."""

import numpy as np
import pandas as pd
import pytest

from saylau.geo.distance import EARTH_RADIUS_M, haversine_m
from saylau.geo.spatial import (
    coverage_gaps,
    geofence_flags,
    nearest_station,
    station_tree,
    uncovered_stations,
    within_geofence,
)

STATION = (76.92, 43.26)  # Almaty


def north_of(lon, lat, metres):
    """A point exactly `metres` north along the meridian (a great circle)."""
    return lon, lat + np.degrees(metres / EARTH_RADIUS_M)


@pytest.mark.parametrize(
    ("metres", "radius", "within"),
    [
        (0.0, 0.0, True),
        (99.0, 100.0, True),
        (100.0, 100.0, True),  # exactly at the boundary: within
        (100.01, 100.0, False),
        (100.0, 99.99, False),
        (250.0, 100.0, False),
    ],
)
def test_geofence_at_and_around_its_boundary(metres, radius, within):
    fix = north_of(*STATION, metres)
    assert haversine_m(*STATION, *fix) == pytest.approx(metres, abs=1e-6)
    assert within_geofence([STATION], [fix], radius).tolist() == [within]


def test_geofence_is_vectorised_with_a_radius_per_fix():
    fixes = [north_of(*STATION, metres) for metres in (10, 200, 600)]
    result = within_geofence([STATION] * 3, fixes, np.array([50, 100, 1000]))
    assert result.tolist() == [True, False, True]


def test_checkins_far_from_their_station_are_flagged_not_dropped():
    stations = pd.DataFrame({"station_id": ["A"], "lon": [STATION[0]], "lat": [STATION[1]]})
    near, far = north_of(*STATION, 30), north_of(*STATION, 400)
    checkins = pd.DataFrame({
        "station_id": ["A", "A", "A", "unknown"],
        "lon": [near[0], far[0], np.nan, far[0]],
        "lat": [near[1], far[1], np.nan, far[1]],
    })

    flags = geofence_flags(checkins, stations, radius_m=100)

    assert flags.tolist() == [False, True, False, False]  # no fix, unknown: not flagged
    assert flags.index.equals(checkins.index)


@pytest.fixture
def line_of_stations():
    """Stations 0, 1 km, 2 km … 9 km north of the first."""
    points = [north_of(*STATION, 1000 * k) for k in range(10)]
    return pd.DataFrame({"station_id": [f"S{k}" for k in range(10)],
                         "lon": [p[0] for p in points], "lat": [p[1] for p in points]})


def test_nearest_station_within_the_radius_and_none_beyond(line_of_stations):
    index = station_tree(line_of_stations)
    fixes = [north_of(*STATION, metres) for metres in (3_040, 7_700, 20_000)]

    found = nearest_station(index, [f[0] for f in fixes], [f[1] for f in fixes], max_m=100)

    assert found["station_id"].iloc[0] == "S3" and found["station_id"].iloc[1:].isna().all()
    assert found["position"].tolist() == [3, -1, -1]
    assert found["distance_m"].iloc[0] == pytest.approx(40.0, abs=1e-3)
    assert found["distance_m"].iloc[1:].isna().all()


def test_nearest_station_counts_a_fix_exactly_at_the_radius(line_of_stations):
    fix = north_of(*STATION, 5_250)
    found = nearest_station(station_tree(line_of_stations), fix[0], fix[1], max_m=250)
    assert found["station_id"].tolist() == ["S5"]


def test_nearest_station_agrees_with_brute_force(regions):
    rng = np.random.default_rng(4)
    stations = pd.DataFrame({"station_id": [f"S{i}" for i in range(2000)],
                             "lon": rng.uniform(50, 87, 2000), "lat": rng.uniform(41, 55, 2000)})
    lon, lat = rng.uniform(50, 87, 300), rng.uniform(41, 55, 300)

    found = nearest_station(station_tree(stations), lon, lat, max_m=30_000)

    distances = haversine_m(lon[:, None], lat[:, None], stations["lon"].to_numpy()[None, :],
                            stations["lat"].to_numpy()[None, :])
    best = distances.argmin(axis=1)
    expected = np.where(distances.min(axis=1) <= 30_000, best, -1)
    assert found["position"].tolist() == expected.tolist()


def test_coverage_gaps_are_weighted_by_registered_voters():
    stations = pd.DataFrame({
        "station_id": ["a", "b", "c", "d", "e"],
        "region_code": ["R1", "R1", "R2", "R2", "R3"],
        "registered_voters": [1000, 3000, 100, 100, 500],
    })

    gaps = coverage_gaps(stations, covered_ids=["a", "e"])

    # R1 misses one big station, R2 two small ones: R1 comes first, by voters.
    assert gaps.index.tolist() == ["R1", "R2", "R3"]
    assert gaps["uncovered"].tolist() == [1, 2, 0]
    assert gaps["uncovered_voters"].tolist() == [3000, 200, 0]
    assert gaps["uncovered_share"].tolist() == [0.75, 1.0, 0.0]
    assert uncovered_stations(stations, ["a", "e"])["station_id"].tolist() == ["b", "c", "d"]
