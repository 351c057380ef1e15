"""The named queries of Saylau. Each is text shared by both engines; values are bound.

Filters on a list of stations use ``IN (SELECT arrayJoin(list))``, not ``has(list, …)``:
the primary key (station first) can then skip the rest of the table.
A rule for every query here: an alias never reuses the name of a column filtered in the
same SELECT (ClickHouse lets aliases shadow columns in WHERE); filters go in a subquery.

State queries take ``as_of``: the state as it stood at that moment of event time. They
read the raw archive, so late and out-of-order events count where they belong, and use
argMax / uniqExact / GROUP BY event_id, so a resent event can never count twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from saylau.warehouse.client import Warehouse, insert_in_chunks

Blocks = dict[str, list[tuple[int, int]]]  # partition -> insert block ranges (first, last)

STATION_COLUMNS = ("station_id", "name", "region_code", "district", "settlement", "address",
                   "lat", "lon", "registered_voters")
END_OF_TIME = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)

STATIONS = """
SELECT station_id, name, region_code, district, settlement, address, lat, lon,
       registered_voters
FROM $db.stations FINAL ORDER BY station_id"""

STATION_TURNOUT = """
SELECT station_id, source,
       argMax(ballots_issued, toUInt64(occurred_at) * 4294967296 + ballots_issued) AS ballots,
       max(occurred_at) AS reported_at
FROM $db.events
WHERE kind = 'turnout' AND occurred_at <= {as_of:DateTime}
GROUP BY station_id, source"""

# Per station: is any observer's newest check event a check-in; was one expelled.
# Only observers cover a station: exit pollsters and journalists check in too.
STATION_PRESENCE = """
SELECT station_id, toUInt8(countIf(status = 'checkin') > 0) AS present,
       toUInt8(countIf(status = 'checkout:removed') > 0) AS removed,
       max(changed_at) AS changed_at
FROM (SELECT station_id, observer_id,
             argMax(if(kind = 'checkin', kind, concat(kind, ':', reason)),
                    toUInt64(occurred_at) * 4
                        + multiIf(kind = 'checkin', 0, reason = 'removed', 2, 1)) AS status,
             max(occurred_at) AS changed_at
      FROM $db.events
      WHERE kind IN ('checkin', 'checkout') AND role = 'observer'
            AND occurred_at <= {as_of:DateTime}
      GROUP BY station_id, observer_id) AS latest
GROUP BY station_id"""

STATION_ASSIGNMENTS = """
SELECT target_station_id AS station_id, max(occurred_at) AS assigned_at,
       argMax(observer_id, occurred_at) AS assigned_observer
FROM $db.events
WHERE kind = 'assignment' AND occurred_at <= {as_of:DateTime}
GROUP BY target_station_id"""

# The station state in one query. Its inputs, all keyed by station, are stacked (UNION
# ALL, every column typed alike, 0 / 1970 for "none") and folded by one GROUP BY: cheaper
# than joins here (a hash join per input) and runs on 18.16 (one JOIN per SELECT). Each
# station has one registry row, at most one turnout row, one row per observer and one per
# assignment, so sum()/max() pick out the values. Rows come in the same order every time,
# by a hash of the id (sorting a million strings would cost a second), or unordered with a
# fingerprint of each row (STATION_FINGERPRINT). {stations} is empty or
# STATION_IN_REGION; {turnout}, {presence} are the "now" or "as of" versions below.
# {turnout_at} is NEWEST_REPORT for a state as of a moment, which checks that no report
# is newer (saylau/warehouse/state.py), else empty: a tenth of the query's time at 1M stations.
# Every branch names its columns: 18.16 drops a column the outer query does not use by
# its name in the first branch but by position in the others. The region code travels as
# its bytes in a number (max() of a number, not of a text, over every row: a sixth of the
# query at 1M stations), exact for codes of up to 8 bytes (REGION_KEY_BYTES) without a
# NUL byte; any other (region_length) sends the question to STATION_STATE_TEXT, which
# folds the text.
STATION_STATE = """
SELECT station_id, reinterpretAsString(max(region_key)) AS region_code,
       max(region_length) AS region_length, sum(lat) AS lat, sum(lon) AS lon,
       sum(registered_voters) AS registered_voters, max(ballots) AS ballots,
       max(ballots_official) AS ballots_official, max(present) AS present,
       max(removed) AS removed, {turnout_at}max(changed_at) AS changed_at,
       max(assigned_at) AS assigned_at{fingerprint}
FROM (
    SELECT station_id, reinterpretAsUInt64(region_code) AS region_key,
           if(position(region_code, '\\0') > 0, 1000, length(region_code)) AS region_length,
           lat, lon, registered_voters,
           toUInt32(0) AS ballots,
           toUInt32(0) AS ballots_official, toUInt8(0) AS present, toUInt8(0) AS removed,
           toDateTime(0, 'UTC') AS turnout_at, toDateTime(0, 'UTC') AS changed_at,
           toDateTime(0, 'UTC') AS assigned_at, toUInt8(1) AS registered
    FROM $db.stations FINAL WHERE 1 {stations}
    UNION ALL
    SELECT station_id, toUInt64(0) AS region_key, toUInt64(0) AS region_length,
           toFloat64(0) AS lat, toFloat64(0) AS lon,
           toUInt32(0) AS registered_voters, ballots, ballots_official,
           toUInt8(0) AS present, toUInt8(0) AS removed, turnout_at,
           toDateTime(0, 'UTC') AS changed_at, toDateTime(0, 'UTC') AS assigned_at,
           toUInt8(0) AS registered
    FROM ({turnout}) AS turnout
    UNION ALL
    SELECT station_id, toUInt64(0) AS region_key, toUInt64(0) AS region_length,
           toFloat64(0) AS lat, toFloat64(0) AS lon,
           toUInt32(0) AS registered_voters, toUInt32(0) AS ballots,
           toUInt32(0) AS ballots_official, toUInt8(status = 'checkin') AS present,
           toUInt8(status = 'checkout:removed') AS removed,
           toDateTime(0, 'UTC') AS turnout_at, status_at AS changed_at,
           toDateTime(0, 'UTC') AS assigned_at, toUInt8(0) AS registered
    FROM ({presence}) AS observers
    UNION ALL
    SELECT target_station_id AS station_id, toUInt64(0) AS region_key,
           toUInt64(0) AS region_length, toFloat64(0) AS lat, toFloat64(0) AS lon,
           toUInt32(0) AS registered_voters, toUInt32(0) AS ballots,
           toUInt32(0) AS ballots_official, toUInt8(0) AS present, toUInt8(0) AS removed,
           toDateTime(0, 'UTC') AS turnout_at, toDateTime(0, 'UTC') AS changed_at,
           occurred_at AS assigned_at, toUInt8(0) AS registered
    FROM $db.assignment_times
    WHERE occurred_at <= {{as_of:DateTime}} {targets}) AS inputs
GROUP BY station_id
HAVING max(registered) = 1
{order}"""
REGION_KEY_BYTES = 8
STATION_STATE_TEXT = (
    STATION_STATE.replace("reinterpretAsString(max(region_key)) AS region_code",
                          "max(region_code) AS region_code")
    .replace("reinterpretAsUInt64(region_code) AS region_key", "region_code")
    .replace("toUInt64(0) AS region_key", "'' AS region_code"))
# The registry in the order of its ids' hashes (with each station's hash of its registry
# row), and the rest of the station state (unordered, with the ids' hashes): a dashboard that
# keeps the registry (it changes when a registry is loaded, not during the day) reads the
# million stations' ids, codes and positions once, and then only what events change, put
# beside the registry it keeps by the hashes (saylau/warehouse/state.py, RegistryCache).
STATION_REGISTRY = """
SELECT cityHash64(station_id) AS station_hash, station_id, region_code, lat, lon,
       registered_voters,
       cityHash64(station_id, region_code, lat, lon, registered_voters) AS registry_hash
FROM $db.stations FINAL
ORDER BY station_hash"""
STATION_EVENTS_STATE = """
SELECT cityHash64(station_id) AS station_hash, max(ballots) AS ballots,
       max(ballots_official) AS ballots_official, max(present) AS present,
       max(removed) AS removed, {turnout_at}max(changed_at) AS changed_at,
       max(assigned_at) AS assigned_at,
       cityHash64(station_id, ballots, ballots_official, present, removed, changed_at,
                  assigned_at) AS fingerprint
FROM (
""" + STATION_STATE.split("\nFROM (\n", 1)[1].replace("{order}", "")
STATION_ORDER = "ORDER BY cityHash64(station_id), station_id"
NEWEST_REPORT = "max(turnout_at) AS turnout_at, "
# Instead of the order, for a caller that needs only to know whether anything changed:
# a hash of each station's answer (the sum of them does not depend on the rows' order).
# Sorting a million rows is about half of the query's time.
STATION_FINGERPRINT = """,
       cityHash64(station_id, registered_voters, ballots, ballots_official, present, removed,
                  changed_at, assigned_at) AS fingerprint"""

STATION_IN_REGION = ("AND station_id IN (SELECT station_id FROM $db.stations "
                     "WHERE region_code = {region:String})")
TARGET_IN_REGION = STATION_IN_REGION.replace("AND station_id", "AND target_station_id")

# "Now": the latest-state tables, FINAL (their few parts merged in key order, cheaper
# than a GROUP BY over a million keys) and finalizeAggregation.
TURNOUT_NOW = """
SELECT station_id, finalizeAggregation(observer_count_latest) AS ballots,
       finalizeAggregation(official_latest) AS ballots_official,
       finalizeAggregation(reported_max) AS turnout_at
FROM $db.turnout_latest FINAL WHERE 1 {stations}"""

# The newest report's key (time, then count) holds its count in the low 32 bits: maxIf of
# the key is argMaxIf's answer at a third of the cost (see TURNOUT_AT_MOMENTS).
TURNOUT_AS_OF = """
SELECT station_id,
       toUInt32(bitAnd(maxIf(toUInt64(occurred_at) * 4294967296 + ballots_issued,
                             source = 'observer_count'), 4294967295)) AS ballots,
       toUInt32(bitAnd(maxIf(toUInt64(occurred_at) * 4294967296 + ballots_issued,
                             source = 'official'), 4294967295)) AS ballots_official,
       max(occurred_at) AS turnout_at
FROM $db.turnout_reports
WHERE occurred_at <= {{as_of:DateTime}} {stations}
GROUP BY station_id"""

PRESENCE_NOW = """
SELECT station_id, observer_id, finalizeAggregation(status_latest) AS status,
       finalizeAggregation(changed_max) AS status_at
FROM $db.observer_latest FINAL WHERE 1 {stations}"""

PRESENCE_AS_OF = """
SELECT station_id, observer_id,
       argMax(if(kind = 'checkin', kind, concat(kind, ':', reason)),
              toUInt64(occurred_at) * 4
                  + multiIf(kind = 'checkin', 0, reason = 'removed', 2, 1)) AS status,
       max(occurred_at) AS status_at
FROM $db.events
WHERE kind IN ('checkin', 'checkout') AND role = 'observer'
      AND occurred_at <= {{as_of:DateTime}} {stations}
GROUP BY station_id, observer_id"""

# Every incident reported by as_of with its latest review by then. The reports and reviews
# are stacked and folded by one GROUP BY, as in STATION_STATE (a third cheaper than joining
# them): a review row brings only its verdict and time, a report row the rest (a resent
# report lands twice until a merge, with the same values), and a review of an incident
# not reported by then is dropped. Every branch names its columns (see STATION_STATE); the
# reviews are filtered before their time is renamed (an alias would shadow the column).
INCIDENTS = """
SELECT incident_id, station_id, region_code, category, severity, occurred_at,
       if(verdict = '', 'unverified', verdict) AS status
FROM (SELECT incident_id, max(station_id) AS station_id, max(region_code) AS region_code,
             max(category) AS category, max(severity) AS severity,
             max(occurred_at) AS occurred_at, argMax(verdict, reviewed_at) AS verdict
      FROM (SELECT event_id AS incident_id, station_id, region_code, category, severity,
                   occurred_at, toUInt8(1) AS reported, '' AS verdict,
                   toDateTime(0, 'UTC') AS reviewed_at
            FROM $db.incident_reports WHERE occurred_at <= {as_of:DateTime}
            UNION ALL
            SELECT incident_id, '' AS station_id, '' AS region_code, '' AS category,
                   toUInt8(0) AS severity, toDateTime(0, 'UTC') AS occurred_at,
                   toUInt8(0) AS reported, verdict, reviewed_at
            FROM (SELECT incident_id, verdict, occurred_at AS reviewed_at
                  FROM $db.incident_reviews WHERE occurred_at <= {as_of:DateTime}) AS review
            ) AS stacked
      GROUP BY incident_id
      HAVING max(reported) = 1) AS incident
ORDER BY occurred_at, incident_id"""

EXITPOLL_TALLIES = """
SELECT region_code, station_id, option, sum(count) AS answers
FROM (SELECT event_id, any(region_code) AS region_code, any(station_id) AS station_id,
             any(options) AS options, any(counts) AS counts
      FROM (SELECT * FROM $db.exitpolls WHERE occurred_at <= {as_of:DateTime})
      GROUP BY event_id) AS batches
ARRAY JOIN options AS option, counts AS count
GROUP BY region_code, station_id, option
ORDER BY region_code, station_id, option"""

LATEST_PROTOCOLS = """
SELECT station_id, source, any(region_code) AS region_code,
       argMax(event_id, occurred_at) AS event_id, max(occurred_at) AS reported_at,
       argMax(registered, occurred_at) AS registered,
       argMax(ballots_received, occurred_at) AS ballots_received,
       argMax(ballots_issued, occurred_at) AS ballots_issued,
       argMax(ballots_cast, occurred_at) AS ballots_cast,
       argMax(invalid, occurred_at) AS invalid,
       argMax(options, occurred_at) AS options,
       argMax(votes, occurred_at) AS votes
FROM (SELECT * FROM $db.protocols
      WHERE occurred_at <= {as_of:DateTime}
            AND (empty({stations:Array(String)})
                 OR station_id IN (SELECT arrayJoin({stations:Array(String)}))))
GROUP BY station_id, source
ORDER BY station_id, source"""

# Turnout reports of some stations, each once, in a span of time ({span}, a condition).
TURNOUT_REPORTS = """
SELECT event_id, any(station_id) AS station_id, any(source) AS source,
       toUInt32(any(occurred_at)) AS occurred_at, any(ballots_issued) AS ballots
FROM (SELECT * FROM $db.events
      WHERE kind = 'turnout' AND station_id IN (SELECT arrayJoin({stations:Array(String)}))
            AND {span})
GROUP BY event_id
ORDER BY station_id, occurred_at, event_id"""
TURNOUT_HISTORY = TURNOUT_REPORTS.replace("{span}", "occurred_at <= {as_of:DateTime}")

# Which of these ids the archive holds: the worker's check of the ids its filter may have
# seen (saylau/streams/batch.py, SeenIds). Looked up by the archive's key (station, event).
STORED_EVENT_IDS = """
SELECT DISTINCT event_id FROM $db.events
WHERE station_id IN (SELECT arrayJoin({stations:Array(String)}))
      AND event_id IN (SELECT arrayJoin({ids:Array(String)}))"""

# The alert judge's window: the turnout reports of each station from its own start (epoch
# seconds, ``transform`` maps a station to it), and the highest count of each station and
# source before that start, from the narrow turnout_reports (keyed by station, source and
# time). A resent report lands twice until a merge: GROUP BY event_id, and a max is not
# changed by a copy.
TURNOUT_WINDOW = TURNOUT_REPORTS.replace(
    "{span}", "toUInt32(occurred_at) >= transform(station_id, {stations:Array(String)}, "
              "{starts:Array(UInt32)}, toUInt32(0))")

TURNOUT_HIGHEST_BEFORE = """
SELECT station_id, toString(source) AS source, max(ballots_issued) AS ballots
FROM $db.turnout_reports
WHERE station_id IN (SELECT arrayJoin({stations:Array(String)}))
      AND toUInt32(occurred_at) < transform(station_id, {stations:Array(String)},
                                            {starts:Array(UInt32)}, toUInt32(0))
GROUP BY station_id, source"""

# Observers expelled (check-outs for ``removed``), once per event: the forensics' evidence
# that a count went unwatched because the watcher was sent away.
OBSERVER_REMOVALS = """
SELECT event_id, any(station_id) AS station_id, toUInt32(any(occurred_at)) AS occurred_at
FROM (SELECT * FROM $db.events
      WHERE kind = 'checkout' AND reason = 'removed' AND role = 'observer'
            AND occurred_at <= {as_of:DateTime})
GROUP BY event_id
ORDER BY station_id, occurred_at, event_id"""

TURNOUT_BUCKETS = """
SELECT region_code, station_id, bucket, maxMerge(ballots) AS ballots
FROM $db.turnout_15m
WHERE source = {source:String} AND bucket <= {as_of:DateTime}
GROUP BY region_code, station_id, bucket
ORDER BY station_id, bucket"""

INCIDENT_BUCKETS = """
SELECT region_code, category, bucket, uniqExactMerge(incidents) AS incidents
FROM $db.incidents_15m
WHERE bucket <= {as_of:DateTime}
GROUP BY region_code, category, bucket
ORDER BY region_code, bucket, category"""

ALERTS = """
SELECT alert_id, argMax(kind, version) AS kind, argMax(region_code, version) AS region_code,
       argMax(station_id, version) AS station_id, argMax(occurred_at, version) AS occurred_at,
       argMax(value, version) AS value, argMax(threshold, version) AS threshold,
       argMax(detail, version) AS detail
FROM $db.alerts
GROUP BY alert_id
HAVING argMax(active, version) = 1 AND occurred_at <= {as_of:DateTime}
ORDER BY occurred_at, alert_id"""

ACTIVE_ALERTS = """
SELECT alert_id, any(kind) AS kind, any(region_code) AS region_code,
       any(station_id) AS station_id, argMax(occurred_at, version) AS occurred_at,
       argMax(value, version) AS value
FROM (SELECT * FROM $db.alerts
      WHERE kind = {kind:String}
            AND (station_id IN (SELECT arrayJoin({stations:Array(String)}))
                 OR region_code IN (SELECT arrayJoin({regions:Array(String)}))))
GROUP BY alert_id
HAVING argMax(active, version) = 1"""

INCIDENT_TIMES = """
SELECT event_id, any(region_code) AS region_code, any(occurred_at) AS occurred_at
FROM (SELECT * FROM $db.incident_times
      WHERE region_code IN (SELECT arrayJoin({regions:Array(String)}))
            AND occurred_at >= {start:DateTime} AND occurred_at < {end:DateTime})
GROUP BY event_id
ORDER BY occurred_at, event_id"""

CHECKED_IN_BY = """
SELECT DISTINCT station_id FROM $db.events
WHERE kind = 'checkin' AND role = 'observer' AND occurred_at <= {deadline:DateTime}"""

EVENT_COUNTS = """
SELECT kind, uniqExact(event_id) AS events FROM $db.events GROUP BY kind ORDER BY kind
"""

REJECTED_COUNTS = """
SELECT reason, count() AS messages FROM $db.rejected FINAL GROUP BY reason ORDER BY reason
"""

LATEST_EVENT_TIME = "SELECT max(occurred_at) AS latest FROM $db.events"


def _as_of(as_of: dt.datetime | None) -> dict[str, Any]:
    return {"as_of": (as_of or END_OF_TIME).astimezone(dt.UTC)}


def load_stations(wh: Warehouse, registry: pd.DataFrame) -> int:
    """Copy the registry into the warehouse (re-loading the same registry changes nothing)."""
    records = registry[list(STATION_COLUMNS)].to_dict("records")
    for record in records:
        record["registered_voters"] = int(record["registered_voters"])
        record["lat"], record["lon"] = float(record["lat"]), float(record["lon"])
    return insert_in_chunks(wh, "stations", STATION_COLUMNS, records)


def stations(wh: Warehouse) -> pd.DataFrame:
    return _as_ints(wh.query_df(STATIONS), ["registered_voters"])


def station_turnout(wh: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
    return _as_ints(wh.query_df(STATION_TURNOUT, _as_of(as_of)), ["ballots"])


def station_presence(wh: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
    return _as_ints(wh.query_df(STATION_PRESENCE, _as_of(as_of)), ["present", "removed"])


def station_assignments(wh: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
    return wh.query_df(STATION_ASSIGNMENTS, _as_of(as_of))


def _state_parts(as_of: dt.datetime | None, region: str | None,
                 now: bool) -> dict[str, str]:
    """The pieces of STATION_STATE's branches: of ``region`` or all, from the pre-aggregated
    tables (``now``) or the archive, with the newest report's time only as of a moment."""
    stations = STATION_IN_REGION if region else ""
    turnout = TURNOUT_NOW if now else TURNOUT_AS_OF
    presence = PRESENCE_NOW if now else PRESENCE_AS_OF
    return {"stations": stations, "targets": TARGET_IN_REGION if region else "",
            "turnout": turnout.format(stations=stations),
            "presence": presence.format(stations=stations),
            "turnout_at": NEWEST_REPORT if as_of is not None else ""}


def station_state_inputs(wh: Warehouse, as_of: dt.datetime | None = None,
                         region: str | None = None, now: bool = False,
                         ordered: bool = True) -> pd.DataFrame:
    """Per station (of ``region``, or all): registry, latest turnout by source, presence,
    the times of the latest turnout, check and assignment (1970 for none). ``now`` reads
    the pre-aggregated tables, right only when no event is later than ``as_of`` (see
    saylau/warehouse/state.py). Not ``ordered``: in no particular order, with a ``fingerprint``
    column instead. The time of the latest report (``turnout_at``) only as of a moment."""
    parts = {**_state_parts(as_of, region, now),
             "order": STATION_ORDER if ordered else "",
             "fingerprint": "" if ordered else STATION_FINGERPRINT}
    params = {**_as_of(as_of), **({"region": region} if region else {})}
    frame = wh.query_df(STATION_STATE.format(**parts), params)
    if len(frame) and int(frame["region_length"].max()) > REGION_KEY_BYTES:
        frame = wh.query_df(STATION_STATE_TEXT.format(**parts), params)
    frame = frame.drop(columns="region_length")
    return _as_ints(frame, ["registered_voters", "ballots", "ballots_official", "present",
                            "removed"])


def incidents(wh: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
    return _as_ints(wh.query_df(INCIDENTS, _as_of(as_of)), ["severity"])


def exitpoll_tallies(wh: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
    return _as_ints(wh.query_df(EXITPOLL_TALLIES, _as_of(as_of)), ["answers"])


def latest_protocols(wh: Warehouse, as_of: dt.datetime | None = None,
                     station_ids: list[str] | None = None) -> pd.DataFrame:
    """The newest protocol per station and source (of ``station_ids``, or of all)."""
    params = {**_as_of(as_of), "stations": list(station_ids or [])}
    frame = wh.query_df(LATEST_PROTOCOLS, params)
    numbers = ["registered", "ballots_received", "ballots_issued", "ballots_cast", "invalid"]
    frame = _as_ints(frame, numbers)
    frame["votes"] = [dict(zip(o, (int(v) for v in c), strict=True))
                      for o, c in zip(frame["options"], frame["votes"], strict=True)]
    return frame.drop(columns=["options"])


def turnout_history(wh: Warehouse, station_ids: list[str],
                    as_of: dt.datetime | None = None) -> pd.DataFrame:
    """Every turnout report of these stations, ordered by station, time and event id."""
    return _turnout_reports(wh, TURNOUT_HISTORY, {**_as_of(as_of),
                                                  "stations": list(station_ids)})


def _turnout_reports(wh: Warehouse, sql: str, params: dict[str, Any]) -> pd.DataFrame:
    """Times come as epoch seconds and become UTC timestamps here: the alert judge reads
    many reports, and the server engine's driver made a datetime per value (via pytz)."""
    frame = _as_ints(wh.query_df(sql, params), ["ballots", "occurred_at"])
    return frame.assign(occurred_at=pd.to_datetime(frame["occurred_at"], unit="s", utc=True))


def stored_event_ids(wh: Warehouse, keys: Sequence[tuple[str, str]]) -> set[str]:
    """Which of these (station_id, event_id) the archive holds, by event id."""
    if not keys:
        return set()
    stations = sorted({station for station, _ in keys})
    ids = sorted({event_id for _, event_id in keys})
    frame = wh.query_df(STORED_EVENT_IDS, {"stations": stations, "ids": ids})
    return {str(event_id) for event_id in frame["event_id"]}


def turnout_window(wh: Warehouse, starts: Mapping[str, int]) -> tuple[pd.DataFrame,
                                                                      pd.DataFrame]:
    """The turnout reports of each station from its start (epoch seconds) on, as
    ``turnout_history`` gives them, and ``station_id, source, ballots``: the highest
    count of each station and source reported before its start."""
    stations = sorted(starts)
    params = {"stations": stations, "starts": [int(starts[s]) for s in stations]}
    reports = _turnout_reports(wh, TURNOUT_WINDOW, params)
    highest = _as_ints(wh.query_df(TURNOUT_HIGHEST_BEFORE, params), ["ballots"])
    return reports, highest


def observer_removals(wh: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
    """Every observer's check-out for ``removed``: ``station_id, occurred_at`` (UTC)."""
    frame = _as_ints(wh.query_df(OBSERVER_REMOVALS, _as_of(as_of)), ["occurred_at"])
    return frame.assign(occurred_at=pd.to_datetime(frame["occurred_at"], unit="s", utc=True))


def turnout_buckets(wh: Warehouse, source: str = "observer_count",
                    as_of: dt.datetime | None = None) -> pd.DataFrame:
    return _as_ints(wh.query_df(TURNOUT_BUCKETS, {**_as_of(as_of), "source": source}),
                    ["ballots"])


def incident_buckets(wh: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
    return _as_ints(wh.query_df(INCIDENT_BUCKETS, _as_of(as_of)), ["incidents"])


def alerts(wh: Warehouse, as_of: dt.datetime | None = None) -> pd.DataFrame:
    return wh.query_df(ALERTS, _as_of(as_of))


def active_alerts(wh: Warehouse, kind: str, station_ids: Sequence[str] = (),
                  regions: Sequence[str] = ()) -> pd.DataFrame:
    """Alerts of ``kind`` that hold now, about any of these stations or regions."""
    params = {"kind": kind, "stations": list(station_ids), "regions": list(regions)}
    return wh.query_df(ACTIVE_ALERTS, params)


def incident_times(wh: Warehouse, regions: list[str], start: dt.datetime,
                   end: dt.datetime) -> pd.DataFrame:
    params = {"regions": list(regions), "start": start, "end": end}
    return wh.query_df(INCIDENT_TIMES, params)


def stations_checked_in_by(wh: Warehouse, deadline: dt.datetime) -> set[str]:
    return set(wh.query_df(CHECKED_IN_BY, {"deadline": deadline})["station_id"])


def event_counts(wh: Warehouse) -> dict[str, int]:
    frame = wh.query_df(EVENT_COUNTS)
    return {str(k): int(v) for k, v in zip(frame["kind"], frame["events"], strict=True)}


def rejected_counts(wh: Warehouse) -> dict[str, int]:
    frame = wh.query_df(REJECTED_COUNTS)
    return {str(k): int(v) for k, v in zip(frame["reason"], frame["messages"], strict=True)}


def latest_event_time(wh: Warehouse) -> dt.datetime | None:
    value = wh.query_df(LATEST_EVENT_TIME)["latest"].iloc[0]
    stamp = pd.Timestamp(value)
    if pd.isna(stamp) or stamp.year < 2000:  # ClickHouse's max() of nothing is 1970
        return None
    return (stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp).to_pydatetime()


def _as_ints(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_numeric(frame[column]).fillna(0).astype("int64")
    return frame


# --- Observers' whereabouts (the region page) ----------------------------------------------

# Per observer: the newest check event (status, station, time) and the newest assignment.
OBSERVER_WHEREABOUTS = """
SELECT observer_id,
       argMaxIf(status, occurred_at, kind != 'assignment') AS last_status,
       argMaxIf(station_id, occurred_at, kind != 'assignment') AS last_station,
       toUInt32(maxIf(occurred_at, kind != 'assignment')) AS changed_ts,
       toUInt32(maxIf(occurred_at, kind = 'assignment')) AS assigned_ts,
       argMaxIf(target_station_id, occurred_at, kind = 'assignment') AS assigned_to
FROM (SELECT observer_id, station_id, occurred_at, kind, target_station_id,
             if(kind = 'checkin', 'checkin', concat(kind, ':', reason)) AS status
      FROM $db.events
      WHERE ((kind IN ('checkin', 'checkout') AND role = 'observer') OR kind = 'assignment')
            AND occurred_at <= {as_of:DateTime}
            AND observer_id IN (SELECT arrayJoin({observers:Array(String)})))
GROUP BY observer_id"""


def observer_whereabouts(wh: Warehouse, observer_ids: Sequence[str],
                         as_of: dt.datetime | None = None) -> pd.DataFrame:
    """Per observer who has any check event or assignment: `last_status` (checkin or
    checkout:REASON), `last_station`, `changed_ts` (its time, unix seconds, 0 if none),
    `assigned_ts` and `assigned_to` (the newest assignment, 0 and '' if none)."""
    columns = ["observer_id", "last_status", "last_station", "changed_ts", "assigned_ts",
               "assigned_to"]
    if not observer_ids:  # an empty array literal is Array(Nothing) on ClickHouse 18.16
        return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    frame = wh.query_df(OBSERVER_WHEREABOUTS,
                        {**_as_of(as_of), "observers": list(observer_ids)})
    return _as_ints(frame, ["changed_ts", "assigned_ts"])[columns]


# The raw payload of some incidents (their description is not a column of its own). The
# station filter lets the primary key (station first) skip the rest of the archive.
INCIDENT_PAYLOADS = """
SELECT event_id, any(payload) AS payload
FROM $db.events
WHERE kind = 'incident' AND station_id IN (SELECT arrayJoin({stations:Array(String)}))
      AND event_id IN (SELECT arrayJoin({ids:Array(String)}))
GROUP BY event_id"""


def incident_descriptions(wh: Warehouse, incidents: pd.DataFrame) -> dict[str, str]:
    """incident_id -> the description its observer wrote, for the rows of `incidents`
    (incident_id, station_id)."""
    import json  # here, so this addition stays apart from the module's imports

    if incidents.empty:  # an empty array literal is Array(Nothing) on ClickHouse 18.16
        return {}
    params = {"stations": sorted(set(incidents["station_id"])),
              "ids": list(incidents["incident_id"])}
    frame = wh.query_df(INCIDENT_PAYLOADS, params)
    return {str(event_id): str(json.loads(payload).get("description", ""))
            for event_id, payload in zip(frame["event_id"], frame["payload"], strict=True)}


# The region page's redeployment inputs. Observers: each one last seen (latest check
# event) at a station of the region, with that station and status ("checkin",
# "checkout:<reason>"); {presence} is PRESENCE_NOW or PRESENCE_AS_OF for the region.
REGION_OBSERVERS = """
SELECT observer_id, argMax(station_id, status_at) AS last_station,
       argMax(status, status_at) AS last_status, max(status_at) AS changed_at
FROM ({presence}) AS by_station
GROUP BY observer_id
ORDER BY observer_id"""

REGION_INCIDENTS = """
SELECT event_id AS incident_id, any(station_id) AS station_id, any(category) AS category,
       any(severity) AS severity, any(occurred_at) AS occurred_at
FROM (SELECT event_id, station_id, category, severity, occurred_at FROM $db.incident_reports
      WHERE region_code = {region:String} AND occurred_at <= {as_of:DateTime}) AS incident
GROUP BY event_id
ORDER BY occurred_at, incident_id"""


def region_observers(wh: Warehouse, region: str, as_of: dt.datetime | None = None,
                     now: bool = False) -> pd.DataFrame:
    """Observers last seen in ``region``: last_station, last_status, changed_at. ``now``
    reads the pre-aggregated table (see ``station_state_inputs``)."""
    presence = (PRESENCE_NOW if now else PRESENCE_AS_OF).format(stations=STATION_IN_REGION)
    return wh.query_df(REGION_OBSERVERS.format(presence=presence),
                       {**_as_of(as_of), "region": region})


def region_incidents(wh: Warehouse, region: str,
                     as_of: dt.datetime | None = None) -> pd.DataFrame:
    """The region's incidents (each once), for the redeployment priority."""
    return _as_ints(wh.query_df(REGION_INCIDENTS, {**_as_of(as_of), "region": region}),
                    ["severity"])


# --- Dashboard pages: national turnout at the reporting times, one station's story --------

# One pass over the turnout reports for every moment (an ARRAY JOIN would multiply the rows by the
# moments): per station the latest report of each source up to each moment, ties in time to
# the larger count as in station_state. The report's ordering key (time, then count) holds
# its count in the low 32 bits, so the newest key up to a moment (a plain maxIf, three times
# cheaper than argMaxIf over (station, source) groups) is the report itself; 0 = none yet.
# {per_station} holds one key per source and moment, {totals} their sums and counts.
TURNOUT_AT_MOMENTS = """
SELECT {totals}
FROM (SELECT {per_station}
      FROM (SELECT station_id, source, toUInt32(occurred_at) AS at,
                   toUInt64(occurred_at) * 4294967296 + ballots_issued AS newest
            FROM $db.turnout_reports
            WHERE occurred_at <= {{as_of:DateTime}})
      GROUP BY station_id) AS per_station"""
TURNOUT_SOURCES = ("observer_count", "official")

# A table's active parts (each a range of insert blocks of one partition, immutable) and
# the earliest turnout report of some parts: turnout at a passed reporting time changes only
# when a part holding a report from before that time appears (saylau/dashboard/moments.py);
# the registry only when the stations' parts change (saylau/warehouse/state.py).
TABLE_PARTS = """
SELECT name, partition_id, min_block_number AS first_block, max_block_number AS last_block,
       data_version, path
FROM system.parts
WHERE database = {database:String} AND table = {table:String} AND active"""

PARTS_FIRST_REPORT = """
SELECT _part AS name, toUInt32(min(occurred_at)) AS first_report
FROM $db.turnout_reports
WHERE _part IN (SELECT arrayJoin({parts:Array(String)}))
GROUP BY _part"""


STATION_RECORD = """
SELECT station_id, name, region_code, district, settlement, address, lat, lon,
       registered_voters
FROM $db.stations FINAL WHERE station_id = {station:String}"""

STATION_EVENTS = """
SELECT event_id, any(kind) AS kind, any(occurred_at) AS occurred_at,
       any(observer_id) AS observer_id, any(role) AS role, any(reason) AS reason,
       any(source) AS source, any(ballots_issued) AS ballots_issued,
       any(category) AS category, any(severity) AS severity,
       any(incident_id) AS incident_id, any(verdict) AS verdict,
       any(target_station_id) AS target_station_id
FROM (SELECT * FROM $db.events
      WHERE (station_id = {station:String} OR target_station_id = {station:String})
            AND occurred_at <= {as_of:DateTime})
GROUP BY event_id
ORDER BY occurred_at, event_id"""

STATION_INCIDENTS = """
SELECT incident_id, station_id, category, severity, occurred_at,
       if(verdict = '', 'unverified', verdict) AS status
FROM (SELECT event_id AS incident_id, any(station_id) AS station_id,
             any(category) AS category, any(severity) AS severity,
             any(occurred_at) AS occurred_at
      FROM (SELECT * FROM $db.events
            WHERE station_id = {station:String} AND kind = 'incident'
                  AND occurred_at <= {as_of:DateTime})
      GROUP BY event_id) AS incident
ANY LEFT JOIN (
      SELECT incident_id, argMax(verdict, occurred_at) AS verdict
      FROM $db.events
      WHERE kind = 'review' AND occurred_at <= {as_of:DateTime}
      GROUP BY incident_id) AS review USING incident_id
ORDER BY occurred_at, incident_id"""

STATION_EXITPOLL = """
SELECT option, sum(count) AS answers, uniqExact(event_id) AS batches
FROM (SELECT event_id, any(options) AS options, any(counts) AS counts
      FROM (SELECT * FROM $db.exitpolls
            WHERE station_id = {station:String} AND occurred_at <= {as_of:DateTime})
      GROUP BY event_id) AS batches
ARRAY JOIN options AS option, counts AS count
GROUP BY option
ORDER BY option"""


def turnout_at_moments(wh: Warehouse, moments: Sequence[dt.datetime],
                       as_of: dt.datetime | None = None) -> pd.DataFrame:
    """National ballots per source as they stood at each moment (no later than ``as_of``):
    columns source, moment (UTC), ballots, stations (stations that had reported)."""
    columns = ["source", "moment", "ballots", "stations"]
    if not moments:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    pairs = [(s, i) for i in range(len(moments)) for s in range(len(TURNOUT_SOURCES))]
    sql = TURNOUT_AT_MOMENTS.format(
        per_station=", ".join(f"maxIf(newest, at <= {{m{i}:UInt32}} AND source = {{s{s}:String}})"
                              f" AS k{s}_{i}" for s, i in pairs),
        totals=", ".join(f"sum(bitAnd(k{s}_{i}, 4294967295)) AS ballots{s}_{i}, "
                         f"countIf(k{s}_{i} > 0) AS stations{s}_{i}" for s, i in pairs))
    params = {**_as_of(as_of), **{f"m{i}": int(m.timestamp()) for i, m in enumerate(moments)},
              **{f"s{s}": source for s, source in enumerate(TURNOUT_SOURCES)}}
    row = wh.query_df(sql, params).iloc[0]
    rows = [(TURNOUT_SOURCES[s], int(moments[i].timestamp()), int(row[f"ballots{s}_{i}"]),
             int(row[f"stations{s}_{i}"])) for s, i in pairs if int(row[f"stations{s}_{i}"]) > 0]
    frame = pd.DataFrame(rows, columns=columns).sort_values(["moment", "source"],
                                                             ignore_index=True)
    frame["moment"] = pd.to_datetime(frame["moment"], unit="s", utc=True)
    return frame


def station_registry(wh: Warehouse) -> pd.DataFrame:
    """Every station's registry row and hashes, in the order of ``station_hash``."""
    return _as_ints(wh.query_df(STATION_REGISTRY), ["registered_voters"])


def station_events_state(wh: Warehouse, as_of: dt.datetime | None = None,
                         now: bool = False) -> pd.DataFrame:
    """``station_state_inputs`` without the registry's columns, unordered, with each id's
    hash (``station_hash``) and a fingerprint of what events changed."""
    sql = STATION_EVENTS_STATE.format(**_state_parts(as_of, None, now))
    return _as_ints(wh.query_df(sql, _as_of(as_of)),
                    ["ballots", "ballots_official", "present", "removed"])


def table_parts(wh: Warehouse, table: str) -> pd.DataFrame:
    """The active parts of ``table``: name, partition_id, first_block, last_block,
    data_version (larger than first_block once a mutation rewrote the part), path."""
    return _as_ints(wh.query_df(TABLE_PARTS, {"database": wh.database, "table": table}),
                    ["first_block", "last_block", "data_version"])


def parts_blocks(parts: pd.DataFrame) -> Blocks:
    blocks: Blocks = {}
    for partition, first, last in zip(parts["partition_id"], parts["first_block"],
                                      parts["last_block"], strict=True):
        blocks.setdefault(str(partition), []).append((int(first), int(last)))
    return blocks


def blocks_covered(first: int, last: int, ranges: list[tuple[int, int]]) -> bool:
    """Whether every block from ``first`` to ``last`` lies in one of ``ranges``."""
    for start, end in sorted(ranges):
        if start > first:
            return False
        if end >= first:
            first = end + 1
            if first > last:
                return True
    return first > last


def blocks_still_held(known: Blocks, parts: pd.DataFrame) -> bool:
    """Whether every block of ``known`` lies in one of ``parts`` (none was dropped)."""
    now = parts_blocks(parts)
    return all(blocks_covered(first, last, now.get(partition, []))
               for partition, ranges in known.items() for first, last in ranges)


def only_known_blocks(known: Blocks, parts: pd.DataFrame) -> bool:
    """Whether ``parts`` hold exactly the blocks of ``known``: the same data, however merged
    (a merge of a ReplacingMergeTree drops only copies that FINAL drops anyway)."""
    return blocks_still_held(known, parts) and all(
        blocks_covered(int(first), int(last), known.get(str(partition), []))
        for partition, first, last in zip(parts["partition_id"], parts["first_block"],
                                          parts["last_block"], strict=True))


def parts_folder(parts: pd.DataFrame) -> str | None:
    """The one folder (named by the table's UUID) holding every part, else None."""
    folders = {str(path).rstrip("/").rsplit("/", 1)[0] for path in parts["path"]}
    if len(folders) != 1:
        return None
    folder = folders.pop()
    return folder if "/store/" in folder else None


def parts_first_report(wh: Warehouse, parts: Sequence[str]) -> dict[str, int]:
    """Part name -> the time (unix seconds) of its earliest turnout report."""
    if not parts:  # an empty array literal is Array(Nothing) on ClickHouse 18.16
        return {}
    frame = wh.query_df(PARTS_FIRST_REPORT, {"parts": list(parts)})
    return {str(name): int(first) for name, first in
            zip(frame["name"], frame["first_report"], strict=True)}


def station_record(wh: Warehouse, station_id: str) -> pd.DataFrame:
    """The registry row of one station (empty if the warehouse does not know it)."""
    return _as_ints(wh.query_df(STATION_RECORD, {"station": station_id}), ["registered_voters"])


def station_events(wh: Warehouse, station_id: str,
                   as_of: dt.datetime | None = None) -> pd.DataFrame:
    """Every event of one station (and assignments sending an observer to it), in time order."""
    params = {**_as_of(as_of), "station": station_id}
    return _as_ints(wh.query_df(STATION_EVENTS, params), ["ballots_issued", "severity"])


def station_incidents(wh: Warehouse, station_id: str,
                      as_of: dt.datetime | None = None) -> pd.DataFrame:
    params = {**_as_of(as_of), "station": station_id}
    return _as_ints(wh.query_df(STATION_INCIDENTS, params), ["severity"])


def station_exitpoll(wh: Warehouse, station_id: str,
                     as_of: dt.datetime | None = None) -> pd.DataFrame:
    params = {**_as_of(as_of), "station": station_id}
    return _as_ints(wh.query_df(STATION_EXITPOLL, params), ["answers", "batches"])
