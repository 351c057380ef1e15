"""From a publication file to the events to send: read, lay out, check, build. No I/O
beyond what it is given; the command (saylau/cli/results_cmd.py) reads, sends and prints."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from saylau.core.i18n import N_
from saylau.ingest.results.checks import check_publication
from saylau.ingest.results.events import Identity, protocol_messages
from saylau.ingest.results.layout import NO_HEADER, SheetLayout, find_layout
from saylau.ingest.results.mapping import ResultsMapping
from saylau.ingest.results.problems import Problem
from saylau.ingest.results.sheets import RawSheet, read_sheets
from saylau.ingest.results.table import (
    STATION_ROW,
    Publication,
    key,
    number_targets,
    sheet_rows,
)

NO_STATIONS = N_("the publication holds no station rows")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class ImportPlan:
    """What an import would send, and every problem found on the way."""

    problems: list[Problem]
    messages: list[tuple[bytes, bytes]]  # (key, value) of each event to send
    station_rows: int  # station rows read, valid or not
    sheets: list[str]  # the sheets read
    skipped_sheets: list[str] = field(default_factory=list)  # sheets with no table at all

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.blocking]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if not problem.blocking]

    @property
    def rows_with_errors(self) -> int:
        return len({(p.sheet, p.row) for p in self.errors if p.row})


def plan_import(path: Path, content: bytes, mapping: ResultsMapping, registry: pd.DataFrame,
                options: list[str], identity: Identity, keep_valid: bool) -> ImportPlan:
    """The events of every valid row; none if any row has an error and not ``keep_valid``.

    Raises ``PublicationError`` for a file that is not a publication at all.
    """
    problems = mapping.check_ballot(options)
    if problems:
        return ImportPlan(problems, [], 0, [])
    layouts: dict[str, SheetLayout] = {}
    frames: list[pd.DataFrame] = []
    skipped: list[str] = []
    for sheet in read_sheets(path, content):
        found = find_layout(sheet.cells, sheet.name, mapping)
        if isinstance(found, SheetLayout):
            layouts[sheet.name] = found
            frames.append(sheet_rows(sheet.cells, sheet.name, found, mapping, options))
        elif _is_blank_sheet(sheet, found):
            skipped.append(sheet.name)  # a cover sheet or notes: nothing to read there
        else:
            problems += found
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"kind": pd.Series(dtype=str)})
    publication = Publication(rows, layouts, options, len(layouts))
    station_rows = int((rows["kind"] == STATION_ROW).sum())
    if frames:
        checked = check_publication(publication, registry)
        problems += checked.problems
        # only what the events need: copying every column of a million rows costs seconds
        needed = ["station_id", *(key(target) for target in number_targets(options))]
        valid = rows.loc[checked.valid, needed]
    else:
        valid = rows.iloc[0:0]
    if station_rows == 0 and not problems:
        problems.append(Problem("", 0, "", NO_STATIONS))
    blocked = any(problem.blocking for problem in problems) and not keep_valid
    messages = [] if blocked else protocol_messages(valid, options, identity)
    return ImportPlan(problems, messages, station_rows, list(layouts), skipped)


def _is_blank_sheet(sheet: RawSheet, problems: list[Problem]) -> bool:
    """A sheet without a header and without a single digit holds no results."""
    no_header = len(problems) == 1 and problems[0].reason == NO_HEADER
    return no_header and not sheet.cells.map(lambda text: bool(_DIGIT.search(text))).any(
        axis=None)
