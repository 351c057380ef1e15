"""Rows go into the warehouse and come back the same on both engines: arrays (empty ones
too) and times in UTC to the second."""

from __future__ import annotations

import datetime as dt

import pytest

from saylau.warehouse.client import open_warehouse

pytestmark = pytest.mark.timeout(120)

COLUMNS = ("name", "count", "share", "options", "votes", "at")
AT = dt.datetime(2026, 3, 15, 12, 30, 5, 700_000, tzinfo=dt.timezone(dt.timedelta(hours=5)))


def test_rows_come_back_as_inserted_even_a_batch_of_empty_arrays(warehouse_url):
    wh = open_warehouse(warehouse_url)
    try:
        wh.command("CREATE DATABASE IF NOT EXISTS $db")
        wh.command("CREATE TABLE $db.t (name String, count UInt32, share Float64, "
                   "options Array(String), votes Array(UInt32), at DateTime('UTC')) "
                   "ENGINE = MergeTree() ORDER BY name")
        # A batch whose arrays are all empty has no element type to go by.
        wh.insert_rows("t", COLUMNS, [{"name": "a", "count": 1, "share": 0.5, "options": [],
                                       "votes": [], "at": AT}])
        wh.insert_rows("t", COLUMNS, [
            {"name": "b", "count": 7, "share": 1.25, "options": ["x", "y"], "votes": [3, 4],
             "at": AT},
            {"name": "c", "count": 0, "share": 2.0, "options": [], "votes": [], "at": AT},
            # The same moment in UTC, and without a zone (taken as UTC).
            {"name": "d", "count": 2, "share": 0.0, "options": [], "votes": [],
             "at": AT.astimezone(dt.UTC)},
            {"name": "e", "count": 3, "share": 0.0, "options": [], "votes": [],
             "at": AT.astimezone(dt.UTC).replace(tzinfo=None)},
        ])
        frame = wh.query_df("SELECT name, count, share, options, votes, "
                            "toString(at) AS at FROM $db.t ORDER BY name")
    finally:
        wh.close()
    assert frame["name"].tolist() == ["a", "b", "c", "d", "e"]
    assert frame["count"].tolist() == [1, 7, 0, 2, 3]
    assert frame["share"].tolist() == [0.5, 1.25, 2.0, 0.0, 0.0]
    assert [list(o) for o in frame["options"]] == [[], ["x", "y"], [], [], []]
    assert [[int(v) for v in votes] for votes in frame["votes"]] == [[], [3, 4], [], [], []]
    assert frame["at"].tolist() == ["2026-03-15 07:30:05"] * 5


def test_a_query_may_name_more_stations_than_the_default_query_size_allows(warehouse_url):
    """Judging many batches together names thousands of stations, twice in one query: the
    server engine's text is longer than ClickHouse's default 256 KiB max_query_size."""
    wh = open_warehouse(warehouse_url)
    stations = [f"KAZ{n // 1000:03d}-{n % 1000:04d}" for n in range(40_000)]  # ~640 KiB
    try:
        wh.command("CREATE DATABASE IF NOT EXISTS $db")
        wh.command("CREATE TABLE $db.s (station_id String) ENGINE = MergeTree() "
                   "ORDER BY station_id")
        wh.insert_rows("s", ("station_id",), [{"station_id": s} for s in stations[::7]])
        frame = wh.query_df(
            "SELECT count() AS n FROM $db.s WHERE station_id IN "
            "(SELECT arrayJoin({stations:Array(String)})) OR station_id IN "
            "(SELECT arrayJoin({again:Array(String)}))",
            {"stations": stations, "again": stations[:20_000]})
    finally:
        wh.close()
    assert int(frame["n"][0]) == len(stations[::7])
