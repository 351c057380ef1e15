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
