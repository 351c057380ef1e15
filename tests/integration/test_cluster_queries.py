"""Every page's queries on a 2 × 2 ClickHouse cluster give the single server's answers.

The same known day is stored through the worker's real steps into a database on one server
and into one on the cluster (replicated tables under Distributed ones, schema made by
``create_schema`` from a ``?cluster=`` URL); then the wall's snapshot and each query the
pages run are taken on both and compared value for value.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from saylau.dashboard.snapshot import take_snapshot
from saylau.warehouse import queries
from saylau.warehouse.client import Warehouse, open_warehouse
from saylau.warehouse.state import station_state
from tests.dashboard.wall_day import HOT_REGION, KnownDay, build_day, load_day, local
from tests.integration.compare import assert_same_snapshot, assert_same_value, direct
from tests.integration.snapshot import assert_same_tables, snapshot
from tests.support.clickhouse_cluster import ClickHouseCluster
from tests.support.clickhouse_server import ClickHouseServer

pytestmark = pytest.mark.timeout(600)
REPORTING = [local(h) for h in (10, 12, 14, 16, 18, 20)]


@pytest.fixture(scope="module")
def both(clickhouse_server: ClickHouseServer, clickhouse_cluster: ClickHouseCluster
         ) -> Iterator[tuple[KnownDay, Warehouse, Warehouse]]:
    database = f"t_{uuid.uuid4().hex[:10]}"
    day = build_day()
    single = open_warehouse(clickhouse_server.url.replace("/saylau", f"/{database}"))
    cluster = open_warehouse(clickhouse_cluster.url(database))
    load_day(single, day)
    load_day(cluster, day)
    yield day, single, cluster
    single.close()
    cluster.close()


def test_the_cluster_holds_replicated_tables_under_distributed_ones(both) -> None:
    _day, _single, cluster = both
    engines = dict(cluster.query_df("SELECT name, engine FROM system.tables "
                                    "WHERE database = {db:String}", {"db": cluster.database})
                   .itertuples(index=False, name=None))
    assert engines["events"] == "Distributed"
    assert engines["events_local"] == "ReplicatedReplacingMergeTree"
    assert engines["turnout_latest_local"] == "ReplicatedAggregatingMergeTree"
    assert engines["turnout_latest_mv"] == "MaterializedView"


def test_every_table_equals_the_single_server(both) -> None:
    _day, single, cluster = both
    assert_same_tables(snapshot(single), snapshot(cluster))
    assert len(snapshot(cluster)["events"]) > 0


def test_a_station_lives_on_one_shard(both, clickhouse_cluster: ClickHouseCluster) -> None:
    _day, _single, cluster = both
    per_shard = []
    for shard in clickhouse_cluster.servers:
        with direct(shard[0], cluster.database) as wh:
            per_shard.append(set(wh.query_df(
                "SELECT DISTINCT station_id FROM $db.events_local")["station_id"]))
    assert all(per_shard) and not per_shard[0] & per_shard[1]


@pytest.mark.parametrize("as_of", [None, local(12, 30)], ids=["now", "as-of-12:30"])
def test_the_wall_snapshot_equals_the_single_server(both, as_of: dt.datetime | None) -> None:
    _day, single, cluster = both
    assert_same_snapshot(take_snapshot(single, as_of, {}, REPORTING),
                         take_snapshot(cluster, as_of, {}, REPORTING))


def page_queries(day: KnownDay) -> dict[str, Callable[[Warehouse], Any]]:
    """The queries the pages and exports run (saylau/dashboard/pages, saylau/exports)."""
    station = day.stations(HOT_REGION)[0]
    moment = local(14)
    return {
        "stations": queries.stations,
        "station_state": lambda wh: station_state(wh, None),
        "station_state_as_of": lambda wh: station_state(wh, moment),
        "station_turnout": queries.station_turnout,
        "station_presence": queries.station_presence,
        "station_assignments": queries.station_assignments,
        "incidents": queries.incidents,
        "exitpoll_tallies": queries.exitpoll_tallies,
        "latest_protocols": queries.latest_protocols,
        "turnout_history": lambda wh: queries.turnout_history(wh, [station]),
        "alerts": queries.alerts,
        "rejected_counts": queries.rejected_counts,
        "event_counts": queries.event_counts,
        "latest_event_time": queries.latest_event_time,
        "station_record": lambda wh: queries.station_record(wh, station),
        "station_events": lambda wh: queries.station_events(wh, station),
        "station_incidents": lambda wh: queries.station_incidents(wh, station),
        "station_exitpoll": lambda wh: queries.station_exitpoll(wh, station),
        "region_observers": lambda wh: queries.region_observers(wh, HOT_REGION),
        "turnout_at_moments": lambda wh: queries.turnout_at_moments(wh, REPORTING, None),
    }


def test_each_page_query_gives_the_single_servers_answer(both) -> None:
    day, single, cluster = both
    for name, run in page_queries(day).items():
        # In the same order too: every page query says ORDER BY, which the cluster keeps.
        assert_same_value(run(single), run(cluster), name, ordered=True)
