"""The double-entry tabulation's reads of the ``tabulation`` table (docs/tabulation.md).

The table is a ReplacingMergeTree written by the worker, one row per fact: a resent event
may still be there twice until a merge, so every read groups by ``event_id`` first. Plain
GROUP BY, argMin and ANY LEFT JOIN: ClickHouse 18.16 runs all of it, as chDB does. Output
aliases never reuse a column filtered in the same SELECT (saylau/warehouse/queries.py).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from saylau.warehouse.client import Warehouse

FIGURES = ("registered", "ballots_received", "ballots_issued", "ballots_cast", "invalid")

# One row per photo hash: the same photo sent in two protocol events (a phone resending
# with a new event id) is one photo, of the first sender, received when first sent.
PHOTOS = """
SELECT sha256, any(station) AS station_id, any(region) AS region_code,
       argMin(sender, sent_at) AS observer_id, min(sent_at) AS received_at,
       toUInt8(sha256 IN (SELECT photo_sha256 FROM $db.tabulation WHERE fact = 'agreed'))
           AS has_copy
FROM (SELECT event_id, photo_sha256 AS sha256, any(station_id) AS station,
             any(region_code) AS region, any(actor) AS sender, any(occurred_at) AS sent_at
      FROM $db.tabulation WHERE fact = 'photo' GROUP BY event_id, photo_sha256) AS sent
GROUP BY sha256
ORDER BY received_at, sha256
"""
ENTRIES = """
SELECT event_id AS entry_id, any(photo_sha256) AS sha256, any(actor) AS volunteer,
       any(occurred_at) AS entered_at, any(registered) AS registered,
       any(ballots_received) AS ballots_received, any(ballots_issued) AS ballots_issued,
       any(ballots_cast) AS ballots_cast, any(invalid) AS invalid,
       any(options) AS options, any(votes) AS votes
FROM $db.tabulation WHERE fact = 'entry'
GROUP BY event_id
ORDER BY entered_at, entry_id
"""
# Progress by region, as saylau/dashboard/double_entry.py's photo_state judges it: each
# volunteer's first entry of a photo counts (by time, then entry id: the key's 10-digit
# seconds sort as numbers); a photo is agreed when two volunteers typed the same figures,
# in conflict when two or more did and no two agree.
PROGRESS = """
SELECT region_code, count() AS photos, countIf(volunteers = 0) AS waiting,
       countIf(volunteers = 1) AS entered_once, countIf(most_alike >= 2) AS agreed,
       countIf(volunteers >= 2 AND most_alike < 2) AS conflict
FROM (SELECT sha256, any(region) AS region_code
      FROM (SELECT photo_sha256 AS sha256, region_code AS region
            FROM $db.tabulation WHERE fact = 'photo')
      GROUP BY sha256) AS photos
ANY LEFT JOIN (
    SELECT sha256, sum(alike) AS volunteers, max(alike) AS most_alike
    FROM (SELECT sha256, figures, count() AS alike
          FROM (SELECT sha256, volunteer,
                       argMin(figures, concat(toString(toUInt64(entered_at)), entry_id))
                           AS figures
                FROM (SELECT event_id AS entry_id, any(photo_sha256) AS sha256,
                             any(actor) AS volunteer, any(occurred_at) AS entered_at,
                             concat(toString(any(registered)), ',',
                                    toString(any(ballots_received)), ',',
                                    toString(any(ballots_issued)), ',',
                                    toString(any(ballots_cast)), ',',
                                    toString(any(invalid)), ';',
                                    arrayStringConcat(any(options), ','), ';',
                                    arrayStringConcat(arrayMap(x -> toString(x),
                                                               any(votes)), ','))
                                 AS figures
                      FROM $db.tabulation WHERE fact = 'entry' GROUP BY event_id)
                GROUP BY sha256, volunteer)
          GROUP BY sha256, figures)
    GROUP BY sha256) AS judged USING sha256
GROUP BY region_code
ORDER BY region_code
"""
PHOTO_REGION = """
SELECT any(region_code) AS region, count() AS rows FROM $db.tabulation
WHERE fact = 'photo' AND photo_sha256 = {sha256:String}
"""
PROGRESS_COLUMNS = ["region_code", "photos", "waiting", "entered_once", "agreed", "conflict"]


def tabulation_photos(warehouse: Warehouse) -> pd.DataFrame:
    """Every protocol photo: sha256, station_id, region_code, observer_id (its sender),
    received_at (UTC) and has_copy (1 once its digitised copy is stored), oldest first."""
    frame = warehouse.query_df(PHOTOS)
    frame["received_at"] = _utc(frame["received_at"])
    frame["has_copy"] = frame["has_copy"].astype(bool)
    return frame


def tabulation_entries(warehouse: Warehouse) -> pd.DataFrame:
    """Every volunteer's entry: entry_id, sha256, volunteer, entered_at (UTC), the figures
    and ``votes`` as {option: count}, in entry order."""
    frame = warehouse.query_df(ENTRIES)
    frame["entered_at"] = _utc(frame["entered_at"])
    for name in FIGURES:
        frame[name] = frame[name].astype("int64")
    frame["votes"] = [dict(zip(options, (int(v) for v in votes), strict=True))
                      for options, votes in zip(frame["options"], frame["votes"], strict=True)]
    return frame.drop(columns=["options"])


def tabulation_progress(warehouse: Warehouse) -> pd.DataFrame:
    """Per region: photos received, waiting, entered once, agreed (resolved included) and
    in conflict."""
    frame = warehouse.query_df(PROGRESS)
    if frame.empty:
        return pd.DataFrame({name: pd.Series(dtype=str if name == "region_code" else "int64")
                             for name in PROGRESS_COLUMNS})
    for name in PROGRESS_COLUMNS[1:]:
        frame[name] = frame[name].astype("int64")
    return frame[PROGRESS_COLUMNS]


def photo_region(warehouse: Warehouse, sha256: str) -> str | None:
    """The region of a protocol photo's station; None if no observer sent that photo."""
    row = warehouse.query_df(PHOTO_REGION, {"sha256": sha256}).iloc[0]
    return str(row["region"]) if int(row["rows"]) else None


def _utc(times: pd.Series) -> pd.Series:
    stamps = pd.to_datetime(times)
    if stamps.dt.tz is None:
        return stamps.dt.tz_localize("UTC")
    return stamps.dt.tz_convert("UTC")


def as_utc(moment: dt.datetime) -> dt.datetime:
    """A moment as the warehouse keeps it: UTC, whole seconds."""
    return moment.astimezone(dt.UTC).replace(microsecond=0)
