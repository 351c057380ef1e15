"""Prometheus metrics of a real worker and a real dashboard process, scraped over HTTP."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from saylau.core.contract import INTAKE_TOPICS, KIND_TOPIC
from saylau.dashboard.metrics import CALLBACK_PATH, request_handler
from saylau.dashboard.users import add_user
from saylau.geo.registry import synthetic_registry, write_registry_csv
from saylau.kafka.broker import EmbeddedBroker, free_port
from saylau.kafka.lag import LagProbe
from saylau.kafka.producer import EventProducer
from saylau.streams.metrics import LagCollector
from tests.integration.events import at, encode, event
from tests.integration.worker import SaylauProcess, WorkerProcess

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """{(sample name, sorted labels): value} from a /metrics page."""
    text = httpx.get(url, timeout=10).text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def by_label(samples: dict, name: str, label: str) -> dict[str, float]:
    return {dict(labels)[label]: value for (sample, labels), value in samples.items()
            if sample == name}


def wait_for_http(url: str, process: SaylauProcess, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.process is not None
        if process.process.poll() is not None:
            raise AssertionError(f"{process.name} exited:\n{process.tail()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} never answered:\n{process.tail()}"
        time.sleep(0.3)


@pytest.fixture
def registry(tmp_path: Path) -> pd.DataFrame:
    frame = synthetic_registry(n_stations=60, total_voters=60_000, seed=9)
    write_registry_csv(frame, tmp_path / "stations.csv")
    return frame


def known_messages(registry: pd.DataFrame) -> tuple[list[tuple[str, str, bytes]], dict, dict]:
    """(topic suffix, key, value) to send, the events per kind and the rejects per reason."""
    messages, kinds = [], {"checkin": 0, "turnout": 0, "incident": 0}
    for number, station in enumerate(registry["station_id"]):
        for kind, fields in (("checkin", {"role": "observer"}),
                             ("turnout", {"ballots_issued": 10 + number}),
                             ("incident", {"category": "procedural", "severity": 1,
                                           "description": "queue", "media": []})):
            if kind == "incident" and number % 3:
                continue
            message = event(kind, station, at(9 + number % 8), f"obs-{number}", **fields)
            messages.append((KIND_TOPIC[kind], station, encode(message)))
            kinds[kind] += 1
    resent = messages[:7]
    bad = [("turnout", "x", b"{not json"), ("turnout", "x", b"[1, 2"),
           ("turnout", "NOPE-1", encode(event("turnout", "NOPE-1", at(10), ballots_issued=1)))]
    rejects = {"invalid_json": 2, "unknown_station": 1}
    return messages + resent + bad, kinds, rejects


def test_worker_metrics_count_exactly_what_was_sent(
        broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path,
        registry: pd.DataFrame) -> None:
    messages, kinds, rejects = known_messages(registry)
    port = free_port()
    env = {"SAYLAU_KAFKA_BOOTSTRAP": broker.bootstrap, "SAYLAU_TOPIC_PREFIX": topic_prefix,
           "SAYLAU_WORKER_GROUP": f"{topic_prefix}-worker",
           "SAYLAU_WAREHOUSE": f"chdb://{tmp_path}/warehouse", "SAYLAU_DATA_DIR": str(tmp_path),
           "SAYLAU_REGISTRY": str(tmp_path / "stations.csv"), "SAYLAU_WORKER_BATCH_SIZE": "50",
           "SAYLAU_WORKER_BATCH_SECONDS": "0.2", "SAYLAU_WORKER_METRICS_PORT": str(port)}
    started = time.time()
    with EventProducer(broker.bootstrap, topic_prefix) as producer:
        for suffix, key, value in messages:
            producer.send_raw(f"{topic_prefix}.{suffix}", key, value)
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        url = f"http://127.0.0.1:{port}/metrics"
        wait_for_http(url, worker)
        worker.wait_caught_up()
        samples = scrape(url)
        topics = [f"{topic_prefix}.{name}" for name in INTAKE_TOPICS]  # what the worker reads
        with LagProbe(broker.bootstrap, env["SAYLAU_WORKER_GROUP"], topics) as probe:
            lags = probe.lag_by_partition()
        assert worker.stop() == 0

    assert by_label(samples, "saylau_worker_events_total", "kind") == kinds
    assert by_label(samples, "saylau_worker_rejected_total", "reason") == rejects
    assert samples[("saylau_worker_duplicates_total", ())] == 7
    batches = samples[("saylau_worker_batch_insert_seconds_count", ())]
    assert batches >= len(messages) / 50
    assert samples[("saylau_worker_batch_insert_seconds_sum", ())] > 0
    assert samples[("saylau_worker_last_batch_timestamp_seconds", ())] >= started
    lag = {(dict(labels)["topic"], int(dict(labels)["partition"])): value
           for (name, labels), value in samples.items() if name == "saylau_worker_consumer_lag"}
    assert lag == lags and len(lag) == len(topics) * 3


def test_lag_collector_reports_what_a_group_has_not_committed(broker: EmbeddedBroker,
                                                              topic_prefix: str) -> None:
    topic = f"{topic_prefix}.turnout"
    with EventProducer(broker.bootstrap, topic_prefix) as producer:
        for number in range(11):
            producer.send_raw(topic, f"S-{number}", b"{}")
            # One record per batch: the embedded broker reports a partition's end offset
            # as its last batch's base offset + 1 (Kafka: last offset + 1).
            producer.flush()
    collector = LagCollector(broker.bootstrap, f"{topic_prefix}-idle", [topic])
    (family,) = collector.collect()
    per_partition = {sample.labels["partition"]: sample.value for sample in family.samples}
    assert set(per_partition) == {"0", "1", "2"}
    assert sum(per_partition.values()) == 11


def test_dashboard_counts_page_loads_and_callbacks(tmp_path: Path,
                                                   registry: pd.DataFrame) -> None:
    port = free_port()
    password = secrets.token_urlsafe(16)  # the dashboard needs a secret and a user
    add_user(tmp_path / "users.json", "hq", "headquarters", None, password, set())
    env = {"SAYLAU_WAREHOUSE": f"chdb://{tmp_path}/warehouse", "SAYLAU_DATA_DIR": str(tmp_path),
           "SAYLAU_REGISTRY": str(tmp_path / "stations.csv"),
           "SAYLAU_DASHBOARD_SECRET": secrets.token_urlsafe(32),
           "SAYLAU_DASHBOARD_USERS": str(tmp_path / "users.json")}
    dashboard = SaylauProcess(env, tmp_path / "dashboard.log")
    dashboard.name = "dashboard"
    try:
        dashboard.spawn("dashboard", "--port", str(port))
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/metrics", dashboard)
        client = httpx.Client(base_url=base, timeout=30)
        client.post("/auth/login", data={"username": "hq", "password": password})
        for _ in range(3):
            assert client.get("/").status_code == 200
        dependency = client.get("/_dash-dependencies").json()[0]
        body = {"output": dependency["output"], "outputs": [], "changedPropIds": [],
                "inputs": [], "state": []}
        statuses = [client.post("/_dash-update-component", json=body).status_code
                    for _ in range(2)]
        samples = scrape(f"{base}/metrics")
    finally:
        dashboard.__exit__()

    pages = {dict(labels)["status"]: value for (name, labels), value in samples.items()
             if name == "saylau_dashboard_requests_total"
             and dict(labels)["handler"] == "page:/"}
    assert pages == {"200": 3}
    # A callback of the app keeps its label (long outputs are cut); a made-up one is other.
    handler = request_handler("POST", CALLBACK_PATH, body, set(), {dependency["output"]})
    assert request_handler("POST", CALLBACK_PATH, body, set()) == "other"
    calls = {dict(labels)["status"]: value for (name, labels), value in samples.items()
             if name == "saylau_dashboard_requests_total" and dict(labels)["handler"] == handler}
    assert sum(calls.values()) == 2 and set(calls) == {str(s) for s in statuses}
    assert samples[("saylau_dashboard_request_seconds_count", (("handler", "page:/"),))] == 3


def test_a_taken_metrics_port_stops_the_worker_with_a_clear_message(
        broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path,
        registry: pd.DataFrame) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))  # noqa: S104 - the worker binds all interfaces too
        taken.listen()
        port = taken.getsockname()[1]
        env = {"SAYLAU_KAFKA_BOOTSTRAP": broker.bootstrap, "SAYLAU_TOPIC_PREFIX": topic_prefix,
               "SAYLAU_WAREHOUSE": f"chdb://{tmp_path}/warehouse",
               "SAYLAU_DATA_DIR": str(tmp_path), "SAYLAU_REGISTRY": str(tmp_path / "stations.csv"),
               "SAYLAU_WORKER_METRICS_PORT": str(port)}
        worker = WorkerProcess(env, tmp_path / "worker.log").start()
        assert worker.process is not None
        try:
            code = worker.process.wait(120)
        finally:
            worker.__exit__()
    assert code != 0
    log = (tmp_path / "worker.log").read_text(encoding="utf-8")
    assert f"cannot serve metrics on port {port} (Address already in use)" in log
    assert "Traceback" not in log
