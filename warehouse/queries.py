"""The named queries of Saylau. Each is text shared by both engines; values are bound."""

from __future__ import annotations

import pandas as pd

from warehouse.client import Warehouse, insert_in_chunks

STATION_COLUMNS = ("station_id", "name", "region_code", "district", "settlement", "address",
                   "lat", "lon", "registered_voters")

# Latest turnout per station, and whether any observer's newest check event is a check-in.
_STATION_TURNOUT = """
    SELECT station_id, argMaxMerge(ballots) AS ballots
    FROM $db.station_turnout GROUP BY station_id"""
_STATION_PRESENCE = """
    SELECT station_id, toUInt8(countIf(kind = 'checkin') > 0) AS covered
    FROM (SELECT station_id, observer_id, argMaxMerge(last_kind) AS kind
          FROM $db.observer_presence GROUP BY station_id, observer_id) AS latest
    GROUP BY station_id"""

STATION_STATE = f"""
SELECT station_id, region_code, lat, lon, registered_voters, ballots, covered
FROM (
    SELECT station_id, region_code, lat, lon, registered_voters, ballots
    FROM (SELECT station_id, region_code, lat, lon, registered_voters
          FROM $db.stations FINAL) AS registry
    ANY LEFT JOIN ({_STATION_TURNOUT}) AS turnout USING station_id
) AS with_turnout
ANY LEFT JOIN ({_STATION_PRESENCE}) AS presence USING station_id
ORDER BY station_id
"""

REGION_TURNOUT = f"""
SELECT region_code, count() AS stations, sum(registered_voters) AS registered,
       sum(ballots) AS ballots, sum(covered) AS covered_stations
FROM ({STATION_STATE}) AS state
GROUP BY region_code
ORDER BY region_code
"""

EVENT_COUNTS = """
SELECT kind, uniqExact(event_id) AS events FROM $db.events GROUP BY kind ORDER BY kind
"""

REJECTED_COUNTS = """
SELECT reason, count() AS messages FROM $db.rejected FINAL GROUP BY reason ORDER BY reason
"""

LATEST_EVENT_TIME = "SELECT max(occurred_at) AS latest FROM $db.events"


def load_stations(wh: Warehouse, registry: pd.DataFrame) -> int:
    """Copy the registry into the warehouse (re-loading the same registry changes nothing)."""
    records = registry[list(STATION_COLUMNS)].to_dict("records")
    for record in records:
        record["registered_voters"] = int(record["registered_voters"])
        record["lat"], record["lon"] = float(record["lat"]), float(record["lon"])
    return insert_in_chunks(wh, "stations", STATION_COLUMNS, records)


def station_state(wh: Warehouse) -> pd.DataFrame:
    return _as_ints(wh.query_df(STATION_STATE), ["registered_voters", "ballots", "covered"])


def region_turnout(wh: Warehouse) -> pd.DataFrame:
    frame = _as_ints(wh.query_df(REGION_TURNOUT),
                     ["stations", "registered", "ballots", "covered_stations"])
    frame["turnout_pct"] = turnout_percent(frame["ballots"], frame["registered"])
    return frame


def turnout_percent(ballots: pd.Series, registered: pd.Series) -> pd.Series:
    """Turnout in percent, rounded to 0.1, the figure every page shows."""
    share = ballots.astype("float64") * 100.0 / registered.where(registered > 0)
    return share.fillna(0.0).round(1)


def event_counts(wh: Warehouse) -> dict[str, int]:
    frame = wh.query_df(EVENT_COUNTS)
    return {str(k): int(v) for k, v in zip(frame["kind"], frame["events"], strict=True)}


def rejected_counts(wh: Warehouse) -> dict[str, int]:
    frame = wh.query_df(REJECTED_COUNTS)
    return {str(k): int(v) for k, v in zip(frame["reason"], frame["messages"], strict=True)}


def _as_ints(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_numeric(frame[column]).fillna(0).astype("int64")
    return frame
