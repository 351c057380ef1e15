"""Distances on the Earth: haversine metres, and unit-sphere coordinates for KD-trees.

A KD-tree needs a metric space, and longitude/latitude degrees are not one (a degree of
longitude shrinks towards the poles). Points on the unit sphere in 3D are: the straight
chord between two of them grows monotonically with the great-circle distance, so
"nearest by chord" is "nearest on the ground", and a radius in metres becomes a chord.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Mean Earth radius (IUGG), the usual choice for the haversine formula; on the ellipsoid
# distances differ by up to ~0.5 %, far below a geofence's tolerance.
EARTH_RADIUS_M = 6_371_008.8

FloatArray = npt.NDArray[np.float64]


def haversine_m(
    lon1: npt.ArrayLike, lat1: npt.ArrayLike, lon2: npt.ArrayLike, lat2: npt.ArrayLike
) -> FloatArray:
    """Great-circle distance in metres between points given in degrees (broadcasts)."""
    x1, y1, x2, y2 = (np.radians(np.asarray(value, dtype=float))
                      for value in (lon1, lat1, lon2, lat2))
    half = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin((x2 - x1) / 2) ** 2
    # clip: rounding can push `half` a hair above 1 for antipodal points
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(half, 0.0, 1.0))))


def unit_xyz(lon: npt.ArrayLike, lat: npt.ArrayLike) -> FloatArray:
    """Points as an (n, 3) array on the unit sphere."""
    x = np.radians(np.asarray(lon, dtype=float))
    y = np.radians(np.asarray(lat, dtype=float))
    cos_y = np.cos(y)
    return np.column_stack((cos_y * np.cos(x), cos_y * np.sin(x), np.sin(y)))


def metres_for_chord(chord: npt.ArrayLike) -> FloatArray:
    """Great-circle metres of unit-sphere chords (the KD-tree's distances): the same
    distance haversine_m gives, without going back to longitudes and latitudes."""
    return np.asarray(2 * EARTH_RADIUS_M * np.arcsin(np.clip(np.asarray(chord, dtype=float) / 2,
                                                             0.0, 1.0)))


def chord_for_metres(metres: float) -> float:
    """The unit-sphere chord length of a great-circle distance, as a KD-tree radius.

    Slightly enlarged so that rounding never drops a point exactly at the radius; callers
    filter on the exact haversine distance afterwards.
    """
    angle = min(float(metres) / EARTH_RADIUS_M, np.pi)
    return 2 * np.sin(angle / 2) * (1 + 1e-9) + 1e-12
