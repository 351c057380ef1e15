"""Every acknowledged report reaches the warehouse exactly once, though broker or gateway die.

The broker here is the embedded one (memory storage): a restarted broker is empty, so
it has also lost what it acknowledged before dying. The gateway notices offsets going
backwards and sends again what its journal keeps (docs/gateway.md explains why);
that is part of what these tests check.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from saylau.ingest.gateway.tokens import TokenStore, tokens_path
from saylau.kafka.broker import EmbeddedBroker, free_port
from saylau.kafka.topics import ensure_topics, topic_names
from tests.ingest.gateway.conftest import PEPPER, write_roster
from tests.ingest.gateway.kafka_read import event_ids_in_kafka
from tests.ingest.gateway.processes import GatewayProcess, RetryingObserver, warehouse_event_ids
from tests.integration.events import at, event
from tests.integration.worker import WorkerProcess

pytestmark = [pytest.mark.broker, pytest.mark.timeout(240)]

OBSERVERS = 4
EVENTS_EACH = 150


def gateway_env(bootstrap: str, prefix: str, tmp_path: Path, registry_file: Path,
                warehouse: str) -> dict[str, str]:
    return {"SAYLAU_KAFKA_BOOTSTRAP": bootstrap, "SAYLAU_TOPIC_PREFIX": prefix,
            "SAYLAU_TOPIC_PARTITIONS": "3", "SAYLAU_DATA_DIR": str(tmp_path),
            "SAYLAU_REGISTRY": str(registry_file), "SAYLAU_GATEWAY_TOKEN_PEPPER": PEPPER,
            "SAYLAU_WORKER_GROUP": f"{prefix}-worker", "SAYLAU_WORKER_BATCH_SECONDS": "0.2",
            "SAYLAU_WAREHOUSE": warehouse, "SAYLAU_LOG_LEVEL": "info"}


def station_of(number: int, stations: list[str]) -> str:
    return stations[number * 7 % len(stations)]


def place_observers(tmp_path: Path, stations: list[str]) -> None:
    """The roster the gateway reads at start: observer obs-N reports for one station."""
    write_roster(tmp_path, {f"obs-{number}": station_of(number, stations)
                            for number in range(OBSERVERS)})


def observers(url: str, tmp_path: Path, stations: list[str]) -> list[RetryingObserver]:
    store = TokenStore(tokens_path(tmp_path), PEPPER)
    clients = []
    for number in range(OBSERVERS):
        observer_id = f"obs-{number}"
        events = [event("turnout", station_of(number, stations), at(8 + i % 10),
                        observer_id, ballots_issued=i) for i in range(EVENTS_EACH)]
        clients.append(RetryingObserver(url, store.issue(observer_id).token, events,
                                        pause=0.03))
    store.close()
    return clients


def wait_in_kafka(bootstrap: str, prefix: str, wanted: set[str], timeout: float = 60.0
                  ) -> set[str]:
    """What Kafka holds, once it holds every wanted event (the gateway re-sends in seconds)."""
    deadline = time.monotonic() + timeout
    while not wanted <= (found := set(event_ids_in_kafka(bootstrap, prefix))):
        if time.monotonic() > deadline:
            return found
        time.sleep(0.5)
    return found


def rejected(env: dict[str, str]) -> object:
    from saylau.warehouse.client import open_warehouse
    from saylau.warehouse.queries import event_counts, rejected_counts

    warehouse = open_warehouse(env["SAYLAU_WAREHOUSE"])
    try:
        return rejected_counts(warehouse), event_counts(warehouse)
    finally:
        warehouse.close()


@pytest.fixture
def server_warehouse(clickhouse_server) -> str:
    """A ClickHouse server database: readable while the worker writes (chDB is not)."""
    return f"clickhouse://default@127.0.0.1:{clickhouse_server.tcp_port}/t_{uuid.uuid4().hex[:10]}"


MALFORMED = b'{"kind": "turnout", "ballots_issued": "many"}'


def send_malformed(url: str, tmp_path: Path) -> None:
    store = TokenStore(tokens_path(tmp_path), PEPPER)
    token = store.issue("obs-0").token
    store.close()
    answer = httpx.post(f"{url}/v1/events", content=MALFORMED, timeout=10,
                        headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 422, answer.text


def kept_refusals(env: dict[str, str]) -> list[tuple[str, str]]:
    from saylau.warehouse.client import open_warehouse

    warehouse = open_warehouse(env["SAYLAU_WAREHOUSE"])
    try:
        frame = warehouse.query_df("SELECT reason, raw FROM $db.rejected FINAL "
                                   "WHERE source_topic LIKE '%.refused'")
    finally:
        warehouse.close()
    return list(zip(frame["reason"], frame["raw"], strict=True))


def assert_exactly_once_in_warehouse(env: dict[str, str], tmp_path: Path,
                                     acknowledged: set[str], sent: set[str]) -> None:
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        deadline = time.monotonic() + 90
        while not acknowledged <= warehouse_event_ids(env["SAYLAU_WAREHOUSE"])[0]:
            assert worker.process is not None and worker.process.poll() is None, worker.tail()
            found = warehouse_event_ids(env["SAYLAU_WAREHOUSE"])[0]
            assert time.monotonic() < deadline, f"{len(acknowledged - found)} of " \
                f"{len(acknowledged)} not in the warehouse (and {len(found - acknowledged)} " \
                f"unexpected; rejected {rejected(env)}):\n{worker.tail()}"
            time.sleep(0.5)
        worker.wait_caught_up()
        worker.stop()
    in_warehouse, rows = warehouse_event_ids(env["SAYLAU_WAREHOUSE"])
    assert acknowledged <= in_warehouse, f"{len(acknowledged - in_warehouse)} acknowledged " \
                                         "events are missing from the warehouse"
    assert in_warehouse <= sent
    assert rows == len(in_warehouse), "an event is in the warehouse more than once"


def test_broker_killed_while_observers_send_loses_no_acknowledged_event(
        tmp_path, registry_file, registry_frame, server_warehouse):
    port, prefix = free_port(), "durable"
    broker = EmbeddedBroker(port, log_path=tmp_path / "broker-1.log").start()
    try:
        ensure_topics(broker.bootstrap, topic_names(prefix), partitions=3)
        env = gateway_env(broker.bootstrap, prefix, tmp_path, registry_file,
                      server_warehouse)
        stations = list(registry_frame["station_id"])
        place_observers(tmp_path, stations)
        with GatewayProcess(env, free_port(), tmp_path / "gateway.log") as gateway:
            clients = observers(gateway.url, tmp_path, stations)
            for client in clients:
                client.start()
            send_malformed(gateway.url, tmp_path)  # kept for rejected, re-sent with the rest
            time.sleep(1.0)
            delivered_before = gateway.health()["journal_delivered"]
            broker.stop()  # mid-stream: it has acknowledged messages it will now forget
            time.sleep(1.5)
            broker = EmbeddedBroker(port, log_path=tmp_path / "broker-2.log").start()
            ensure_topics(broker.bootstrap, topic_names(prefix), partitions=3)
            for client in clients:
                client.join(120)
            acknowledged = {i for client in clients for i in client.acknowledged}
            in_kafka = wait_in_kafka(broker.bootstrap, prefix, acknowledged)
            gateway.wait_delivered()
            assert gateway.stop() == 0
        assert delivered_before > 0, "the broker died before acknowledging anything"
        sent = {e["event_id"] for client in clients for e in client.events}
        assert len(acknowledged) == OBSERVERS * EVENTS_EACH  # the gateway kept answering
        assert "re-sending" in gateway.tail(200)
        assert acknowledged <= in_kafka, f"{len(acknowledged - in_kafka)} not in Kafka"
        assert_exactly_once_in_warehouse(env, tmp_path, acknowledged, sent)
        assert kept_refusals(env) == [("invalid_event", MALFORMED.decode())]  # once
    finally:
        broker.stop()


def test_gateway_killed_with_sigkill_loses_no_acknowledged_event(
        broker, topic_prefix, tmp_path, registry_file, registry_frame, server_warehouse):
    env = gateway_env(broker.bootstrap, topic_prefix, tmp_path, registry_file,
                      server_warehouse)
    port = free_port()
    stations = list(registry_frame["station_id"])
    place_observers(tmp_path, stations)
    first = GatewayProcess(env, port, tmp_path / "gateway-1.log").start()
    try:
        clients = observers(first.url, tmp_path, stations)
        for client in clients:
            client.start()
        time.sleep(1.0)
        first.kill()  # SIGKILL: no clean shutdown, whatever was in flight is cut
        time.sleep(0.5)
        with GatewayProcess(env, port, tmp_path / "gateway-2.log") as second:
            for client in clients:
                client.join(120)
            second.wait_delivered()
            assert second.stop() == 0
    finally:
        first.__exit__(None, None, None)
    acknowledged = {i for client in clients for i in client.acknowledged}
    sent = {e["event_id"] for client in clients for e in client.events}
    assert len(acknowledged) == OBSERVERS * EVENTS_EACH
    assert sum(client.retries for client in clients) > 0, "the kill interrupted nothing"
    assert_exactly_once_in_warehouse(env, tmp_path, acknowledged, sent)
