"""Rows go into the warehouse and come back the same on both engines: arrays (empty ones
too) and times in UTC to the second."""

from __future__ import annotations

import datetime as dt

import pytest

from warehouse.client import open_warehouse

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
