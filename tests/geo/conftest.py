"""Shared fixtures of the geo tests: the default regions, loaded once per session."""

from __future__ import annotations

import geopandas as gpd
import pytest

from saylau.geo.regions import load_regions


@pytest.fixture(scope="session")
def regions() -> gpd.GeoDataFrame:
    return load_regions()
