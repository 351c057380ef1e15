"""The station-by-station comparison's query (docs/comparison.md): per station, the latest
official figures, the latest verified copy (an ``agreed`` double entry) and its photo's hash
if headquarters released it, read from the ``tabulation`` table in one query.

Every join and every "latest per station" is done here, in ClickHouse: a million stations
must not cross into Python as rows to match. The text runs on chDB and on ClickHouse 18.16:
one JOIN per SELECT (so the joins nest), ``ANY LEFT JOIN`` (a station has one row on each
side once grouped), no window functions. ``tabulation`` is a ReplacingMergeTree, so a resent
event may be there twice until a merge: every read groups (``argMax``), and two copies of
one event agree with each other, so they can never count twice.

The votes arrive as parallel arrays (``options``/``votes``, options sorted); each ballot
option becomes a figure of its own (its place on the ballot), an option a protocol does not
list counting 0 (``arr[0]`` is 0 in ClickHouse); Python receives ``official_<code>`` and
``verified_<code>`` columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from saylau.warehouse.client import Warehouse

END_OF_TIME = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
TEXT_COLUMNS = ("station_id", "region_code", "name", "publication", "photo_sha256")
# The latest row of a fact per key: by event time, then by a hash of the event id, so that
# two events of the same second always resolve the same way (and resent copies of one
# event agree). One number, not a tuple with a string: cheaper for every argMax.
LATEST = "toUInt64(occurred_at) * 4294967296 + cityHash64(event_id) % 4294967296"

# Each side keeps, per station, its latest row's figures: one argMax per option
# (/*official*/, /*verified*/: OPTION_VOTES), ``votes[indexOf(options, code)]``. Separate
# argMax of numbers by a numeric key: an argMax of one tuple of them costs 3x more at a
# million stations, an argMax of the arrays copies them.
OFFICIAL = f"""
SELECT station_id, any(region_code) AS region_code,
       argMax(publication, {LATEST}) AS publication/*official*/
FROM $db.tabulation
WHERE fact = 'official' AND occurred_at <= {{as_of:DateTime}}
GROUP BY station_id"""

AGREED = f"""
SELECT station_id, toUInt8(1) AS verified,
       argMax(photo_sha256, {LATEST}) AS agreed_photo/*verified*/
FROM $db.tabulation
WHERE fact = 'agreed' AND occurred_at <= {{as_of:DateTime}}
GROUP BY station_id"""

OPTION_VOTES = f""",
       argMax(votes[indexOf(options, {{option_N:String}})], {LATEST}) AS SIDE_N"""

# The photos whose latest release event released them (a withdrawal after a release wins).
RELEASED_PHOTOS = f"""
SELECT photo_sha256 FROM (
    SELECT photo_sha256, argMax(released, {LATEST}) AS is_released
    FROM $db.tabulation
    WHERE fact = 'release' AND occurred_at <= {{as_of:DateTime}}
    GROUP BY photo_sha256)
WHERE is_released = 1"""

# /*options*/: FIGURES per option; /*where*/: a region. A station without a verified copy
# gets the join's defaults: verified 0, "" and zeros.
STATIONS = f"""
SELECT station_id, region_code, name, publication, verified,
       if(verified = 1 AND agreed_photo IN ({RELEASED_PHOTOS}), agreed_photo, '')
           AS photo_sha256/*options*/
FROM (
    SELECT * FROM (
        SELECT * FROM ({OFFICIAL}) AS official_side
        ANY LEFT JOIN ({AGREED}) AS agreed_side USING station_id
        /*where*/) AS compared
    ANY LEFT JOIN (SELECT station_id, name FROM $db.stations) AS registry
    USING station_id)
ORDER BY station_id"""

# An option's official and verified votes in one UInt64 (official in the high 32 bits):
# a million rows cross to Python as half as many columns, the dearest part of the read.
FIGURES = """,
       bitOr(bitShiftLeft(toUInt64(official_N), 32), toUInt64(verified_N)) AS figures_N"""

IN_REGION = "WHERE region_code = {region:String}"

RELEASE_OF_PHOTO = f"""
SELECT argMax(released, {LATEST}) AS released, count() AS events
FROM $db.tabulation
WHERE fact = 'release' AND photo_sha256 = {{photo:String}}"""

STATION_PHOTO = f"""
SELECT argMax(photo_sha256, {LATEST}) AS photo_sha256
FROM $db.tabulation
WHERE fact = 'agreed' AND station_id = {{station:String}}"""

TABULATION_VERSION = "SELECT count() AS rows, max(occurred_at) AS newest FROM $db.tabulation"


def compared_stations(wh: Warehouse, options: Sequence[str],
                      as_of: dt.datetime | None = None,
                      region: str | None = None) -> pd.DataFrame:
    """One row per station with official figures (of `region`, or all), by station id:
    ``station_id, region_code, name, publication, verified`` (1 if a verified copy
    exists), ``photo_sha256`` (released photos only, else ""), then ``official_<code>``
    and ``verified_<code>`` for each option in `options` (the verified ones 0 where
    ``verified`` is 0)."""
    figures = "".join(FIGURES.replace("_N", f"_{n}") for n in range(len(options)))
    sql = (STATIONS.replace("/*official*/", _option_votes("official", len(options)))
           .replace("/*verified*/", _option_votes("verified", len(options)))
           .replace("/*options*/", figures).replace("/*where*/", IN_REGION if region else ""))
    params: dict[str, Any] = {"as_of": (as_of or END_OF_TIME).astimezone(dt.UTC),
                              **{f"option_{n}": code for n, code in enumerate(options)}}
    if region:
        params["region"] = region
    frame = wh.query_df(sql, params)
    if frame.empty:
        frame = pd.DataFrame(columns=[*TEXT_COLUMNS, "verified",
                                      *[f"figures_{n}" for n in range(len(options))]])
    table = frame[list(TEXT_COLUMNS)].copy()  # pandas' Arrow strings: compact at 1M rows
    table["verified"] = frame["verified"].to_numpy(dtype=np.int64)
    for n, code in enumerate(options):
        packed = frame[f"figures_{n}"].to_numpy(dtype=np.uint64)
        table[f"official_{code}"] = (packed >> np.uint64(32)).astype(np.int64)
        table[f"verified_{code}"] = (packed & np.uint64(0xFFFFFFFF)).astype(np.int64)
    return table.reset_index(drop=True)


def _option_votes(side: str, count: int) -> str:
    return "".join(OPTION_VOTES.replace("SIDE_N", f"{side}_{n}").replace("_N", f"_{n}")
                   for n in range(count))


def photo_released(wh: Warehouse, photo_sha256: str) -> bool:
    """Whether the photo's latest release event released it (no event: not released)."""
    frame = wh.query_df(RELEASE_OF_PHOTO, {"photo": photo_sha256})
    return bool(not frame.empty and int(frame["events"].iloc[0]) > 0
                and int(frame["released"].iloc[0]) == 1)


def station_photo(wh: Warehouse, station_id: str) -> str:
    """The photo of the station's latest verified copy ("" if none), released or not: for
    headquarters' release control only, never for a public table."""
    frame = wh.query_df(STATION_PHOTO, {"station": station_id})
    return "" if frame.empty else str(frame["photo_sha256"].iloc[0] or "")


def tabulation_version(wh: Warehouse) -> tuple[int, str]:
    """Changes whenever a tabulation row is written (or merged away): a cache key."""
    frame = wh.query_df(TABULATION_VERSION)
    return int(frame["rows"].iloc[0]), str(frame["newest"].iloc[0])
