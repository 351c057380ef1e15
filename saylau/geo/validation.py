"""Station registry import: every problem of every row, found with whole-column operations.

Each check looks at a whole column at once (pandas, numpy, shapely's vectorised
predicates) and produces problems only for the rows that fail, so a valid million-row
file costs a few column passes and one point-in-polygon test per station. Messages are
built for the failing rows only.

The point-in-region check tests each station against its *declared* region only (one
prepared polygon per region, all its stations at once); only stations found outside are
then looked up in every region, to say where they actually are. A point on the border
of its region counts as inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from saylau.geo.commission import empty_commission, parse_commission
from saylau.geo.regions import load_regions, region_of_points
from saylau.geo.registry import REGISTRY_COLUMNS, REGISTRY_DTYPES
from saylau.geo.rows import Rows, no_problems, problems, read_rows, repeats

REQUIRED_COLUMNS = ["station_id", "name", "region_code", "address", "lat", "lon",
                    "registered_voters"]
# A registry may leave these out; stations then have them empty.
OPTIONAL_COLUMNS = ["district", "settlement", "commission"]
SHOWN_VALUE_CHARS = 40  # a bad value is quoted in its message, cut to this length
# Real stations hold hundreds to a few thousand voters; a figure beyond this is a typo
# (and would not fit the registry's integer column).
MAX_STATION_VOTERS = 1_000_000


@dataclass(frozen=True, eq=False)
class RegistryCheck:
    """The outcome of checking an import file.

    `stations` holds the valid rows with REGISTRY_COLUMNS and their dtypes, `commission`
    the members of those stations; `rejected` the invalid rows as read, after a column
    with their line (or feature) number and one with their problems; `problems` one row
    per problem (number, field, problem, row), in file order.
    """

    stations: pd.DataFrame
    commission: pd.DataFrame
    rejected: pd.DataFrame
    problems: pd.DataFrame
    unit: str

    @property
    def ok(self) -> bool:
        return self.problems.empty

    def messages(self) -> list[str]:
        """Each problem as `line N: field: problem` (or `feature N: …` for GeoJSON)."""
        return describe(self.problems, self.unit)


def describe(found: pd.DataFrame, unit: str) -> list[str]:
    return [f"{unit} {number}: {field}: {problem}" for number, field, problem in zip(
        found["number"], found["field"], found["problem"], strict=True)]


def check_registry_file(path: str | Path, regions: gpd.GeoDataFrame | None = None) -> RegistryCheck:
    """Read and check a registry in CSV or GeoJSON (see saylau.geo.rows for the formats)."""
    return check_registry_rows(read_rows(path), load_regions() if regions is None else regions)


def check_registry_rows(rows: Rows, regions: gpd.GeoDataFrame) -> RegistryCheck:
    whole_file = _whole_file_problems(rows)
    if not whole_file.empty:
        return _outcome(rows, whole_file, empty_commission())
    frame = _with_columns(rows.frame, REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    usable = ~rows.broken
    numbers = rows.numbers
    numbers_of = {column: _number_column(frame[column])
                  for column in ("lon", "lat", "registered_voters")}
    lon, lat = numbers_of["lon"], numbers_of["lat"]
    coordinate_problems = [
        _coordinate(frame["lat"], lat, 90.0, numbers, usable),
        _coordinate(frame["lon"], lon, 180.0, numbers, usable),
    ]
    located = usable & _fine(len(frame), coordinate_problems) & ~np.isnan(lon) & ~np.isnan(lat)
    known = usable & frame["region_code"].isin(regions["region_code"]).to_numpy()
    members, member_problems = parse_commission(
        frame["commission"].where(usable, ""), frame["station_id"], numbers)
    found = pd.concat([
        rows.problems,
        _missing(frame, numbers, usable),
        _duplicates(frame["station_id"], numbers, usable, rows.unit),
        *coordinate_problems,
        _voters(frame["registered_voters"], numbers_of["registered_voters"], numbers, usable),
        _unknown_regions(frame["region_code"], numbers, usable & ~known),
        _outside_regions(frame, lon, lat, numbers, located & known, regions),
        member_problems,
    ])
    return _outcome(rows, found, members, numbers_of)


def _whole_file_problems(rows: Rows) -> pd.DataFrame:
    """Problems that make every row untrustworthy: unreadable, no columns, no rows.

    A CSV header without a required column is one of them. In GeoJSON each feature has
    its own properties, so an absent property is reported per feature as missing.
    """
    if (rows.problems["row"] < 0).any():
        return rows.problems  # the reader could not make rows of it, and said why
    first = 2 if rows.unit == "line" else 0
    if rows.unit == "line":
        absent = [column for column in REQUIRED_COLUMNS if column not in rows.frame.columns]
        if absent:
            return problems([1] * len(absent), "header",
                            [f"missing column {column!r}" for column in absent])
    if len(rows.frame) == 0:
        return problems([first], "file", ["has no stations"])
    return no_problems()


def _with_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    absent = {column: "" for column in columns if column not in frame.columns}
    return frame.assign(**absent) if absent else frame


def _number_column(text: pd.Series) -> npt.NDArray[np.float64]:
    """Numbers of a text column, NaN where a cell is not one."""
    try:  # a valid column converts in one cast, several times faster than to_numeric
        return text.astype("float64").to_numpy()
    except (ValueError, TypeError):
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _fine(size: int, found: list[pd.DataFrame]) -> npt.NDArray[np.bool_]:
    fine = np.ones(size, dtype=bool)
    for frame in found:
        fine[frame["row"].to_numpy()] = False
    return fine


def _rows_where(mask: npt.NDArray[np.bool_], numbers: npt.NDArray[np.int64],
                field: str, texts: pd.Series | str) -> pd.DataFrame:
    rows = np.flatnonzero(mask)
    return problems(numbers[rows], field, texts, rows)


def _shown(text: pd.Series, mask: npt.NDArray[np.bool_]) -> pd.Series:
    return "'" + text[mask].str.slice(0, SHOWN_VALUE_CHARS) + "'"


def _missing(frame: pd.DataFrame, numbers: npt.NDArray[np.int64],
             usable: npt.NDArray[np.bool_]) -> pd.DataFrame:
    found = [_rows_where(usable & (frame[column] == "").to_numpy(), numbers, column, "missing")
             for column in REQUIRED_COLUMNS]
    return pd.concat(found)


def _duplicates(ids: pd.Series, numbers: npt.NDArray[np.int64],
                usable: npt.NDArray[np.bool_], unit: str) -> pd.DataFrame:
    repeated, earlier = repeats(ids, numbers, usable & (ids != "").to_numpy())
    texts = [f"duplicate of the station on {unit} {number}" for number in earlier]
    return _rows_where(repeated, numbers, "station_id", texts)


def _coordinate(text: pd.Series, value: npt.NDArray[np.float64], limit: float,
                numbers: npt.NDArray[np.int64], usable: npt.NDArray[np.bool_]) -> pd.DataFrame:
    field = str(text.name)
    present = usable & (text != "").to_numpy()
    not_number = present & np.isnan(value)
    out_of_range = present & ~np.isnan(value) & (np.abs(value) > limit)
    return pd.concat([
        _rows_where(not_number, numbers, field,
                    ("not a number: " + _shown(text, not_number)).to_numpy()),
        _rows_where(out_of_range, numbers, field,
                    (_shown(text, out_of_range) + f" is outside -{limit:g}..{limit:g}").to_numpy()),
    ])


def _voters(text: pd.Series, value: npt.NDArray[np.float64], numbers: npt.NDArray[np.int64],
            usable: npt.NDArray[np.bool_]) -> pd.DataFrame:
    present = usable & (text != "").to_numpy()
    with np.errstate(invalid="ignore"):
        not_whole = present & (~np.isfinite(value) | (value != np.floor(value)))
    not_positive = present & ~not_whole & (value <= 0)
    too_many = present & ~not_whole & (value > MAX_STATION_VOTERS)
    return pd.concat([
        _rows_where(not_whole, numbers, "registered_voters",
                    ("not a whole number: " + _shown(text, not_whole)).to_numpy()),
        _rows_where(not_positive, numbers, "registered_voters",
                    ("must be positive, got " + _shown(text, not_positive)).to_numpy()),
        _rows_where(too_many, numbers, "registered_voters",
                    (_shown(text, too_many) + f" is more than {MAX_STATION_VOTERS:,}").to_numpy()),
    ])


def _unknown_regions(codes: pd.Series, numbers: npt.NDArray[np.int64],
                     unknown: npt.NDArray[np.bool_]) -> pd.DataFrame:
    unknown = unknown & (codes != "").to_numpy()
    return _rows_where(unknown, numbers, "region_code",
                       ("unknown region " + _shown(codes, unknown)).to_numpy())


def _outside_regions(frame: pd.DataFrame, lon: npt.NDArray[np.float64],
                     lat: npt.NDArray[np.float64], numbers: npt.NDArray[np.int64],
                     candidates: npt.NDArray[np.bool_], regions: gpd.GeoDataFrame) -> pd.DataFrame:
    outside = candidates & ~_inside_declared(frame["region_code"].to_numpy(dtype=object), lon, lat,
                                             candidates, regions)
    if not outside.any():
        return no_problems()
    names = dict(zip(regions["region_code"], regions["region_name"], strict=True))
    actual = pd.Series(region_of_points(regions, lon[outside], lat[outside]))
    declared = frame["region_code"][outside].reset_index(drop=True)
    where = ("it lies in " + actual + " (" + actual.map(names).fillna("") + ")").where(
        actual != "", "it lies in no region")
    text = ("point (lon " + frame["lon"][outside].reset_index(drop=True) + ", lat "
            + frame["lat"][outside].reset_index(drop=True) + ") is outside " + declared + " ("
            + declared.map(names) + "); " + where)
    return _rows_where(outside, numbers, "lat/lon", text.to_numpy())


def _inside_declared(codes: npt.NDArray[np.object_], lon: npt.NDArray[np.float64],
                     lat: npt.NDArray[np.float64], candidates: npt.NDArray[np.bool_],
                     regions: gpd.GeoDataFrame) -> npt.NDArray[np.bool_]:
    """Whether each candidate point lies in (or on the border of) its declared region."""
    inside = np.zeros(codes.size, dtype=bool)
    rows = np.flatnonzero(candidates)
    groups = pd.Series(rows).groupby(codes[rows], sort=False).indices
    polygons = dict(zip(regions["region_code"], regions.geometry.values, strict=True))
    for code, positions in groups.items():  # one turn per region, all its stations at once
        polygon = polygons[code]
        shapely.prepare(polygon)
        chosen = rows[positions]
        inside[chosen] = shapely.intersects_xy(polygon, lon[chosen], lat[chosen])
    return inside


def _outcome(rows: Rows, found: pd.DataFrame, members: pd.DataFrame,
             numbers_of: dict[str, npt.NDArray[np.float64]] | None = None) -> RegistryCheck:
    found = found.sort_values("number", kind="stable", ignore_index=True)
    invalid = np.zeros(len(rows.frame), dtype=bool)
    if (found["row"] < 0).any():  # a problem with the whole file: no row can be trusted
        invalid[:] = True
    invalid[found.loc[found["row"] >= 0, "row"].to_numpy()] = True
    everything = _with_columns(rows.frame, REGISTRY_COLUMNS)
    parsed = {column: values[~invalid] for column, values in (numbers_of or {}).items()}
    stations = _typed(everything[~invalid], parsed)
    kept = members[~invalid[members["row"].to_numpy()]] if len(members) else members
    return RegistryCheck(stations, kept.drop(columns="row", errors="ignore").reset_index(drop=True),
                         _rejected(rows, found, invalid), found, rows.unit)


def _typed(valid: pd.DataFrame, parsed: dict[str, npt.NDArray[np.float64]]) -> pd.DataFrame:
    """The valid rows with the registry's dtypes; numbers as parsed by the checks."""
    typed = valid[REGISTRY_COLUMNS].reset_index(drop=True)
    for column in ("lat", "lon", "registered_voters"):
        typed[column] = parsed[column] if column in parsed else pd.to_numeric(typed[column])
    return typed.astype(REGISTRY_DTYPES)


def _rejected(rows: Rows, found: pd.DataFrame, invalid: npt.NDArray[np.bool_]) -> pd.DataFrame:
    per_row = found[found["row"] >= 0]
    joined = (per_row["field"] + ": " + per_row["problem"]).groupby(per_row["row"]).agg("; ".join)
    positions = np.flatnonzero(invalid)
    rejected = rows.frame.iloc[positions].reset_index(drop=True)
    rejected.insert(0, "errors", joined.reindex(positions).fillna(
        "not checked: the file as a whole has problems").to_numpy())
    rejected.insert(0, rows.unit, rows.numbers[positions])
    return rejected
