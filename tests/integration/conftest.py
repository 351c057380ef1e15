"""Fixtures shared by the end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from saylau.geo.registry import synthetic_registry, write_registry_csv


@pytest.fixture
def registry(tmp_path: Path) -> pd.DataFrame:
    """A 100-station registry, also written where the worker reads it (see worker_env)."""
    frame = synthetic_registry(n_stations=100, total_voters=100_000, seed=5)
    write_registry_csv(frame, tmp_path / "stations.csv")
    return frame
