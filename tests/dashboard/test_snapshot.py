"""The snapshot: its arithmetic in memory, its figures against a real warehouse, and its
cache (one set of queries per refresh interval, however many callbacks ask)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pytest

from saylau.dashboard.snapshot import (
    Snapshot,
    SnapshotCache,
    content_version,
    incident_matrix,
    incidents_at_stations,
    reporting_turnout,
    stations_fingerprint,
    take_snapshot,
)
from saylau.warehouse import queries
from saylau.warehouse.client import Warehouse, open_warehouse
from tests.dashboard.wall_day import HOT_REGION, build_day, load_day, local

REPORTING = [local(h) for h in (10, 12, 14, 16, 18, 20)]


class CountingWarehouse:
    """The real warehouse, counting the queries it is asked (not a mock: it answers them)."""

    def __init__(self, inner: Warehouse, queries: Counter[str] | None = None,
                 lock: threading.Lock | None = None) -> None:
        self.inner, self.database, self.url = inner, inner.database, inner.url
        self.queries: Counter[str] = Counter() if queries is None else queries
        self._lock = threading.Lock() if lock is None else lock

    def query_df(self, sql: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
        with self._lock:
            self.queries[sql] += 1
        return self.inner.query_df(sql, params)

    def reader(self) -> CountingWarehouse:
        """Another connection, counted with this one."""
        return CountingWarehouse(self.inner.reader(), self.queries, self._lock)

    def close(self) -> None:
        self.inner.close()

    @property
    def total(self) -> int:
        return sum(self.queries.values())


@pytest.fixture
def day_warehouse(warehouse_url: str):
    day = build_day()
    warehouse = open_warehouse(warehouse_url)
    load_day(warehouse, day)
    yield day, warehouse
    warehouse.close()


# --- pure arithmetic ------------------------------------------------------------------------


def test_incident_matrix_counts_verified_and_unverified_but_not_rejected():
    incidents = pd.DataFrame({
        "category": ["a", "a", "a", "b", "b"],
        "status": ["verified", "unverified", "rejected", "duplicate", "unverified"]})
    table = incident_matrix(incidents)
    assert table.loc["a"].to_dict() == {"verified": 1, "unverified": 1, "rejected": 1,
                                        "duplicate": 0, "counted": 2}
    assert table.loc["b", "counted"] == 1
    assert table.index.tolist() == ["a", "b"]  # most counted first


def test_incident_stations_are_the_stations_with_counted_incidents_in_state_order():
    state = pd.DataFrame({"station_id": ["s3", "s1", "s2"], "region_code": ["r", "r", "q"],
                          "lat": [1.0, 2.0, 3.0], "lon": [4.0, 5.0, 6.0],
                          "registered_voters": [10, 20, 30]})
    incidents = pd.DataFrame({"station_id": ["s2", "s1", "s2", "s3"],
                              "status": ["verified", "unverified", "unverified", "rejected"]})
    table = incidents_at_stations(incidents, state)
    assert table["station_id"].tolist() == ["s1", "s2"]
    assert table[["verified", "unverified"]].to_numpy().tolist() == [[0, 1], [1, 1]]
    assert incidents_at_stations(incidents[incidents["status"] == "rejected"], state).empty
    assert incidents_at_stations(incidents.head(0), state).empty


def test_reporting_turnout_marks_times_not_yet_reached():
    at_moments = pd.DataFrame({"source": ["observer_count", "official"],
                               "moment": [pd.Timestamp(REPORTING[0]).tz_convert("UTC")] * 2,
                               "ballots": [250, 300]})
    table = reporting_turnout(at_moments, REPORTING[:2], 1000, REPORTING[0])
    assert table["reached"].tolist() == [True, False]
    assert table["observer_pct"].tolist() == [25.0, 0.0]
    assert table["official_pct"].tolist() == [30.0, 0.0]


# --- against the warehouse ------------------------------------------------------------------


def test_snapshot_figures_equal_the_events_sent(day_warehouse):
    day, warehouse = day_warehouse
    snap = take_snapshot(warehouse, None, {}, REPORTING)
    end = local(23)
    assert snap.headline.ballots == day.ballots(end)
    assert snap.headline.covered == len(day.covered(end))
    assert snap.headline.stations == len(day.registry)
    registered = int(day.registry["registered_voters"].sum())
    for row in snap.reporting.itertuples():
        assert row.observer_ballots == day.ballots(row.moment)
        assert row.official_ballots == day.ballots(row.moment, "official")
        assert row.observer_pct == round(day.ballots(row.moment) * 100 / registered, 1)
    # 6 burst incidents (1 rejected) + 3 later ones: 8 count.
    assert snap.counted_incidents == 8
    assert snap.incidents_by_category.loc["carousel_voting"].to_dict() == {
        "verified": 2, "unverified": 1, "rejected": 0, "duplicate": 0, "counted": 3}
    assert "incident_burst" in set(snap.alerts["kind"])
    density = snap.density.set_index("region_code")
    assert density.loc[HOT_REGION, "verified"] == 3
    assert density.loc[HOT_REGION, "unverified"] == 2


def test_snapshot_as_of_an_earlier_time_shows_the_earlier_state(day_warehouse):
    day, warehouse = day_warehouse
    moment = local(10, 30)
    earlier = take_snapshot(warehouse, moment, {}, REPORTING)
    later = take_snapshot(warehouse, None, {}, REPORTING)
    assert earlier.headline.ballots == day.ballots(moment) < later.headline.ballots
    assert earlier.headline.ballots == int(queries.station_turnout(warehouse, moment)
                                           .query("source == 'observer_count'")["ballots"].sum())
    assert earlier.counted_incidents == 6  # reviews come at 11:00: none rejected yet
    assert earlier.reporting["reached"].tolist() == [True, False, False, False, False, False]


# --- the cache ------------------------------------------------------------------------------


def test_two_callbacks_in_one_interval_share_one_snapshot(day_warehouse):
    _day, warehouse = day_warehouse
    counting = CountingWarehouse(warehouse)
    cache = SnapshotCache(lambda as_of: take_snapshot(counting, as_of, {}, REPORTING), 60.0)
    first = cache.get(None)
    one_set = counting.total
    assert one_set > 0
    assert cache.get(None) is first
    assert counting.total == one_set


def test_ten_screens_at_once_cost_one_set_of_queries(day_warehouse):
    _day, warehouse = day_warehouse
    counting = CountingWarehouse(warehouse)
    take_snapshot(counting, None, {}, REPORTING)  # from here on the registry and the
    before = counting.total                       # passed reporting times are kept
    cache = SnapshotCache(lambda as_of: take_snapshot(counting, as_of, {}, REPORTING), 60.0)
    cache.get(None)
    one_set = counting.total - before
    cache = SnapshotCache(lambda as_of: take_snapshot(counting, as_of, {}, REPORTING), 60.0)
    got: list[Snapshot] = []
    screens = [threading.Thread(target=lambda: got.append(cache.get(None))) for _ in range(10)]
    for screen in screens:
        screen.start()
    for screen in screens:
        screen.join(60)
    assert len(got) == 10 and all(s is got[0] for s in got)
    assert counting.total - before == 2 * one_set


def test_a_new_interval_or_another_as_of_takes_a_new_snapshot():
    now = [0.0]
    taken: list[dt.datetime | None] = []

    def take(as_of: dt.datetime | None) -> Any:
        taken.append(as_of)
        return _Stamp(now[0])

    cache = SnapshotCache(take, 3.0, clock=lambda: now[0])
    cache.get(None)
    now[0] = 2.9
    cache.get(None)
    cache.get(REPORTING[0])
    now[0] = 3.5
    cache.get(None)
    assert taken == [None, REPORTING[0].astimezone(dt.UTC), None]


class _Stamp:
    def __init__(self, taken_at: float) -> None:
        self.taken_at = taken_at


def test_snapshot_version_changes_only_with_the_content(day_warehouse):
    _day, warehouse = day_warehouse
    live = take_snapshot(warehouse, None, {}, REPORTING)
    assert take_snapshot(warehouse, None, {}, REPORTING).version == live.version
    assert take_snapshot(warehouse, local(10, 30), {}, REPORTING).version != live.version


def test_panels_built_from_a_snapshot_are_built_once(day_warehouse):
    _day, warehouse = day_warehouse
    snap = take_snapshot(warehouse, None, {}, REPORTING)
    builds: list[int] = []
    first = snap.built("wall", lambda: builds.append(1) or object())
    assert snap.built("wall", lambda: builds.append(1) or object()) is first
    assert builds == [1]


def test_the_stations_fingerprint_ignores_the_order_and_sees_any_change():
    hashes = pd.Series([2**64 - 1, 12345, 2**63 + 7], dtype="uint64")
    one = stations_fingerprint(hashes)
    assert one.equals(stations_fingerprint(hashes.iloc[::-1].reset_index(drop=True)))
    assert not one.equals(stations_fingerprint(pd.Series([2**64 - 1, 12346, 2**63 + 7],
                                                         dtype="uint64")))
    assert not one.equals(stations_fingerprint(hashes.iloc[:2]))
    assert int(one["sum"][0]) == (2**64 - 1 + 12345 + 2**63 + 7) % 2**64


@pytest.mark.parametrize("first, second", [
    (["ab", "c"], ["a", "bc"]),  # the same characters, split otherwise
    (["a", None], ["a", ""]),  # none is not empty
    (["a", "b"], ["a", "é"]),
    (["x", "y"], ["x", "y", ""]),
])
def test_text_columns_with_other_values_give_other_versions(first, second):
    def version(values):
        return content_version(None, [pd.DataFrame({"text": pd.Series(values, dtype="str")})], 0)

    assert version(first) != version(second)
    assert version(first) == version(list(first))


def test_a_frame_cut_from_a_longer_one_has_the_version_of_the_same_values_alone():
    longer = pd.DataFrame({"text": pd.Series(["zz", "a", "bc", "d"], dtype="str"),
                           "moment": pd.to_datetime([0, 1, 2, 3], unit="s", utc=True)})
    alone = pd.DataFrame({"text": pd.Series(["a", "bc"], dtype="str"),
                          "moment": pd.to_datetime([1, 2], unit="s", utc=True)})
    cut = longer.iloc[1:3].reset_index(drop=True)
    assert content_version(None, [cut], 0) == content_version(None, [alone], 0)
    joined = pd.concat([alone.iloc[:1], alone.iloc[1:]], ignore_index=True)  # two pieces
    assert content_version(None, [joined], 0) == content_version(None, [alone], 0)
    assert content_version(None, [longer.iloc[0:2]], 0) != content_version(None, [alone], 0)
