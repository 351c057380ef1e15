"""Citizen reports and their cases, read from the archive (``events``).

A report is a ``citizen_report`` row (region, category, and the employer's sector in
``source``); its follow-up are ``case_update`` rows (the case in ``incident_id``, the verdict
in ``verdict``, the status in ``reason``). A case's verdict and status are each the latest
one set, by event time: argMax, so a resent event changes nothing, and the state is
rebuilt the same from a replay. Plain GROUP BY and joins: ClickHouse 18.16 runs it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from saylau.warehouse.client import Warehouse
from saylau.warehouse.queries import END_OF_TIME

# As of a moment: the reports received by then, the updates made by then.
REPORTS = """
SELECT event_id, any(region_code) AS region_code, any(category) AS category,
       any(source) AS sector, min(occurred_at) AS occurred_at, any(payload) AS payload
FROM $db.events WHERE kind = 'citizen_report' AND received_at <= {as_of:DateTime}
GROUP BY event_id
"""
# Times are whole seconds: two updates in one second are ordered by the verdict's or
# status's rank (a status moves forward; a verdict's rank is arbitrary but fixed), so the
# same events always give the same state, in any order, on a replay too.
CASE_STATES = """
SELECT incident_id AS event_id,
       argMaxIf(verdict, toUInt64(occurred_at) * 10
                + indexOf(['spam', 'rejected', 'duplicate', 'verified'], verdict),
                verdict != '') AS verdict,
       argMaxIf(reason, toUInt64(occurred_at) * 10
                + indexOf(['new', 'contacted', 'legal_help', 'closed'], reason),
                reason != '') AS status,
       max(occurred_at) AS updated_at
FROM $db.events WHERE kind = 'case_update' AND occurred_at <= {as_of:DateTime}
GROUP BY incident_id
"""
PUBLIC_COLUMNS = ["region_code", "category", "sector", "reports"]

CASES = f"""
SELECT event_id, region_code, category, sector, occurred_at, payload,
       if(verdict = '', 'pending', verdict) AS verdict, if(status = '', 'new', status) AS status
FROM ({REPORTS}) AS reports ANY LEFT JOIN ({CASE_STATES}) AS states USING event_id
ORDER BY occurred_at, event_id
"""
PUBLIC_COUNTS = f"""
SELECT region_code, category, sector, count() AS reports
FROM ({REPORTS}) AS reports ANY INNER JOIN ({CASE_STATES}) AS states USING event_id
WHERE verdict = 'verified'
GROUP BY region_code, category, sector ORDER BY region_code, category, sector
"""
SEALED_CONTACT = """
SELECT any(payload) AS payload FROM $db.events
WHERE kind = 'citizen_report' AND event_id = {case_id:String}
"""


def _as_of(as_of: dt.datetime | None) -> dict[str, dt.datetime]:
    return {"as_of": (as_of or END_OF_TIME).astimezone(dt.UTC)}


def cases(warehouse: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
    """Every report with its verdict (pending until set) and status (new until set)."""
    return warehouse.query_df(CASES, _as_of(as_of))


def public_counts(warehouse: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
    """Verified reports by region, category and sector: counts only, never their text."""
    frame = warehouse.query_df(PUBLIC_COUNTS, _as_of(as_of))
    if frame.empty:
        return pd.DataFrame({name: pd.Series(dtype="int64" if name == "reports" else str)
                             for name in PUBLIC_COLUMNS})
    frame["reports"] = frame["reports"].astype("int64")
    return frame[PUBLIC_COLUMNS]


def report_payload(warehouse: Warehouse, case_id: str) -> str | None:
    frame = warehouse.query_df(SEALED_CONTACT, {"case_id": case_id})
    if frame.empty or not frame["payload"].iloc[0]:
        return None
    return str(frame["payload"].iloc[0])
