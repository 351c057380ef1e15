"""Incident density: on a square grid and per region, per 10,000 registered voters.

A raw count of incidents mostly maps where people live. Dividing by the voters of the
stations in the same cell (or region) shows where incidents are unusually frequent.
Each incident counts at its station's position; incidents at stations missing from the
registry are not counted.

Cells are squares of equal area: positions are projected with the sinusoidal (equal
area) projection around the stations' central meridian, so a cell in the north of the
country covers as many square kilometres as one in the south.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from saylau.geo.distance import EARTH_RADIUS_M

PER_VOTERS = 10_000
CELL_COLUMNS = ["cell_x", "cell_y", "lon", "lat", "stations", "voters", "incidents",
                "per_10k_voters"]


def incident_density(incidents: pd.DataFrame, stations: pd.DataFrame, cell_km: float = 10.0,
                     central_lon: float | None = None) -> pd.DataFrame:
    """Per grid cell holding stations: its centre (lon, lat), stations, voters,
    incidents and incidents per 10,000 voters. `incidents` needs a station_id column.

    The grid depends only on the stations (and `cell_km`), so it stays put between
    refreshes of a dashboard.
    """
    lon = stations["lon"].to_numpy(dtype=float)
    lat = stations["lat"].to_numpy(dtype=float)
    if central_lon is None:
        central_lon = float((lon.min() + lon.max()) / 2) if lon.size else 0.0
    cell_m = cell_km * 1000.0
    x, y = _sinusoidal(lon, lat, central_lon)
    cells = pd.DataFrame({
        "cell_x": np.floor(x / cell_m).astype(np.int64),
        "cell_y": np.floor(y / cell_m).astype(np.int64),
        "stations": 1,
        "voters": stations["registered_voters"].to_numpy(dtype=np.int64),
        "incidents": _incidents_per_station(incidents, stations),
    })
    grid = cells.groupby(["cell_x", "cell_y"], as_index=False).sum()
    grid["lon"], grid["lat"] = _cell_centres(grid["cell_x"], grid["cell_y"], cell_m, central_lon)
    grid["per_10k_voters"] = _rate(grid["incidents"], grid["voters"])
    return grid[CELL_COLUMNS]


def incidents_per_region(incidents: pd.DataFrame, stations: pd.DataFrame) -> pd.DataFrame:
    """Per region of the registry (zeros included): incidents, voters and incidents per
    10,000 voters, indexed by region_code."""
    frame = pd.DataFrame({
        "region_code": stations["region_code"].to_numpy(),
        "incidents": _incidents_per_station(incidents, stations),
        "voters": stations["registered_voters"].to_numpy(dtype=np.int64),
    })
    regions = frame.groupby("region_code").sum()
    regions["per_10k_voters"] = _rate(regions["incidents"], regions["voters"])
    return regions


def _incidents_per_station(incidents: pd.DataFrame, stations: pd.DataFrame
                           ) -> npt.NDArray[np.int64]:
    counts = incidents["station_id"].value_counts()
    return counts.reindex(stations["station_id"]).fillna(0).to_numpy(dtype=np.int64)


def _rate(incidents: pd.Series, voters: pd.Series) -> pd.Series:
    return incidents * PER_VOTERS / voters.where(voters > 0)


def _sinusoidal(lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64], central_lon: float
                ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    phi = np.radians(lat)
    return EARTH_RADIUS_M * np.radians(lon - central_lon) * np.cos(phi), EARTH_RADIUS_M * phi


def _cell_centres(cell_x: pd.Series, cell_y: pd.Series, cell_m: float, central_lon: float
                  ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x = (cell_x.to_numpy(dtype=float) + 0.5) * cell_m
    phi = (cell_y.to_numpy(dtype=float) + 0.5) * cell_m / EARTH_RADIUS_M
    lon = central_lon + np.degrees(x / (EARTH_RADIUS_M * np.cos(phi)))
    return lon, np.degrees(phi)
