"""A simulated day streamed by two workers into a 2 × 2 ClickHouse cluster while one replica
of each shard is SIGKILLed and later restarted: every table equals a single-server run of
the same day, row for row, and the dashboard answers all through the failure: its snapshot
on a connection of its own, and the dashboard itself served over HTTP to a logged-in
headquarters screen.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from pydantic import SecretStr

from saylau.core.contract import EVENT_TOPICS
from saylau.core.election import Election
from saylau.core.settings import Settings
from saylau.dashboard.snapshot import take_snapshot
from saylau.dashboard.users import add_user
from saylau.ingest.simulator import simulate_day
from saylau.kafka.broker import EmbeddedBroker
from saylau.kafka.lag import consumer_lag
from saylau.kafka.producer import EventProducer
from saylau.warehouse.client import Warehouse, WarehouseError, create_schema, open_warehouse
from saylau.warehouse.queries import STATION_COLUMNS
from tests.dashboard.served import serve
from tests.integration.compare import assert_same_snapshot, direct
from tests.integration.snapshot import assert_same_tables, snapshot
from tests.integration.test_pipeline import worker_env
from tests.integration.worker import WorkerProcess
from tests.support.clickhouse_cluster import ClickHouseCluster
from tests.support.clickhouse_server import ClickHouseServer

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]
REPORTING: list = []


class DashboardReader(threading.Thread):
    """Takes the wall's snapshot again and again on its own connection, as the dashboard
    does, and keeps every failure."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.taken: list[float] = []
        self.failures: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        wh = open_warehouse(self.url)
        try:
            while not self.halt.is_set():
                try:
                    take_snapshot(wh, None, {}, REPORTING)
                    self.taken.append(time.monotonic())
                except Exception as error:  # noqa: BLE001 - every failure is the finding
                    self.failures.append(f"{type(error).__name__}: {error}")
                self.halt.wait(0.3)
        finally:
            wh.close()

    def snapshots_between(self, start: float, end: float) -> int:
        return sum(start <= moment <= end for moment in self.taken)


class ScreenReader(threading.Thread):
    """A headquarters screen on the dashboard served over HTTP: logs in, then asks for a
    station page's refresh (every figure it shows comes from the warehouse) again and
    again, and keeps every answer that is not a 200 with the page's figures."""

    def __init__(self, url: str, password: str, station: str) -> None:
        super().__init__(daemon=True)
        self.client = httpx.Client(base_url=url, timeout=60)
        self.password, self.station = password, station
        self.answered: list[float] = []
        self.failures: list[str] = []
        self.halt = threading.Event()

    def refresh(self) -> dict:
        return {"output": STATION_REFRESH,
                "outputs": [{"id": f"station-{name}", "property": prop} for name, prop in (
                    ("turnout", "figure"), ("incidents", "children"),
                    ("exitpoll", "children"), ("protocols", "children"),
                    ("timeline", "children"))],
                "inputs": [{"id": "station-tick", "property": "n_intervals", "value": 1},
                           {"id": "station-tt-as-of", "property": "data", "value": None}],
                "state": [{"id": "station-id", "property": "data", "value": self.station}],
                "changedPropIds": ["station-tick.n_intervals"]}

    def run(self) -> None:
        login = self.client.post("/auth/login", data={"username": "hq",
                                                      "password": self.password})
        if login.status_code != 302:
            self.failures.append(f"login: {login.status_code}")
            return
        while not self.halt.is_set():
            try:
                answer = self.client.post("/_dash-update-component", json=self.refresh())
                if answer.status_code == 200 and "station-turnout" in answer.json()["response"]:
                    self.answered.append(time.monotonic())
                else:
                    self.failures.append(f"{answer.status_code}: {answer.text[:200]}")
            except httpx.HTTPError as error:
                self.failures.append(f"{type(error).__name__}: {error}")
            self.halt.wait(0.3)

    def answers_between(self, start: float, end: float) -> int:
        return sum(start <= moment <= end for moment in self.answered)


STATION_REFRESH = ("..station-turnout.figure...station-incidents.children...station-exitpoll"
                   ".children...station-protocols.children...station-timeline.children..")


@contextlib.contextmanager
def served_dashboard(url: str, tmp_path: Path, registry: pd.DataFrame
                     ) -> Iterator[ScreenReader]:
    """The dashboard on the cluster, served over HTTP, and a screen reading it."""
    password = secrets.token_urlsafe(16)
    users = tmp_path / "dashboard-users.json"
    add_user(users, "hq", "headquarters", None, password, set(registry["region_code"]))
    settings = Settings(warehouse=url, data_dir=tmp_path / "dashboard",
                        registry=tmp_path / "stations.csv", dashboard_users=users,
                        dashboard_secret=SecretStr(secrets.token_urlsafe(32)))
    warehouse = open_warehouse(url)
    try:
        with serve(settings, warehouse) as address:
            screen = ScreenReader(address, password, str(registry["station_id"].iloc[0]))
            yield screen
            screen.halt.set()
            screen.join(60)
    finally:
        warehouse.close()


def send(producer: EventProducer, prefix: str, messages: list) -> None:
    for message in messages:
        producer.send_raw(f"{prefix}.{message.topic_suffix}", message.key, message.value)
    producer.flush()


def run_single_server(env: dict[str, str], log: Path) -> None:
    with WorkerProcess(env, log) as worker:
        worker.wait_caught_up(timeout=240)
        assert worker.stop() == 0


def wait_for_lag(env: dict[str, str], at_most: int, timeout: float = 120) -> None:
    topics = [f"{env['SAYLAU_TOPIC_PREFIX']}.{name}" for name in EVENT_TOPICS]
    deadline = time.monotonic() + timeout
    while consumer_lag(env["SAYLAU_KAFKA_BOOTSTRAP"], env["SAYLAU_WORKER_GROUP"],
                       topics) > at_most:
        assert time.monotonic() < deadline, "the workers made no progress"
        time.sleep(0.2)


def local_counts(server: ClickHouseServer, database: str) -> dict[str, int]:
    with direct(server, database) as wh:
        frame = wh.query_df("SELECT table, sum(rows) AS n FROM system.parts WHERE active "
                            "AND database = {db:String} GROUP BY table", {"db": database})
    return {str(t): int(n) for t, n in zip(frame["table"], frame["n"], strict=True)}


def test_a_day_through_a_replica_of_each_shard_killed_equals_one_server(
        broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path, registry: pd.DataFrame,
        clickhouse_server: ClickHouseServer, clickhouse_cluster: ClickHouseCluster) -> None:
    messages = list(simulate_day(registry, Election()).messages())
    thirds = [messages[i * len(messages) // 3:(i + 1) * len(messages) // 3] for i in range(3)]
    database = f"t_{uuid.uuid4().hex[:10]}"
    single_url = clickhouse_server.url.replace("/saylau", f"/{database}")
    primaries = [shard[0] for shard in clickhouse_cluster.servers]  # s1r1, s2r1: killed
    env = {**worker_env(broker, topic_prefix, "", tmp_path),
           "SAYLAU_WORKER_GROUP": f"{topic_prefix}-cluster", "SAYLAU_WORKER_BATCH_SIZE": "100"}
    # Each worker starts on the replica that is killed, so both must move.
    envs = [{**env, "SAYLAU_WAREHOUSE": clickhouse_cluster.url(database, first=primary),
             "SAYLAU_DATA_DIR": str(tmp_path / f"data-{n}")}
            for n, primary in enumerate(primaries)]
    dashboard = DashboardReader(clickhouse_cluster.url(database))

    with served_dashboard(clickhouse_cluster.url(database), tmp_path, registry) as screen, \
            EventProducer(broker.bootstrap, topic_prefix) as producer:
        send(producer, topic_prefix, thirds[0])
        with WorkerProcess(envs[0], tmp_path / "w0.log") as first, \
                WorkerProcess(envs[1], tmp_path / "w1.log") as second:
            first.wait_caught_up(timeout=240)
            dashboard.start()
            screen.start()
            send(producer, topic_prefix, thirds[1])
            # Killed at once, while the workers are storing the second third (the group
            # commits in a few large steps: waiting for a given lag could miss the work).
            lag_at_kill = consumer_lag(broker.bootstrap, env["SAYLAU_WORKER_GROUP"],
                                       [f"{topic_prefix}.{name}" for name in EVENT_TOPICS])
            killed_at = time.monotonic()
            for server in primaries:
                server.kill()
            wait_for_lag(env, at_most=0)  # the second third stored with one replica per shard
            send(producer, topic_prefix, thirds[2][: len(thirds[2]) // 2])
            first.wait_caught_up(timeout=240)
            restarted_at = time.monotonic()
            for server in primaries:
                server.start(timeout=60)
            send(producer, topic_prefix, thirds[2][len(thirds[2]) // 2:])
            first.wait_caught_up(timeout=240)
            assert first.stop() == 0
            assert second.stop() == 0
    dashboard.halt.set()
    dashboard.join(30)

    single_env = {**env, "SAYLAU_WAREHOUSE": single_url,
                  "SAYLAU_WORKER_GROUP": f"{topic_prefix}-single",
                  "SAYLAU_DATA_DIR": str(tmp_path / "data-single")}
    run_single_server(single_env, tmp_path / "single.log")

    clickhouse_cluster.sync(database)
    single, cluster = open_warehouse(single_url), open_warehouse(
        clickhouse_cluster.url(database))
    try:
        left, right = snapshot(single), snapshot(cluster)
        assert len(right["events"]) > 1000
        assert_same_tables(left, right)
        assert_same_snapshot(take_snapshot(single, None, {}, REPORTING),
                             take_snapshot(cluster, None, {}, REPORTING))
    finally:
        single.close()
        cluster.close()
    assert lag_at_kill > 0, "the replicas must be killed with work still to do"
    for shard in clickhouse_cluster.servers:  # the restarted replica caught up
        assert local_counts(shard[0], database) == local_counts(shard[1], database)
    assert dashboard.failures == []
    assert dashboard.snapshots_between(killed_at, restarted_at) >= 2
    assert screen.failures == []
    assert screen.answers_between(killed_at, restarted_at) >= 2


def test_a_batch_retried_on_another_replica_is_stored_once(
        clickhouse_cluster: ClickHouseCluster, registry: pd.DataFrame) -> None:
    """What the worker relies on when it retries a batch after a replica failed: the same
    rows make the same blocks on each shard, which the replicated tables recognise by
    checksum (of the part as written, sorted by the table's key: so the rows' order does not
    matter) and drop, whichever server the retry goes through. A shard whose rows differ
    stores its block again; the other shard's block is still the same and is dropped."""
    database = f"t_{uuid.uuid4().hex[:10]}"
    servers = clickhouse_cluster.all_servers
    first = open_warehouse(clickhouse_cluster.url(database, first=servers[0]))
    retry = open_warehouse(clickhouse_cluster.url(database, first=servers[3]))
    try:
        create_schema(first)
        rows = registry_rows(registry)
        first.insert_rows("stations", STATION_COLUMNS, rows)
        retry.insert_rows("stations", STATION_COLUMNS, rows)  # the same batch, elsewhere
        assert raw_rows(first, "stations") == len(rows)
        retry.insert_rows("stations", STATION_COLUMNS, rows[::-1])  # same rows, other order
        assert raw_rows(first, "stations") == len(rows)
        retry.insert_rows("stations", STATION_COLUMNS, rows[1:])  # another batch
        changed_shard = shard_rows(clickhouse_cluster, database, rows[0]["station_id"])
        assert 0 < changed_shard < len(rows)
        assert raw_rows(first, "stations") == len(rows) + changed_shard - 1
    finally:
        first.close()
        retry.close()


def registry_rows(registry: pd.DataFrame) -> list[dict]:
    return registry[list(STATION_COLUMNS)].to_dict("records")


def shard_rows(cluster: ClickHouseCluster, database: str, station: str) -> int:
    """How many stations the shard holding ``station`` had after the first batch."""
    for shard in cluster.servers:
        with direct(shard[0], database) as wh:
            held = wh.query_df("SELECT station_id, count() AS n FROM $db.stations_local "
                               "GROUP BY station_id")
        if station in set(held["station_id"]):
            return int((held["station_id"] != station).sum()) + 1
    raise AssertionError(f"{station} is on no shard")


def raw_rows(wh: Warehouse, table: str) -> int:
    """Rows stored, duplicates included (no FINAL)."""
    return int(wh.query_df(f"SELECT count() AS n FROM $db.{table}")["n"].iloc[0])


def test_a_client_starts_with_a_replica_down_once_the_schema_exists(
        clickhouse_cluster: ClickHouseCluster) -> None:
    """The schema step of a worker or dashboard restarted while one replica is down passes
    that server over; a new schema, which that server would lack, is refused clearly."""
    existing, new = (f"t_{uuid.uuid4().hex[:10]}" for _ in range(2))
    down = clickhouse_cluster.servers[1][1]
    wh = open_warehouse(clickhouse_cluster.url(existing))
    fresh = open_warehouse(clickhouse_cluster.url(new))
    try:
        create_schema(wh)
        down.kill()
        create_schema(wh)  # passes the dead server over
        with pytest.raises(WarehouseError, match="the cluster schema needs every server"):
            create_schema(fresh)
    finally:
        wh.close()
        fresh.close()
        if not down.running:
            down.start(timeout=60)
