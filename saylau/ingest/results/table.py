"""A publication as one table: a row per data row of every sheet, its kind and its counts.

Kinds: ``station`` (the station cell has text), ``total`` (no station, and a text cell
opens with a total word such as "Итого" or "Барлығы"), ``blank`` (no count at all: a title,
a region's heading, a footnote, an empty row; passed over) and ``no_station``
(counts without a station: a problem). ``block`` numbers the stretches between total rows
of a sheet: a total row closes the block of station rows above it (see checks.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from saylau.ingest.results.layout import SheetLayout
from saylau.ingest.results.mapping import (
    COUNT_FIELDS,
    DISTRICT,
    STATION,
    ResultsMapping,
    Target,
    normalise_header,
)
from saylau.ingest.results.numbers import EMPTY, parse_counts

STATION_ROW, TOTAL_ROW, BLANK_ROW, NO_STATION_ROW = "station", "total", "blank", "no_station"


def number_targets(options: list[str]) -> list[Target]:
    """The columns read as counts: the protocol's figures, then the ballot options."""
    return [Target("column", name) for name in COUNT_FIELDS] + \
        [Target("vote", option) for option in options]


def key(target: Target) -> str:
    """The table's column name of a target."""
    return target.name if target.kind == "column" else f"vote:{target.name}"


def status_key(target: Target) -> str:
    return f"{key(target)}:status"


@dataclass(frozen=True)
class Publication:
    """Every sheet's data rows in one frame, and each sheet's layout (for the headers)."""

    rows: pd.DataFrame  # sheet, row, kind, station_id, district, block, counts, statuses
    layouts: dict[str, SheetLayout]
    options: list[str]  # the ballot options, in ballot order
    sheets: int

    def column(self, sheet: str, target: Target) -> str:
        return self.layouts[sheet].column(target)


def sheet_rows(cells: pd.DataFrame, sheet: str, layout: SheetLayout, mapping: ResultsMapping,
               options: list[str]) -> pd.DataFrame:
    """One sheet's data rows with their kind, block and counts."""
    data = cells.loc[cells.index >= layout.data_start]
    station_at = layout.positions[Target("column", STATION)]
    station = data[station_at].astype(str).str.strip()
    frame = pd.DataFrame({"sheet": sheet, "row": data.index.to_numpy(dtype=np.int64),
                          "station_id": station.to_numpy()})
    district_at = layout.positions.get(Target("column", DISTRICT))
    frame["district"] = (data[district_at].astype(str).str.strip().to_numpy()
                         if district_at is not None else "")
    all_empty = np.ones(len(data), dtype=bool)
    number_positions = set()
    for target in number_targets(options):
        position = layout.positions[target]
        number_positions.add(position)
        counts = parse_counts(data[position])
        frame[key(target)] = counts.values
        frame[status_key(target)] = counts.status
        all_empty &= counts.status == EMPTY
    no_station = (frame["station_id"] == "").to_numpy()
    text_columns = [p for p in data.columns if p not in number_positions]
    total = np.zeros(len(data), dtype=bool)
    total[no_station] = _opens_with_total(data.loc[no_station, text_columns],
                                          mapping.total_words())
    # A text in the station column over empty counts is a heading or a footnote, not a
    # station (checks.py still reports a known station listed without figures).
    kind = np.where(total, TOTAL_ROW, np.where(all_empty, BLANK_ROW,
                                               np.where(no_station, NO_STATION_ROW,
                                                        STATION_ROW)))
    frame["kind"] = kind
    frame["block"] = np.cumsum(total) - total
    return frame


def _opens_with_total(cells: pd.DataFrame, words: frozenset[str]) -> np.ndarray:
    """Rows with a text cell whose first word is a total word ("Итого по району: …")."""
    def first_word(text: object) -> str:
        parts = normalise_header(text).split(" ", 1)
        return parts[0].rstrip(":,.") if parts else ""

    if cells.empty:
        return np.zeros(len(cells), dtype=bool)
    return cells.map(first_word).isin(words).any(axis=1).to_numpy()
