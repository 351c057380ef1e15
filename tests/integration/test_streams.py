"""Stream processing against the real broker and both warehouse engines: every rule,
every alert, out-of-order and duplicate reports, and a worker killed mid-stream."""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pandas as pd
import pytest

from saylau.core.contract import EVENT_TOPICS, KIND_TOPIC
from saylau.kafka.broker import EmbeddedBroker
from saylau.kafka.lag import consumer_lag
from saylau.kafka.producer import EventProducer
from saylau.warehouse import queries
from saylau.warehouse.client import open_warehouse
from saylau.warehouse.state import station_state
from tests.integration.events import at, encode, event
from tests.integration.scenario import ScenarioDay
from tests.integration.snapshot import assert_same_tables, snapshot
from tests.integration.test_pipeline import worker_env
from tests.integration.worker import WorkerProcess, alive

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]


def send(producer: EventProducer, prefix: str, messages: list[dict | bytes]) -> None:
    for message in messages:
        if isinstance(message, bytes):  # malformed: no kind to route by
            producer.send_raw(f"{prefix}.turnout", "bad", message)
        else:
            producer.send_raw(f"{prefix}.{KIND_TOPIC.get(message['kind'], 'turnout')}",
                              message["station_id"], encode(message))
    producer.flush()


def run_worker_until_caught_up(env: dict[str, str], log: Path) -> None:
    with WorkerProcess(env, log) as worker:
        worker.wait_caught_up()
        assert worker.stop() == 0


def test_every_rule_and_alert_on_a_scenario_day(
        broker: EmbeddedBroker, topic_prefix: str, warehouse_url: str, tmp_path: Path,
        registry: pd.DataFrame) -> None:
    day = ScenarioDay(registry)
    resent = [m for m in day.messages if isinstance(m, dict)][:20]
    with EventProducer(broker.bootstrap, topic_prefix) as producer:
        send(producer, topic_prefix, day.messages + resent)
    run_worker_until_caught_up(worker_env(broker, topic_prefix, warehouse_url, tmp_path),
                               tmp_path / "worker.log")

    wh = open_warehouse(warehouse_url)
    try:
        assert queries.rejected_counts(wh) == day.expected_rejected
        accepted = [m for m in day.messages if isinstance(m, dict)]
        assert sum(queries.event_counts(wh).values()) == len(accepted) - sum(
            day.expected_rejected.values()) + sum(1 for m in day.messages if isinstance(m, bytes))

        state = station_state(wh).set_index("station_id")
        assert {s: state.loc[s, "coverage"] for s in day.expected_coverage} == \
            day.expected_coverage
        assert {s: int(state.loc[s, "ballots"]) for s in day.expected_ballots} == \
            day.expected_ballots

        status = queries.incidents(wh).set_index("incident_id")["status"].to_dict()
        assert {i: status[i] for i in day.expected_status} == day.expected_status
        tallies = queries.exitpoll_tallies(wh).groupby("option")["answers"].sum().to_dict()
        assert tallies == day.expected_exitpoll

        alerts = queries.alerts(wh)
        keys = {(kind, station or region) for kind, station, region in
                zip(alerts["kind"], alerts["station_id"], alerts["region_code"], strict=True)}
        assert keys == day.expected_alert_keys()
    finally:
        wh.close()


def busy_day(registry: pd.DataFrame, seed: int = 3) -> list[dict]:
    """Thousands of ordinary reports: check-ins, hourly turnout, incidents, protocols."""
    rng = random.Random(seed)
    messages: list[dict] = []
    for number, station in enumerate(registry.itertuples()):
        observer = f"obs-{number}"
        messages.append(event("checkin", station.station_id, at(7, rng.randint(0, 50)),
                              observer, role="observer"))
        share = rng.uniform(0.4, 0.8)
        for hour in range(8, 21):
            ballots = int(station.registered_voters * share * (hour - 7) / 13)
            messages.append(event("turnout", station.station_id, at(hour, rng.randint(0, 59)),
                                  observer, ballots_issued=ballots))
        for _ in range(rng.randint(0, 3)):
            messages.append(event("incident", station.station_id,
                                  at(rng.randint(8, 19), rng.randint(0, 59)), observer,
                                  category="vote_buying", severity=rng.randint(1, 3)))
    rng.shuffle(messages)  # arrival order is not event order
    return messages + messages[:300]  # and some arrive twice


def test_worker_killed_mid_stream_gives_the_same_tables_as_an_uninterrupted_run(
        broker: EmbeddedBroker, topic_prefix: str, warehouse_url: str, tmp_path: Path,
        registry: pd.DataFrame) -> None:
    messages = busy_day(registry)
    chunks = [messages[i:i + 400] for i in range(0, len(messages), 400)]
    killed_env = {**worker_env(broker, topic_prefix, warehouse_url, tmp_path),
                  "SAYLAU_WORKER_GROUP": f"{topic_prefix}-killed",
                  "SAYLAU_WORKER_BATCH_SIZE": "150"}
    topics = [f"{topic_prefix}.{name}" for name in EVENT_TOPICS]
    with EventProducer(broker.bootstrap, topic_prefix) as producer:
        worker = WorkerProcess(killed_env, tmp_path / "killed.log").start()
        send(producer, topic_prefix, chunks[0])
        worker.wait_caught_up()  # joined the group and stored the first chunk
        for chunk in chunks[1:4]:
            send(producer, topic_prefix, chunk)
            time.sleep(0.3)
        # Freeze the worker wherever it is (mid-batch, mid-insert or idle) so the lag read
        # next is still true at the kill; a fast worker may already have caught up, and
        # then one more chunk sent while it is frozen is the work it dies with.
        os.kill(worker.process.pid, signal.SIGSTOP)
        lag_at_kill = consumer_lag(broker.bootstrap, killed_env["SAYLAU_WORKER_GROUP"], topics)
        rest = chunks[4:]
        if lag_at_kill == 0:
            send(producer, topic_prefix, rest.pop(0))
            lag_at_kill = consumer_lag(broker.bootstrap, killed_env["SAYLAU_WORKER_GROUP"],
                                       topics)
        stores = [pid for pid, command in worker.children().items()
                  if "saylau.streams.store_process" in command]
        worker.kill()  # SIGKILL: no clean shutdown, no final commit
        # A ClickHouse server's worker stores in a child process, which must die with it.
        assert len(stores) == (1 if warehouse_url.startswith("clickhouse") else 0)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in stores) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(alive(pid) for pid in stores), "the store process outlived its worker"
        for chunk in rest:
            send(producer, topic_prefix, chunk)
    assert lag_at_kill > 0, "the worker must be killed with work still to do"
    run_worker_until_caught_up(killed_env, tmp_path / "restarted.log")

    calm_url = warehouse_url + "_calm" if "clickhouse" in warehouse_url else \
        f"chdb://{tmp_path}/calm"
    calm_env = {**worker_env(broker, topic_prefix, calm_url, tmp_path),
                "SAYLAU_WORKER_GROUP": f"{topic_prefix}-calm",
                "SAYLAU_DATA_DIR": str(tmp_path / "calm-data"),
                "SAYLAU_REGISTRY": str(tmp_path / "stations.csv")}
    run_worker_until_caught_up(calm_env, tmp_path / "calm.log")

    left, right = read_snapshot(warehouse_url), read_snapshot(calm_url)
    assert len(left["events"]) == len({m["event_id"] for m in messages})
    assert_same_tables(left, right)


def read_snapshot(url: str) -> dict[str, pd.DataFrame]:
    # One at a time: chDB opens one data directory per process at once.
    wh = open_warehouse(url)
    try:
        return snapshot(wh)
    finally:
        wh.close()
