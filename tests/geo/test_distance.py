"""Distances on the sphere and their KD-tree form."""

import numpy as np
import pytest

from saylau.geo.distance import (
    EARTH_RADIUS_M,
    chord_for_metres,
    haversine_m,
    metres_for_chord,
    unit_xyz,
)


@pytest.mark.parametrize(
    ("lon1", "lat1", "lon2", "lat2", "metres"),
    [
        (76.9, 43.2, 76.9, 43.2, 0.0),
        (76.9, 43.0, 76.9, 44.0, np.pi / 180 * EARTH_RADIUS_M),  # one degree of a meridian
        (0.0, 0.0, 1.0, 0.0, np.pi / 180 * EARTH_RADIUS_M),  # one degree of the equator
        (0.0, 0.0, 180.0, 0.0, np.pi * EARTH_RADIUS_M),  # antipodes
    ],
)
def test_haversine_gives_known_distances(lon1, lat1, lon2, lat2, metres):
    assert haversine_m(lon1, lat1, lon2, lat2) == pytest.approx(metres, rel=1e-12, abs=1e-6)


def test_astana_to_almaty_is_about_970_km():
    assert haversine_m(71.45, 51.17, 76.92, 43.26) == pytest.approx(970_000, rel=5e-3)


@pytest.mark.parametrize("metres", [0.5, 100.0, 25_000.0, 1_000_000.0])
def test_chords_and_metres_convert_both_ways(metres):
    lat2 = 43.0 + np.degrees(metres / EARTH_RADIUS_M)
    a, b = unit_xyz([76.9], [43.0]), unit_xyz([76.9], [lat2])
    chord = np.linalg.norm(a - b)
    assert metres_for_chord(chord) == pytest.approx(metres, rel=1e-9)
    assert chord_for_metres(metres) >= chord  # a search radius never misses the point
