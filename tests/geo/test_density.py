"""Incident density per 10,000 registered voters, on a grid and per region."""

import numpy as np
import pandas as pd
import pytest

from saylau.geo.density import incident_density, incidents_per_region
from saylau.geo.distance import EARTH_RADIUS_M


@pytest.fixture
def stations():
    return pd.DataFrame({
        "station_id": ["a", "b", "c", "d"],
        "region_code": ["R1", "R1", "R2", "R3"],
        "lon": [76.90, 76.9005, 71.45, 69.60],
        "lat": [43.25, 43.2505, 51.17, 42.32],
        "registered_voters": [12_000, 8_000, 5_000, 2_500],
    })


def test_incidents_per_region_are_per_10000_voters(stations):
    incidents = pd.DataFrame({"station_id": ["a", "a", "b", "c", "nowhere"]})

    per_region = incidents_per_region(incidents, stations)

    assert per_region["incidents"].tolist() == [3, 1, 0]  # the unknown station is not counted
    assert per_region["voters"].tolist() == [20_000, 5_000, 2_500]
    assert per_region["per_10k_voters"].tolist() == [1.5, 2.0, 0.0]


def test_grid_cells_sum_the_stations_inside_them(stations):
    incidents = pd.DataFrame({"station_id": ["a", "b", "b", "d"]})

    grid = incident_density(incidents, stations, cell_km=10)

    assert grid["stations"].sum() == 4 and len(grid) == 3  # a and b share a cell
    shared = grid[grid["stations"] == 2].iloc[0]
    assert (shared["voters"], shared["incidents"]) == (20_000, 3)
    assert shared["per_10k_voters"] == 1.5
    assert grid["per_10k_voters"].tolist().count(0.0) == 1  # c: no incidents


def test_each_cell_centre_is_within_half_a_diagonal_of_its_stations(stations):
    grid = incident_density(pd.DataFrame({"station_id": []}), stations, cell_km=5)
    for _, station in stations.iterrows():
        centre_distance = np.hypot(
            (grid["lon"] - station["lon"]) * np.cos(np.radians(station["lat"])),
            grid["lat"] - station["lat"]).min()
        assert np.radians(centre_distance) * EARTH_RADIUS_M <= 5_000 * np.sqrt(2) / 2 + 1


def test_cells_cover_equal_areas_north_and_south():
    """A cell of 20 km holds the same share of a uniform scatter at 42 and at 54 degrees."""
    rng = np.random.default_rng(2)
    count = 40_000
    lat = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(41)), np.sin(np.radians(55)),
                                           count)))  # uniform per area
    stations = pd.DataFrame({"station_id": np.arange(count).astype(str), "region_code": "R",
                             "lon": rng.uniform(60, 80, count), "lat": lat,
                             "registered_voters": 1})
    grid = incident_density(pd.DataFrame({"station_id": []}), stations, cell_km=100)
    inner = grid[(grid["lat"].between(43, 53)) & (grid["lon"].between(63, 77))]
    south, north = inner[inner["lat"] < 46], inner[inner["lat"] > 50]
    assert south["stations"].mean() == pytest.approx(north["stations"].mean(), rel=0.1)
