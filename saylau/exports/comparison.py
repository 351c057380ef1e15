"""The public station-by-station comparison (docs/comparison.md) as two tables and as the
bundle files ``comparison-stations.csv`` and ``comparison-regions.csv``.

``comparison_tables`` reads the joined figures from the warehouse in one query
(saylau/warehouse/comparison_queries.py) and does the arithmetic on whole columns
(saylau/analysis/comparison.py). The tables hold stations, regions, parties, figures, the
publication's id and released photos' hashes: never an observer's id or a volunteer's user
name (``entered_by`` and ``actor`` are not read), never a photo not released.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from saylau.analysis.comparison import (
    compare_stations,
    difference_column,
    official_column,
    region_summary,
    verified_column,
)
from saylau.core.election import AGAINST_ALL, Election
from saylau.warehouse.client import Warehouse
from saylau.warehouse.comparison_queries import compared_stations

STATIONS_FILE, REGIONS_FILE = "comparison-stations.csv", "comparison-regions.csv"
COMPARISON_FILES = (STATIONS_FILE, REGIONS_FILE)
STATION_LEAD_COLUMNS = ("station_id", "station_name", "region_code", "publication")
STATION_TAIL_COLUMNS = ("matches", "votes_moved", "photo_sha256")
OPTIONS_IN_DATA = """
SELECT DISTINCT arrayJoin(options) AS option FROM $db.tabulation
WHERE fact IN ('official', 'agreed')"""


@dataclass(frozen=True)
class ComparisonTables:
    """``stations``: one row per station with official figures (columns: `station_columns`);
    ``regions``: one row per region (saylau/analysis/comparison.py ``REGION_COLUMNS``);
    ``options``: the ballot options compared, in ballot order."""

    stations: pd.DataFrame
    regions: pd.DataFrame
    options: tuple[str, ...]


def station_columns(options: Sequence[str]) -> list[str]:
    per_option = [column for option in options
                  for column in (official_column(option), verified_column(option),
                                 difference_column(option))]
    return [*STATION_LEAD_COLUMNS, *per_option, *STATION_TAIL_COLUMNS]


def ballot_options(warehouse: Warehouse, election: Election | None = None) -> tuple[str, ...]:
    """The options to compare: the election's ballot in ballot order ("Against all"
    included); without an election, those the figures count, by code, "Against all" last.
    An option in the figures but not on the ballot is kept (it is data) after the ballot."""
    found = sorted(str(o) for o in warehouse.query_df(OPTIONS_IN_DATA).get("option", [])
                   if str(o))
    ballot = [] if election is None else list(dict.fromkeys([*election.options, AGAINST_ALL]))
    others = [o for o in found if o not in ballot and o != AGAINST_ALL]
    tail = [AGAINST_ALL] if election is None and AGAINST_ALL in found else []
    return tuple([*ballot, *others, *tail])


def comparison_tables(warehouse: Warehouse, election: Election | None = None, *,
                      as_of: dt.datetime | None = None,
                      region: str | None = None) -> ComparisonTables:
    """The comparison of every station with official figures (as of `as_of`; of `region`
    only, if given), and its summary per region."""
    options = ballot_options(warehouse, election)
    joined = compared_stations(warehouse, options, as_of, region)
    compared = compare_stations(joined, options)
    stations = compared.rename(columns={"name": "station_name"})
    stations["station_name"] = stations["station_name"].fillna("")
    return ComparisonTables(stations[station_columns(options)].reset_index(drop=True),
                            region_summary(compared), options)


def stations_csv(stations: pd.DataFrame) -> str:
    """The stations table as CSV: integers as integers, an empty cell where a station has
    no verified copy, ``matches`` as 1/0."""
    table = stations.copy()
    table["matches"] = table["matches"].astype("Int64")
    return table.to_csv(index=False, lineterminator="\n")


def regions_csv(regions: pd.DataFrame) -> str:
    return regions.to_csv(index=False, lineterminator="\n")


def write_comparison_files(folder: Path, tables: ComparisonTables) -> list[str]:
    """``comparison-stations.csv`` and ``comparison-regions.csv``; returns their names."""
    (folder / STATIONS_FILE).write_text(stations_csv(tables.stations), encoding="utf-8")
    (folder / REGIONS_FILE).write_text(regions_csv(tables.regions), encoding="utf-8")
    return list(COMPARISON_FILES)
