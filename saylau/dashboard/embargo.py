"""The exit-poll embargo on the dashboard's pages, judged as the media exports judge it.

Exit-poll figures may not be published before voting ends (``Election.embargo_ends_at``).
An export decides by its data's as-of time: the newest report, never later than now
(``Exporter.default_as_of``). A page decides the same way, with the moment it shows (time
travel) in place of the newest report when that is earlier. So a page never shows an
exit-poll figure that `saylau export` at the same moment would hold back, whoever looks.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from saylau.core.election import Election
from saylau.dashboard.language import t
from saylau.warehouse.client import Warehouse
from saylau.warehouse.queries import latest_event_time


def data_as_of(warehouse: Warehouse, as_of: dt.datetime | None = None,
               now: dt.datetime | None = None) -> dt.datetime:
    """The moment the data shown is of: the earliest of `as_of`, the newest report and now
    (a report stamped by a phone whose clock runs ahead cannot move it forward)."""
    moments = [as_of, latest_event_time(warehouse), now or dt.datetime.now(dt.UTC)]
    return min(moment for moment in moments if moment is not None)


def embargoed_until(warehouse: Warehouse, election: Election,
                    as_of: dt.datetime | None = None) -> dt.datetime | None:
    """When the embargo ends, if it still holds for data as of `as_of`; else None."""
    ends = election.embargo_ends_at
    return ends if data_as_of(warehouse, as_of) < ends else None


def embargo_text(ends: dt.datetime, timezone: str) -> str:
    local = ends.astimezone(ZoneInfo(timezone))
    return t("Exit-poll figures are embargoed until {moment} ({timezone}), when voting "
             "ends: the law allows no publication before.").format(
        moment=f"{local:%Y-%m-%d %H:%M}", timezone=timezone)
