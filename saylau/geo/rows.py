"""Reading import files into rows of text that remember where they came from.

Validation reports problems by place in the file: the CSV line number as an editor shows
it (the header is line 1), or the GeoJSON feature index (0-based, as in `features[17]`).
Every cell is kept as stripped text, so that the validators, not the reader, decide what
a bad value is and can name it.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

PROBLEM_COLUMNS = ["number", "field", "problem", "row"]


@dataclass(frozen=True, eq=False)
class Rows:
    """The rows of an import file as text, with their place in the file.

    `numbers[i]` is the line (CSV) or feature index (GeoJSON) of `frame.iloc[i]`.
    `broken[i]` marks rows whose fields could not be matched to columns (wrong count);
    they are listed in `problems` and must not be validated field by field.
    """

    frame: pd.DataFrame
    numbers: npt.NDArray[np.int64]
    unit: str
    problems: pd.DataFrame
    broken: npt.NDArray[np.bool_]


def no_problems() -> pd.DataFrame:
    return pd.DataFrame(
        {"number": pd.Series(dtype="int64"), "field": pd.Series(dtype=object),
         "problem": pd.Series(dtype=object), "row": pd.Series(dtype="int64")}
    )


def problems(
    numbers: npt.ArrayLike, field_name: str, texts: Any, rows: npt.ArrayLike | None = None
) -> pd.DataFrame:
    """A frame of problems, one per number; `texts` is one string or one per number."""
    numbers = np.asarray(numbers, dtype=np.int64)
    rows = np.full(numbers.size, -1) if rows is None else np.asarray(rows, dtype=np.int64)
    return pd.DataFrame(
        {"number": numbers, "field": field_name, "problem": texts, "row": rows},
        columns=PROBLEM_COLUMNS,
    ).astype({"field": object, "problem": object})


def repeats(ids: pd.Series, numbers: npt.NDArray[np.int64], candidates: npt.NDArray[np.bool_]
            ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    """Rows whose id appeared on an earlier candidate row, and that earlier row's number.

    The first occurrence is not a repeat: with --keep-valid it is the one kept.
    """
    repeated = candidates & ids.where(candidates).duplicated(keep="first").to_numpy()
    firsts = ids[candidates & ~repeated]
    first_number = pd.Series(numbers[firsts.index.to_numpy()], index=firsts.to_numpy())
    return repeated, first_number.reindex(ids[repeated].to_numpy()).to_numpy(dtype=np.int64)


def file_problem(number: int, field_name: str, text: str, unit: str = "line") -> Rows:
    """Rows with nothing in them but one problem about the whole file."""
    return Rows(pd.DataFrame(), np.zeros(0, dtype=np.int64), unit,
                problems([number], field_name, [text]), np.zeros(0, dtype=bool))


def read_rows(path: str | Path) -> Rows:
    """Read a CSV or GeoJSON file (by extension: .geojson/.json are GeoJSON)."""
    path = Path(path)
    if path.suffix.lower() in {".geojson", ".json"}:
        return read_geojson_rows(path)
    return read_csv_rows(path)


# --- CSV --------------------------------------------------------------------------------


def read_csv_rows(path: str | Path) -> Rows:
    text_or_rows = _decode(Path(path).read_bytes())
    if isinstance(text_or_rows, Rows):
        return text_or_rows
    text = text_or_rows
    if not text.strip():
        return file_problem(1, "header", "the file is empty")
    header = next(csv.reader(io.StringIO(text)))
    counts = Counter(name.strip() for name in header)
    duplicated = sorted(name for name, count in counts.items() if count > 1)
    if duplicated:
        return file_problem(1, "header", f"columns appear more than once: {duplicated}")
    return _fast_csv(text, header) or _careful_csv(text)


def _decode(data: bytes) -> str | Rows:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return file_problem(line, "file", "is not UTF-8 text")


def _fast_csv(text: str, header: list[str]) -> Rows | None:
    """pandas' C parser, when each record is exactly one line; None when it is not.

    Blank lines and quoted line breaks make pandas' row numbers drift from the lines an
    editor shows, and pandas stops at the first row with too many fields: those files
    take the careful path.
    """
    with warnings.catch_warnings():
        # Rows longer than the header are a warning (and data loss) to pandas: an error here.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                                skip_blank_lines=True, header=0, index_col=False)
        except (pd.errors.ParserError, pd.errors.ParserWarning):
            return None
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if len(frame) + 1 != lines:
        return None
    short = frame.isna().to_numpy().any(axis=1)  # missing trailing fields are NaN, "" is ""
    if short.any():
        return None
    frame.columns = [name.strip() for name in header]
    return Rows(_stripped(frame), np.arange(2, len(frame) + 2, dtype=np.int64), "line",
                no_problems(), np.zeros(len(frame), dtype=bool))


def _careful_csv(text: str) -> Rows:
    """The csv module, which knows the line each record starts on."""
    reader = csv.reader(io.StringIO(text))
    header = [name.strip() for name in next(reader)]
    records: list[list[str]] = []
    numbers: list[int] = []
    start = reader.line_num + 1
    try:
        for record in reader:
            if record:  # a blank line is no record
                records.append(record)
                numbers.append(start)
            start = reader.line_num + 1
    except csv.Error as error:
        return file_problem(start, "file", f"cannot be read as CSV: {error}")
    return _fit_to_header(records, np.array(numbers, dtype=np.int64), header)


def _fit_to_header(records: list[list[str]], numbers: npt.NDArray[np.int64],
                   header: list[str]) -> Rows:
    width = len(header)
    counts = np.fromiter(map(len, records), dtype=np.int64, count=len(records))
    broken = counts != width
    for position in np.flatnonzero(broken):  # only the bad rows: padded or cut to fit
        records[position] = (records[position] + [""] * width)[:width]
    frame = pd.DataFrame(records or None, columns=header, dtype=str)
    found = problems(
        numbers[broken], "row",
        [f"has {count} fields, the header has {width}" for count in counts[broken]],
        np.flatnonzero(broken),
    )
    return Rows(_stripped(frame), numbers, "line", found, broken)


def _stripped(frame: pd.DataFrame) -> pd.DataFrame:
    # .array keeps pandas' own string storage: no copy through Python objects.
    columns = {name: frame[name].fillna("").astype(str).str.strip().array
               for name in frame.columns}
    return pd.DataFrame(columns, index=pd.RangeIndex(len(frame)))


# --- GeoJSON ----------------------------------------------------------------------------


def read_geojson_rows(path: str | Path) -> Rows:
    """Feature properties as text; a Point geometry supplies `lon` and `lat`."""
    text = _decode(Path(path).read_bytes())
    if isinstance(text, Rows):
        return text
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        return file_problem(error.lineno, "file", f"is not valid JSON: {error.msg}")
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list):
        return file_problem(1, "file", "is not a GeoJSON FeatureCollection", "line")
    records, found = _feature_records(features)
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    frame = frame.map(_cell_text) if len(frame.columns) else frame
    numbers = np.arange(len(features), dtype=np.int64)
    # A feature without a usable Point has no place to check: one clear problem, no more.
    broken = np.zeros(len(features), dtype=bool)
    broken[found["row"].to_numpy()] = True
    return Rows(_stripped(frame), numbers, "feature", found, broken)


def _feature_records(features: list[Any]) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    records: list[dict[str, Any]] = []
    bad: list[tuple[int, str]] = []
    for index, feature in enumerate(features):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        record = dict(properties) if isinstance(properties, dict) else {}
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        problem = _take_point(record, geometry)
        if problem:
            bad.append((index, problem))
        records.append(record)
    positions = [index for index, _ in bad]
    return records, problems(positions, "geometry", [text for _, text in bad], positions)


def _take_point(record: dict[str, Any], geometry: Any) -> str:
    """Put the Point's coordinates into `lon`/`lat`; return a problem or ""."""
    if geometry is None:
        return "" if {"lon", "lat"} <= record.keys() else "missing (no Point and no lon/lat)"
    if not isinstance(geometry, dict) or geometry.get("type") != "Point":
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        return f"is a {kind}, expected a Point"
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) < 2:
        return "Point has no [lon, lat] coordinates"
    record["lon"], record["lat"] = coordinates[0], coordinates[1]
    return ""


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)  # e.g. commission members
    return str(value)
