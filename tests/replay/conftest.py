"""Fixtures of the replay tests: a registry where the worker and `saylau replay` read it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from saylau.geo.registry import synthetic_registry, write_registry_csv


@pytest.fixture
def registry(tmp_path: Path) -> pd.DataFrame:
    """150 stations, also written where the worker reads it (see tests.integration worker_env)."""
    frame = synthetic_registry(n_stations=150, total_voters=150_000, seed=11)
    write_registry_csv(frame, tmp_path / "stations.csv")
    return frame
