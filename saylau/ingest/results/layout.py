"""Where a sheet's header is and which column holds what.

The header row is the first row (of the first ``HEADER_SEARCH_ROWS``) with a cell naming the
station column, so title lines above it are passed over. A second header row follows when
the row below has a cell naming a field and nothing in the station column: the two-row
header of a merged cell ("Votes for" spanning the party columns, the other headers merged
down over both rows). It is flattened column by column: the lower cell where it has text,
else the upper one; a merged cell's text is in its first cell only, so the parties keep
their own names and "Votes for" names no column.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from saylau.core.i18n import N_
from saylau.ingest.results.mapping import (
    REQUIRED_FIELDS,
    STATION,
    ResultsMapping,
    Target,
    normalise_header,
)
from saylau.ingest.results.problems import Problem

HEADER_SEARCH_ROWS = 30

NO_HEADER = N_("no header row: no cell of the first {rows} rows names the station column "
               "(e.g. {header})")
MISSING_COLUMN = N_("no column for {field} (e.g. {header})")
TWICE = N_("a second column for {field}")


@dataclass(frozen=True)
class SheetLayout:
    header_rows: tuple[int, ...]  # row numbers, as a person sees them
    data_start: int  # the first row number after the header
    labels: dict[Target, str]  # what each mapped column holds -> the publication's header
    positions: dict[Target, int]  # what each mapped column holds -> its position

    def column(self, target: Target) -> str:
        return self.labels.get(target, target.name)


def find_layout(cells: pd.DataFrame, sheet: str, mapping: ResultsMapping
                ) -> SheetLayout | list[Problem]:
    """The sheet's layout, or the problems that keep it from having one."""
    targets = mapping.targets()
    normalised = cells.head(HEADER_SEARCH_ROWS + 1).map(normalise_header)
    station = Target("column", STATION)
    header_row = next((row for row, values in normalised.head(HEADER_SEARCH_ROWS).iterrows()
                       if any(targets.get(value) == station for value in values)), None)
    if header_row is None:
        return [Problem(sheet, 0, "", NO_HEADER, {"rows": HEADER_SEARCH_ROWS,
                                                  "header": mapping.columns[STATION][0]})]
    top = cells.loc[header_row]
    labels = {position: str(text).strip() for position, text in top.items()}
    rows = [header_row]
    below = header_row + 1
    if below in normalised.index and _is_sub_header(normalised.loc[below],
                                                    normalised.loc[header_row], targets):
        rows.append(below)
        for position, text in cells.loc[below].items():
            if str(text).strip():
                labels[position] = str(text).strip()
    return _map_columns(labels, sheet, rows, mapping, targets)


def _is_sub_header(row: pd.Series, header: pd.Series, targets: dict[str, Target]) -> bool:
    station_positions = [p for p, value in header.items()
                         if targets.get(value) == Target("column", STATION)]
    station_empty = all(not row[p] for p in station_positions)
    return station_empty and any(value in targets for value in row)


def _map_columns(labels: dict[int, str], sheet: str, rows: list[int], mapping: ResultsMapping,
                 targets: dict[str, Target]) -> SheetLayout | list[Problem]:
    header_row = rows[-1]
    positions: dict[Target, int] = {}
    found: dict[Target, str] = {}
    problems: list[Problem] = []
    for position, label in labels.items():
        target = targets.get(normalise_header(label))
        if target is None:
            continue  # a column Saylau does not read ("№", the station's name, …)
        if target in positions:
            problems.append(Problem(sheet, header_row, label, TWICE, {"field": target.name}))
            continue
        positions[target] = position
        found[target] = label
    wanted = [Target("column", name) for name in REQUIRED_FIELDS]
    wanted += [Target("vote", option) for option in mapping.votes]
    for target in wanted:
        if target not in positions:
            headers = mapping.columns if target.kind == "column" else mapping.votes
            problems.append(Problem(sheet, header_row, "", MISSING_COLUMN,
                                    {"field": target.name, "header": headers[target.name][0]}))
    if problems:
        return problems
    return SheetLayout(tuple(rows), header_row + 1, found, positions)
