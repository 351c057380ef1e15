"""Citizen reports and their cases, read from the archive (``events``).

A report is a ``citizen_report`` row (region, category, and the employer's sector in
``source``); its follow-up are ``case_update`` rows (the case in ``incident_id``, the verdict
in ``verdict``, the status in ``reason``). A case's verdict and status are each the latest
one set, by event time: argMax, so a resent event changes nothing, and the state is
rebuilt the same from a replay. Plain GROUP BY and joins: ClickHouse 18.16 runs it.
"""

from __future__ import annotations

import pandas as pd

from saylau.warehouse.client import Warehouse

REPORTS = """
SELECT event_id, any(region_code) AS region_code, any(category) AS category,
       any(source) AS sector, min(occurred_at) AS occurred_at, any(payload) AS payload
FROM $db.events WHERE kind = 'citizen_report' GROUP BY event_id
"""
CASE_STATES = """
SELECT incident_id AS event_id,
       argMaxIf(verdict, occurred_at, verdict != '') AS verdict,
       argMaxIf(reason, occurred_at, reason != '') AS status,
       max(occurred_at) AS updated_at
FROM $db.events WHERE kind = 'case_update' GROUP BY incident_id
"""
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


def cases(warehouse: Warehouse) -> pd.DataFrame:
    """Every report with its verdict (pending until set) and status (new until set)."""
    return warehouse.query_df(CASES)


def public_counts(warehouse: Warehouse) -> pd.DataFrame:
    """Verified reports by region, category and sector: counts only, never their text."""
    frame = warehouse.query_df(PUBLIC_COUNTS)
    if not frame.empty:
        frame["reports"] = frame["reports"].astype("int64")
    return frame


def report_payload(warehouse: Warehouse, case_id: str) -> str | None:
    frame = warehouse.query_df(SEALED_CONTACT, {"case_id": case_id})
    if frame.empty or not frame["payload"].iloc[0]:
        return None
    return str(frame["payload"].iloc[0])
