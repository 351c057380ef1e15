"""Too many points for a browser: sum them into grid cells instead of drawing each one.

A map with up to ``POINT_LIMIT`` stations draws every station (WebGL copes with tens of
thousands of markers); above that it draws one marker per grid cell of ``cell_deg``
degrees, at the cell's centre, carrying the number of stations and the sums of the
columns asked for. The grid depends only on the positions, so it stays put between
refreshes and the sums of the cells equal the sums over the stations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

POINT_LIMIT = 20_000
CELL_DEG = 0.25


def grid_cells(points: pd.DataFrame, sums: Sequence[str] = (),
               cell_deg: float = CELL_DEG) -> pd.DataFrame:
    """One row per occupied cell: lat, lon (its centre), points, and each column of ``sums``."""
    if cell_deg <= 0:
        raise ValueError("cell_deg must be positive")
    frame = pd.DataFrame({
        "cell_y": np.floor(points["lat"].to_numpy(dtype=float) / cell_deg).astype(np.int64),
        "cell_x": np.floor(points["lon"].to_numpy(dtype=float) / cell_deg).astype(np.int64),
        "points": np.ones(len(points), dtype=np.int64),
        **{column: points[column].to_numpy() for column in sums}})
    cells = frame.groupby(["cell_y", "cell_x"], as_index=False).sum()
    cells["lat"] = (cells["cell_y"] + 0.5) * cell_deg
    cells["lon"] = (cells["cell_x"] + 0.5) * cell_deg
    return cells[["lat", "lon", "points", *sums]]


def points_or_cells(points: pd.DataFrame, sums: Sequence[str] = (), limit: int = POINT_LIMIT,
                    cell_deg: float = CELL_DEG) -> tuple[pd.DataFrame, bool]:
    """The points themselves (with ``points`` = 1) while there are at most ``limit``, else
    their grid cells; and whether they were aggregated."""
    if len(points) <= limit:
        return points.assign(points=1), False
    return grid_cells(points, sums, cell_deg), True


def bounded_cells(points: pd.DataFrame, counts: str, categories: Sequence[str],
                  per_side: int) -> pd.DataFrame:
    """The points binned into a grid of at most ``per_side`` × ``per_side`` square cells
    spanning their extent (so a screen never gets more cells than that, however many points
    or however spread): one row per occupied cell with its corners (``lat0``, ``lat1``,
    ``lon0``, ``lon1``), ``points``, and the number of points per value of the ``counts``
    column (one column per value of ``categories``). The cells' counts add up to the
    points', category by category."""
    if per_side < 1:
        raise ValueError("per_side must be at least 1")
    lat = points["lat"].to_numpy(dtype=float)
    lon = points["lon"].to_numpy(dtype=float)
    columns = ["lat0", "lat1", "lon0", "lon1", "points", *categories]
    if not len(points):
        return pd.DataFrame({column: pd.Series(dtype="float64") for column in columns})
    south, west = float(lat.min()), float(lon.min())
    size = max(float(lat.max()) - south, float(lon.max()) - west, 1e-6) / per_side
    row = np.minimum(((lat - south) / size).astype(np.int64), per_side - 1)
    col = np.minimum(((lon - west) / size).astype(np.int64), per_side - 1)
    cell = row * per_side + col
    occupied, which = np.unique(cell, return_inverse=True)
    values = points[counts].to_numpy()
    frame = pd.DataFrame({
        "lat0": south + (occupied // per_side) * size,
        "lon0": west + (occupied % per_side) * size,
        "points": np.bincount(which, minlength=len(occupied)),
        **{category: np.bincount(which, weights=values == category,
                                 minlength=len(occupied)).astype(np.int64)
           for category in categories}})
    frame["lat1"], frame["lon1"] = frame["lat0"] + size, frame["lon0"] + size
    return frame[columns]
