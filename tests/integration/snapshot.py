"""Everything a warehouse holds, in a form two runs can be compared by (processing times,
which differ from run to run, left out)."""

from __future__ import annotations

import pandas as pd

from saylau.streams.batch import REJECTED_COLUMNS
from saylau.streams.rows import EVENT_COLUMNS
from saylau.warehouse.client import Warehouse


def _columns(names: tuple[str, ...], leave_out: str) -> str:
    return ", ".join(name for name in names if name != leave_out)


TABLES = {
    "events": f"SELECT {_columns(EVENT_COLUMNS, 'received_at')} FROM $db.events FINAL "
              "ORDER BY event_id",
    "rejected": f"SELECT {_columns(REJECTED_COLUMNS, 'rejected_at')} FROM $db.rejected FINAL "
                "ORDER BY source_topic, source_partition, source_offset",
    "protocols": "SELECT * FROM $db.protocols FINAL ORDER BY event_id",
    "exitpolls": "SELECT * FROM $db.exitpolls FINAL ORDER BY event_id",
    "tabulation": "SELECT * FROM $db.tabulation FINAL ORDER BY event_id, fact, photo_sha256",
    "turnout_15m": "SELECT region_code, station_id, source, bucket, maxMerge(ballots) AS b "
                   "FROM $db.turnout_15m GROUP BY region_code, station_id, source, bucket "
                   "ORDER BY station_id, source, bucket",
    "incidents_15m": "SELECT region_code, category, bucket, uniqExactMerge(incidents) AS n "
                     "FROM $db.incidents_15m GROUP BY region_code, category, bucket "
                     "ORDER BY region_code, category, bucket",
    "alerts": "SELECT alert_id, argMax(kind, version) AS kind, "
              "argMax(occurred_at, version) AS occurred_at, argMax(value, version) AS value, "
              "argMax(detail, version) AS detail FROM $db.alerts GROUP BY alert_id "
              "HAVING argMax(active, version) = 1 ORDER BY alert_id",
    # Kept by materialized views from the archive; a resent event lands twice until a merge.
    "turnout_latest": "SELECT station_id, argMaxMerge(observer_count_latest) AS observer, "
                      "argMaxMerge(official_latest) AS official, maxMerge(reported_max) AS at "
                      "FROM $db.turnout_latest GROUP BY station_id ORDER BY station_id",
    "observer_latest": "SELECT station_id, observer_id, argMaxMerge(status_latest) AS status, "
                       "maxMerge(changed_max) AS at FROM $db.observer_latest "
                       "GROUP BY station_id, observer_id ORDER BY station_id, observer_id",
    "assignment_times": "SELECT DISTINCT target_station_id, occurred_at, event_id "
                        "FROM $db.assignment_times ORDER BY event_id",
    "incident_reports": "SELECT DISTINCT event_id, station_id, region_code, category, severity, "
                        "occurred_at FROM $db.incident_reports ORDER BY event_id",
    "incident_reviews": "SELECT DISTINCT incident_id, occurred_at, event_id, verdict "
                        "FROM $db.incident_reviews ORDER BY event_id",
    "turnout_reports": "SELECT DISTINCT station_id, source, occurred_at, ballots_issued "
                       "FROM $db.turnout_reports "
                       "ORDER BY station_id, source, occurred_at, ballots_issued",
}


def snapshot(wh: Warehouse) -> dict[str, pd.DataFrame]:
    return {name: wh.query_df(sql).reset_index(drop=True) for name, sql in TABLES.items()}


def assert_same_tables(left: dict[str, pd.DataFrame], right: dict[str, pd.DataFrame]) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(_plain(left[name]), _plain(right[name]), obj=name)


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Arrays as tuples and times as text, so both engines' frames compare by value."""
    return frame.map(lambda v: tuple(v) if hasattr(v, "__len__") and not isinstance(v, str)
                     else str(v))
