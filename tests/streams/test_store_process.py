"""The worker's store in a child process, against the real broker and ClickHouse server:
it stores, judges and publishes as the in-thread store does, answers in order, ends with
its socket, ignores stop signals meant for the worker, and a dead child fails its replies."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from kafka import KafkaConsumer, TopicPartition

from saylau.cli.runtime import open_prepared_warehouse
from saylau.core.settings import Settings, load_settings
from saylau.geo.registry import synthetic_registry
from saylau.kafka.broker import EmbeddedBroker
from saylau.streams.app import store_mode
from saylau.streams.batch import Message
from saylau.streams.store import Stored
from saylau.streams.store_process import StoreProcess, StoreProcessError
from saylau.warehouse import queries
from tests.integration.events import at, encode, event
from tests.support.clickhouse_server import ClickHouseServer

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]


@pytest.fixture
def registry() -> pd.DataFrame:
    return synthetic_registry(n_stations=20, total_voters=20_000, seed=7)


@pytest.fixture
def settings(clickhouse_server: ClickHouseServer, topic_prefix: str, tmp_path: Path,
             registry: pd.DataFrame) -> Settings:
    chosen = load_settings(warehouse=f"clickhouse://default@127.0.0.1:{clickhouse_server.tcp_port}"
                                     f"/s_{topic_prefix}",
                           topic_prefix=topic_prefix, data_dir=tmp_path)
    open_prepared_warehouse(chosen, registry).close()
    return chosen


def messages(registry: pd.DataFrame) -> list[Message]:
    station = registry["station_id"].iloc[0]
    good = [event("turnout", station, at(9), ballots_issued=10),
            event("checkout", station, at(10), reason="removed")]
    values = [encode(m) for m in good] + [b"{not json"]
    return [Message("sim.turnout", 0, offset, value) for offset, value in enumerate(values)]


def topic_keys(bootstrap: str, topic: str) -> Counter:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=3000,
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
    kinds = Counter(json.loads(record.value).get("kind", "rejected") for record in consumer)
    consumer.close()
    return kinds


def test_the_store_process_stores_judges_and_publishes_in_order(
        settings: Settings, broker: EmbeddedBroker, registry: pd.DataFrame) -> None:
    batch = messages(registry)

    async def run() -> tuple[list[Stored], int, int | None]:
        store = StoreProcess(settings, broker.bootstrap, registry)
        resent = [message._replace(offset=message.offset + 10) for message in batch[:2]]
        first, again = store.insert(batch), store.insert(resent)  # both asked before either ends
        stored = [await first, await again]
        alerts = await store.judge(stored)
        store.close()
        return stored, alerts, store._process.poll()

    stored, alerts, exit_code = asyncio.run(run())
    assert stored[0].kinds == {"turnout": 1, "checkout": 1}
    assert stored[0].reasons == {"invalid_json": 1}
    assert stored[1].kinds == {} and stored[1].duplicates == 2  # the same events, resent
    assert alerts >= 1  # the observer removed
    assert exit_code == 0  # it left at the end of its socket
    wh = open_prepared_warehouse(settings, registry)
    try:
        assert queries.event_counts(wh) == {"turnout": 1, "checkout": 1}
        assert queries.rejected_counts(wh) == {"invalid_json": 1}
        assert "observer_removed" in set(queries.alerts(wh)["kind"])
    finally:
        wh.close()
    assert topic_keys(broker.bootstrap, f"{settings.topic_prefix}.rejected") == \
        {"rejected": 1}
    assert topic_keys(broker.bootstrap, f"{settings.topic_prefix}.alerts")["observer_removed"] \
        == 1


def test_the_child_ignores_stop_signals_and_a_dead_child_fails_what_is_due(
        settings: Settings, broker: EmbeddedBroker, registry: pd.DataFrame) -> None:
    async def run() -> None:
        store = StoreProcess(settings, broker.bootstrap, registry)
        await store.insert([])  # started
        child = store._process
        for stop in (signal.SIGTERM, signal.SIGINT):  # the worker's to handle, not the child's
            child.send_signal(stop)
        await asyncio.sleep(0.5)
        assert child.poll() is None
        child.kill()
        child.wait(10)
        await asyncio.sleep(0.5)  # the reader has seen the end of the socket
        with pytest.raises(StoreProcessError, match="gone"):
            await store.insert(messages(registry))
        store.close()

    asyncio.run(run())


def test_the_store_runs_in_a_process_for_a_server_and_in_the_worker_for_chdb(
        tmp_path: Path) -> None:
    server = "clickhouse://default@127.0.0.1:9000/saylau"
    assert store_mode(load_settings(warehouse=server)) == "process"
    assert store_mode(load_settings(warehouse=f"chdb://{tmp_path}/wh")) == "thread"
    assert store_mode(load_settings(warehouse=server, worker_store="thread")) == "thread"
    with pytest.raises(ValueError, match="worker_store"):
        load_settings(warehouse=server, worker_store="elsewhere")


def test_a_store_process_whose_parent_is_gone_leaves() -> None:
    """Started for a parent other than its own (as if that one had died), it leaves."""
    child = subprocess.Popen([sys.executable, "-m", "saylau.streams.store_process", "0", "1"],
                             stdin=subprocess.DEVNULL)
    assert child.wait(30) == 1
