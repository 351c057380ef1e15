"""The arithmetic of the station-by-station comparison (docs/comparison.md): official figures
against the observers' verified copies, per ballot option and per region.

Pure functions on whole columns (numpy through pandas), so a million stations cost one pass
per option, never a Python loop over stations. Input: one row per station with official
figures, ``official_<option>`` and ``verified_<option>`` integer columns and ``verified``
(1 where a verified copy exists; its ``verified_<option>`` are meaningless where it is 0).

- the difference per option is official − verified (positive: the official figures give the
  option more votes than the copy the observers verified);
- a station *matches* when every option's difference is 0;
- **votes moved** is Σ over options of max(0, official − verified): the votes the official
  figures hold beyond the verified copy. A vote taken from one party and given to another
  counts once (only the gain counts), and votes added from nowhere count too; votes the
  official figures lost are the other side of the same moves and are not counted again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

MISSING = pd.NA
REGION_COLUMNS = ("region_code", "stations_official", "stations_compared",
                  "stations_matching", "votes_moved")


def official_column(option: str) -> str:
    return f"official_{option}"


def verified_column(option: str) -> str:
    return f"verified_{option}"


def difference_column(option: str) -> str:
    return f"difference_{option}"


def differences(official: np.ndarray, verified: np.ndarray) -> np.ndarray:
    """official − verified, element by element (stations × options), as signed integers."""
    return official.astype(np.int64) - verified.astype(np.int64)


def votes_moved(difference: np.ndarray) -> np.ndarray:
    """Per station (a row of options): Σ max(0, official − verified)."""
    if difference.size == 0:
        return np.zeros(difference.shape[0], dtype=np.int64)
    return np.clip(difference, 0, None).sum(axis=1)


def matching(difference: np.ndarray) -> np.ndarray:
    """Per station: every option's difference is 0."""
    return np.all(difference == 0, axis=1)


def compare_stations(stations: pd.DataFrame, options: Sequence[str]) -> pd.DataFrame:
    """`stations` with, for each option, ``verified_<option>`` empty (NA) where there is no
    verified copy and ``difference_<option>`` (official − verified, NA without a copy);
    then ``matches`` (True/False, NA without a copy) and ``votes_moved`` (NA without one)."""
    table = stations.copy()
    compared = table["verified"].to_numpy(dtype=np.int64) == 1
    official = _matrix(table, [official_column(o) for o in options])
    verified = _matrix(table, [verified_column(o) for o in options])
    difference = differences(official, verified)
    for number, option in enumerate(options):
        table[official_column(option)] = official[:, number]
        table[verified_column(option)] = _where(compared, verified[:, number])
        table[difference_column(option)] = _where(compared, difference[:, number])
    table["matches"] = pd.array(matching(difference), dtype="boolean")
    table.loc[~compared, "matches"] = MISSING
    table["votes_moved"] = _where(compared, votes_moved(difference))
    return table


def region_summary(compared: pd.DataFrame) -> pd.DataFrame:
    """Per region of `compared` (``compare_stations``' output): stations with official
    figures, stations compared (a verified copy too), stations matching, and the votes
    moved summed over the compared stations. Regions by code."""
    if compared.empty:
        return pd.DataFrame({column: pd.Series(dtype=object if column == "region_code"
                                               else "int64") for column in REGION_COLUMNS})
    frame = pd.DataFrame({
        "region_code": compared["region_code"].to_numpy(),
        "stations_official": 1,
        "stations_compared": (compared["verified"].to_numpy(dtype=np.int64) == 1).astype(int),
        "stations_matching": compared["matches"].fillna(False).to_numpy(dtype=bool).astype(int),
        "votes_moved": compared["votes_moved"].fillna(0).to_numpy(dtype=np.int64)})
    summary = frame.groupby("region_code", sort=True).sum().reset_index()
    return summary[list(REGION_COLUMNS)].astype({c: "int64" for c in REGION_COLUMNS[1:]})


def _matrix(table: pd.DataFrame, columns: list[str]) -> np.ndarray:
    if not columns:
        return np.zeros((len(table), 0), dtype=np.int64)
    return table[columns].to_numpy(dtype=np.int64).reshape(len(table), len(columns))


def _where(present: np.ndarray, values: np.ndarray) -> pd.arrays.IntegerArray:
    """Integers where `present`, NA elsewhere (pandas' nullable Int64: no float rounding)."""
    return pd.arrays.IntegerArray(values.astype(np.int64), ~present)
