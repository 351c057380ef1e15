"""Turnout at the passed reporting times, remembered between snapshots, always equals the
query asked afresh: after late reports, reports after every time, resent reports, merges
and a truncated table, on both engines (chDB remembers; it asks again only when needed)."""

from __future__ import annotations

import datetime as dt

import pytest

from saylau.dashboard.moments import ReportingTurnout
from saylau.geo.registry import synthetic_registry
from saylau.warehouse import queries
from saylau.warehouse.client import create_schema, open_warehouse
from tests.dashboard.test_snapshot import CountingWarehouse
from tests.integration.events import at, event
from tests.warehouse.test_state import store

pytestmark = pytest.mark.timeout(240)


def moment(hour: int) -> dt.datetime:
    return dt.datetime.fromisoformat(at(hour)).astimezone(dt.UTC)


MOMENTS = [moment(hour) for hour in (10, 12, 14)]


@pytest.fixture
def day(warehouse_url: str):
    registry = synthetic_registry(n_stations=30, total_voters=30_000, seed=4)
    wh = open_warehouse(warehouse_url)
    create_schema(wh)
    queries.load_stations(wh, registry)
    a, b = registry["station_id"].iloc[:2]
    store(wh, registry, [
        event("turnout", a, at(9), "obs-1", ballots_issued=100, source="observer_count"),
        event("turnout", a, at(11), "obs-1", ballots_issued=200, source="observer_count"),
        event("turnout", b, at(13), "hq", ballots_issued=300, source="official")])
    yield CountingWarehouse(wh), registry, (a, b)
    wh.close()


def asked_afresh(wh: CountingWarehouse) -> int:
    return sum(n for sql, n in wh.queries.items() if "maxIf(newest" in sql)


def test_remembered_turnout_equals_the_query_whatever_is_stored(day, warehouse_url) -> None:
    wh, registry, (a, b) = day
    cache, chdb = ReportingTurnout(), warehouse_url.startswith("chdb://")

    def same(as_of: dt.datetime | None = None) -> None:
        assert cache.at_moments(wh, MOMENTS, as_of).equals(
            queries.turnout_at_moments(wh.inner, MOMENTS, as_of))

    same()
    first = asked_afresh(wh)
    same()  # nothing stored meanwhile: remembered
    assert asked_afresh(wh) == first if chdb else asked_afresh(wh) > first
    # A report after every reporting time changes none of them: still remembered.
    store(wh.inner, registry, [event("turnout", b, at(15), "obs-2", ballots_issued=50,
                                     source="observer_count")])
    before = asked_afresh(wh)
    same()
    assert asked_afresh(wh) == before if chdb else True
    # A late report from 09:30 changes every time: asked again.
    late = event("turnout", b, at(9, 30), "obs-2", ballots_issued=40, source="observer_count")
    store(wh.inner, registry, [late])
    before = asked_afresh(wh)
    same()
    assert asked_afresh(wh) > before
    store(wh.inner, registry, [late])  # resent: stored twice until a merge, counted once
    same()
    wh.inner.command("OPTIMIZE TABLE $db.turnout_reports FINAL")  # merged: known data
    before = asked_afresh(wh)
    same()
    assert asked_afresh(wh) == before if chdb else True
    same(moment(12))  # as of a passed time: the times up to it are the same as now
    same(moment(11))
    wh.inner.command("TRUNCATE TABLE $db.turnout_reports")  # gone: forgotten
    same()
    assert cache.at_moments(wh, MOMENTS).empty
    store(wh.inner, registry, [event("turnout", a, at(9), "obs-1", ballots_issued=7,
                                     source="observer_count")])
    same()
    assert cache.at_moments(wh, MOMENTS)["ballots"].tolist() == [7, 7, 7]
