"""National turnout at the passed official reporting times, remembered between snapshots.

Turnout at a reporting time ``m`` is each station's newest report from no later than ``m``,
summed: it changes only when a report from before ``m`` is stored. Reports arrive as they
are made, so once ``m`` has passed it almost never changes, yet computing it groups every
report of the day by station (at 1,000,000 stations, 8 million reports: the costliest part
of the wall after the station state). So it is computed once per reporting time and kept
while the warehouse can show that nothing it counts changed:

``turnout_reports`` is a MergeTree table: its data lives in immutable parts, each holding
a range of insert blocks of one partition. A part not seen before whose blocks were all
in parts seen before is a merge of known data (a merge that drops a resent report's copy
changes no figure); any other new part is new data, and the time of its earliest report
(read from that part alone) says which reporting times it can change; a seen block no
part holds any more (a table truncated, a partition dropped), or a part rewritten by a
mutation, forgets everything. What could change is computed again, in one query.

Only for a single warehouse (chDB or one ClickHouse server) whose tables live in folders
named by their UUID (the Atomic database engine): a table dropped and made again under the
same name then has another folder, and its block numbers, which start again, are never
taken for the old ones. A cluster's parts are spread over its nodes, and an older server's
folders are named by the table's name, so there every snapshot computes the figures afresh.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from saylau.warehouse import queries
from saylau.warehouse.client import Warehouse, parse_warehouse_url


@dataclass
class _Known:
    table: str = ""  # the folder of the table's parts
    parts: frozenset[str] = frozenset()
    blocks: queries.Blocks = field(default_factory=dict)
    by_moment: dict[int, pd.DataFrame] = field(default_factory=dict)  # unix s -> rows


class ReportingTurnout:
    """``queries.turnout_at_moments`` with the figures of passed times remembered per
    warehouse (its URL and database)."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], _Known] = {}
        self._lock = threading.Lock()

    def at_moments(self, wh: Warehouse, moments: Sequence[dt.datetime],
                   as_of: dt.datetime | None = None) -> pd.DataFrame:
        """What ``queries.turnout_at_moments(wh, moments, as_of)`` answers."""
        # A moment after as_of depends on as_of: only earlier ones are the same for all.
        kept = [m for m in moments if as_of is None or m <= as_of]
        if not kept or not _single(wh):
            return queries.turnout_at_moments(wh, moments, as_of)
        parts = queries.table_parts(wh, "turnout_reports")
        table = queries.parts_folder(parts)
        if table is None or (parts["data_version"] != parts["first_block"]).any():
            return queries.turnout_at_moments(wh, moments, as_of)  # no shortcut: see above
        key = (wh.url, wh.database)
        with self._lock:
            known = self._known.get(key, _Known())
        valid = _still_valid(wh, known, parts) if known.table == table else {}
        remembered = {m for m in kept if _stamp(m) in valid}
        missing = [m for m in moments if m not in remembered]
        fresh = queries.turnout_at_moments(wh, missing, as_of) if missing else None
        computed = {_stamp(m): _rows_at(fresh, m) for m in missing if m in kept}
        with self._lock:
            self._known[key] = _Known(table, frozenset(parts["name"]),
                                      queries.parts_blocks(parts), {**valid, **computed})
        frames = [valid[_stamp(m)] if m in remembered else _rows_at(fresh, m)
                  for m in moments]
        frames = [frame for frame in frames if not frame.empty]
        if not frames:
            return fresh if fresh is not None else queries.turnout_at_moments(wh, [], as_of)
        return pd.concat(frames, ignore_index=True).sort_values(["moment", "source"],
                                                                 ignore_index=True)


def _single(wh: Warehouse) -> bool:
    try:
        return not parse_warehouse_url(wh.url).cluster
    except Exception:  # an address this module does not know: play safe
        return False


def _stamp(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _rows_at(frame: pd.DataFrame | None, moment: dt.datetime) -> pd.DataFrame:
    if frame is None or frame.empty:
        return pd.DataFrame()
    return frame[frame["moment"] == pd.Timestamp(moment).tz_convert("UTC")]


def _still_valid(wh: Warehouse, known: _Known, parts: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """The remembered figures that the parts now in the table cannot have changed."""
    if not known.by_moment:
        return {}
    if not queries.blocks_still_held(known.blocks, parts):  # a seen block gone: forget
        return {}
    new = [str(name) for name, partition, first, last in zip(
               parts["name"], parts["partition_id"], parts["first_block"], parts["last_block"],
               strict=True)
           if name not in known.parts
           and not queries.blocks_covered(int(first), int(last),
                                          known.blocks.get(str(partition), []))]
    first_reports = queries.parts_first_report(wh, new)
    if len(first_reports) < len(new):  # some went away meanwhile (merged): unknown data
        return {}
    earliest = min(first_reports.values(), default=None)
    return {stamp: rows for stamp, rows in known.by_moment.items()
            if earliest is None or stamp < earliest}


REPORTING_TURNOUT = ReportingTurnout()
