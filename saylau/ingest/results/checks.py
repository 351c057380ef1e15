"""The checks of every row of a publication. Pure functions over the publication's table.

Errors keep a row out of the import (``--keep-valid`` imports the others):

- a count cell that is empty, not a whole number, or above 10,000,000 (``numbers.py``);
- counts without a station; a station of the registry listed without any count; a station
  code that is not one; a station not in the registry;
- a station that appears twice (both rows: which one is right is not ours to guess);
- ``ballots_cast != sum(votes) + invalid``: the protocol's own arithmetic (the worker would
  reject it as ``protocol_arithmetic``).

Warnings are reported and imported: ``ballots_cast > ballots_issued``, ``ballots_issued >
ballots_received``, ``ballots_issued > registered`` and a ``registered`` that is not the
registry's. They can happen (stuffed ballots, a late list) and are then the evidence, so the
figures are kept, as the worker keeps such observer reports and flags them
(saylau/core/rules.py).

A total row must equal the sum of the station rows it closes (the rows since the previous
total row of its sheet, or, right after another total row, every station of the sheet above
it: a region's total below its districts'). A wrong total is an error of the total row; the
stations' own rows stay valid, as each passed its own checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from saylau.core.i18n import N_
from saylau.ingest.results.mapping import STATION, Target
from saylau.ingest.results.numbers import EMPTY, NOT_A_NUMBER, OK, TOO_LARGE
from saylau.ingest.results.problems import WARNING, Problem
from saylau.ingest.results.table import (
    BLANK_ROW,
    NO_STATION_ROW,
    STATION_ROW,
    TOTAL_ROW,
    Publication,
    key,
    number_targets,
    status_key,
)

STATION_CODE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the contract's StationId

CELL_REASONS = {
    EMPTY: N_("is empty"),
    NOT_A_NUMBER: N_("is not a whole number (digits, in groups of three if need be)"),
    TOO_LARGE: N_("is above 10,000,000"),
}
NO_STATION = N_("counts without a station")
NO_FIGURES = N_("the station {station} is listed without figures")
NOT_A_CODE = N_("is not a station code (letters, digits, - and _)")
UNKNOWN_STATION = N_("the station {station} is not in the station registry")
DUPLICATE = N_("the station {station} appears more than once (first at sheet "
               "\"{first_sheet}\", row {first_row})")
ARITHMETIC = N_("ballots cast ({cast}) is not the sum of the votes plus the invalid "
                "ballots ({expected})")
CAST_ABOVE_ISSUED = N_("more ballots cast ({cast}) than issued ({issued})")
ISSUED_ABOVE_RECEIVED = N_("more ballots issued ({issued}) than received ({received})")
ISSUED_ABOVE_REGISTERED = N_("more ballots issued ({issued}) than registered voters "
                             "({registered})")
REGISTERED_NOT_REGISTRY = N_("registered voters ({registered}) differ from the station "
                             "registry's ({registry})")
TOTAL_MISMATCH = N_("the total ({total}) is not the sum of the {stations} stations it "
                    "closes ({sum})")
TOTAL_WITHOUT_STATIONS = N_("a total row with no station rows above it")


@dataclass(frozen=True)
class CheckResult:
    problems: list[Problem]
    valid: npt.NDArray[np.bool_]  # per row of the table: a station row that may be imported


def check_publication(publication: Publication, registry: pd.DataFrame) -> CheckResult:
    """Every problem of the publication, and which station rows are valid."""
    rows = publication.rows
    checker = _Checker(publication, registry)
    stations = (rows["kind"] == STATION_ROW).to_numpy()
    checker.cells(stations, (rows["kind"] == TOTAL_ROW).to_numpy())
    checker.rows_without_station((rows["kind"] == NO_STATION_ROW).to_numpy())
    checker.stations_without_figures((rows["kind"] == BLANK_ROW).to_numpy())
    checker.station_codes(stations)
    checker.duplicates(stations)
    checker.arithmetic(stations)
    checker.warnings(stations)
    checker.totals()
    return CheckResult(checker.sorted_problems(), stations & ~checker.bad)


class _Checker:
    """Collects problems; ``bad`` marks the rows with an error."""

    def __init__(self, publication: Publication, registry: pd.DataFrame) -> None:
        self.publication = publication
        self.rows = publication.rows
        self.targets = number_targets(publication.options)
        self.sheet = self.rows["sheet"].to_numpy()
        self.row = self.rows["row"].to_numpy()
        self.codes = self.rows["station_id"].to_numpy()
        # Arrow's hash lookup: pandas' isin on Arrow strings goes through Python lists
        self.in_registry = pc.fill_null(pc.is_in(
            pa.array(self.codes, pa.string()),
            value_set=pa.array(registry["station_id"].astype(str), pa.string())),
            False).to_numpy(zero_copy_only=False)
        self.registry = registry
        self.values = {t: self.rows[key(t)].to_numpy() for t in self.targets}
        self.status = {t: self.rows[status_key(t)].to_numpy() for t in self.targets}
        self.bad = np.zeros(len(self.rows), dtype=bool)
        self.problems: list[Problem] = []

    def _add(self, where: npt.NDArray[np.bool_], target: Target | None, reason: str,
             params: Iterable[dict[str, object]] | None = None, warning: bool = False) -> None:
        """A problem at each row of ``where`` (params row by row), in ``target``'s column."""
        indices = np.flatnonzero(where)
        if not warning:
            self.bad[indices] = True
        extra = list(params) if params is not None else [{}] * len(indices)
        for index, values in zip(indices, extra, strict=True):
            sheet = str(self.sheet[index])
            column = self.publication.column(sheet, target) if target is not None else ""
            self.problems.append(Problem(sheet, int(self.row[index]), column, reason,
                                         values, WARNING if warning else "error"))

    def _values(self, target: Target) -> npt.NDArray[np.int64]:
        return self.values[target]

    def _ok(self, targets: Iterable[Target]) -> npt.NDArray[np.bool_]:
        ok = np.ones(len(self.rows), dtype=bool)
        for target in targets:
            ok &= self.status[target] == OK
        return ok

    def cells(self, stations: npt.NDArray[np.bool_], totals: npt.NDArray[np.bool_]) -> None:
        """Unreadable counts; a total may be above a station's bound."""
        for target in self.targets:
            status = self.status[target]
            for code, reason in CELL_REASONS.items():
                where = stations | totals if code != TOO_LARGE else stations
                self._add(where & (status == code), target, reason)

    def rows_without_station(self, where: npt.NDArray[np.bool_]) -> None:
        self._add(where, Target("column", STATION), NO_STATION)

    def stations_without_figures(self, blank: npt.NDArray[np.bool_]) -> None:
        """A row of no counts is passed over, unless it names a station of the registry:
        then the publication lists it and gives no figures."""
        listed = blank & self.in_registry
        self._add(listed, Target("column", STATION), NO_FIGURES,
                  [{"station": code} for code in self.codes[listed]])

    def station_codes(self, stations: npt.NDArray[np.bool_]) -> None:
        well_formed = pc.fill_null(pc.match_substring_regex(
            pa.array(self.codes, pa.string()), STATION_CODE.pattern), False).to_numpy(
            zero_copy_only=False)
        self._add(stations & ~well_formed, Target("column", STATION), NOT_A_CODE)
        unknown = stations & well_formed & ~self.in_registry
        self._add(unknown, Target("column", STATION), UNKNOWN_STATION,
                  [{"station": code} for code in self.codes[unknown]])

    def duplicates(self, stations: npt.NDArray[np.bool_]) -> None:
        codes = self.rows["station_id"].where(stations)
        repeated = (codes.duplicated(keep=False) & codes.notna()).to_numpy()
        if not repeated.any():
            return
        seen = self.rows.loc[repeated]
        first = seen.groupby("station_id", sort=False)[["sheet", "row"]].transform("first")
        params = [{"station": code, "first_sheet": sheet, "first_row": int(row)}
                  for code, sheet, row in zip(seen["station_id"], first["sheet"], first["row"],
                                              strict=True)]
        self._add(repeated, Target("column", STATION), DUPLICATE, params)

    def arithmetic(self, stations: npt.NDArray[np.bool_]) -> None:
        votes = [t for t in self.targets if t.kind == "vote"]
        cast, invalid = Target("column", "ballots_cast"), Target("column", "invalid")
        expected = sum((self._values(t) for t in votes), self._values(invalid))
        wrong = stations & self._ok([cast, invalid, *votes]) & (self._values(cast) != expected)
        self._add(wrong, cast, ARITHMETIC,
                  [{"cast": int(c), "expected": int(e)}
                   for c, e in zip(self._values(cast)[wrong], expected[wrong], strict=True)])

    def warnings(self, stations: npt.NDArray[np.bool_]) -> None:
        figure = {name: Target("column", name) for name in
                  ("registered", "ballots_received", "ballots_issued", "ballots_cast")}
        for above, below, reason, names in (
                ("ballots_cast", "ballots_issued", CAST_ABOVE_ISSUED, ("cast", "issued")),
                ("ballots_issued", "ballots_received", ISSUED_ABOVE_RECEIVED,
                 ("issued", "received")),
                ("ballots_issued", "registered", ISSUED_ABOVE_REGISTERED,
                 ("issued", "registered"))):
            high, low = self._values(figure[above]), self._values(figure[below])
            where = stations & self._ok([figure[above], figure[below]]) & (high > low)
            self._add(where, figure[above], reason,
                      [{names[0]: int(h), names[1]: int(low_)}
                       for h, low_ in zip(high[where], low[where], strict=True)], warning=True)
        known = self.in_registry
        registry_voters = self._registry_voters()
        registered = self._values(figure["registered"])
        where = stations & known & self._ok([figure["registered"]]) & \
            (registered != registry_voters)
        self._add(where, figure["registered"], REGISTERED_NOT_REGISTRY,
                  [{"registered": int(r), "registry": int(v)}
                   for r, v in zip(registered[where], registry_voters[where], strict=True)],
                  warning=True)

    def _registry_voters(self) -> npt.NDArray[np.int64]:
        """Each row's station's registered voters in the registry (0 if not in it)."""
        ids = pa.array(self.registry["station_id"].astype(str), pa.string())
        where = pc.index_in(pa.array(self.codes, pa.string()), value_set=ids)
        found = pc.fill_null(where, -1).to_numpy(zero_copy_only=False)
        voters = self.registry["registered_voters"].to_numpy(dtype=np.int64)
        return np.where(found >= 0, voters[np.maximum(found, 0)], 0)

    def totals(self) -> None:
        kinds = self.rows["kind"].to_numpy()
        for sheet in dict.fromkeys(self.sheet):
            in_sheet = np.flatnonzero(self.sheet == sheet)
            totals = in_sheet[kinds[in_sheet] == TOTAL_ROW]
            if totals.size:
                self._sheet_totals(in_sheet, totals, kinds)

    def _sheet_totals(self, in_sheet: npt.NDArray[np.int64], totals: npt.NDArray[np.int64],
                      kinds: npt.NDArray) -> None:
        station = (kinds[in_sheet] == STATION_ROW).astype(np.int64)
        # Running sums over the sheet's rows: a stretch's sum is a difference of two.
        stations_before = np.concatenate([[0], np.cumsum(station)])
        start = 0  # the sheet position where the current stretch begins
        for index in totals:
            end = int(np.searchsorted(in_sheet, index))
            if stations_before[end] - stations_before[start] == 0:
                start = 0  # right after another total: every station of the sheet above
            count = int(stations_before[end] - stations_before[start])
            if count == 0:
                self._add(_only(index, len(self.rows)), None, TOTAL_WITHOUT_STATIONS)
            else:
                self._compare_total(index, in_sheet[start:end][station[start:end] == 1], count)
            start = end + 1

    def _compare_total(self, index: int, members: npt.NDArray[np.int64], count: int) -> None:
        for target in self.targets:
            status = self.status[target]
            if status[index] not in (OK, TOO_LARGE) or (status[members] != OK).any():
                continue  # an unreadable cell is reported as such; no sum to compare
            values = self._values(target)
            total, summed = int(values[index]), int(values[members].sum())
            if total != summed:
                self._add(_only(index, len(self.rows)), target, TOTAL_MISMATCH,
                          [{"total": total, "stations": count, "sum": summed}])

    def sorted_problems(self) -> list[Problem]:
        order = {name: number for number, name in enumerate(dict.fromkeys(self.sheet))}
        return sorted(self.problems, key=lambda p: (order.get(p.sheet, -1), p.row))


def _only(index: int, size: int) -> npt.NDArray[np.bool_]:
    mask = np.zeros(size, dtype=bool)
    mask[index] = True
    return mask
