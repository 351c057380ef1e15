"""Pipeline benchmark: the Faust worker against a plain aiokafka consumer, same warehouse.

Sends N events of a realistic mix to the embedded broker, then measures in one run:
  raw_eps    a plain aiokafka consumer that parses JSON and inserts batches (the ceiling),
  faust_eps  `saylau worker` end to end (validation, de-duplication, enrichment, alerts),
  no-op      Faust alone: the worker's app and batching doing nothing (bench/support/),
             which bounds what any Faust worker can reach on this machine,
  latency    event-to-queryable under a steady 1,000 events/s through the worker.
Throughput is counted from the first committed batch to the last, so start-up and the
consumer-group join are left out of both. Usage: python bench/pipeline.py [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from aiokafka import AIOKafkaConsumer  # noqa: E402

from saylau.core.contract import EVENT_TOPICS, KIND_TOPIC  # noqa: E402
from saylau.geo.registry import synthetic_registry, write_registry_csv  # noqa: E402
from saylau.kafka.broker import EmbeddedBroker, free_port  # noqa: E402
from saylau.kafka.lag import LagProbe  # noqa: E402
from saylau.kafka.producer import EventProducer  # noqa: E402
from saylau.kafka.topics import ensure_topics, topic_names  # noqa: E402
from saylau.streams.rows import EVENT_COLUMNS  # noqa: E402
from saylau.warehouse.client import create_schema, open_warehouse  # noqa: E402
from tests.integration.worker import WorkerProcess  # noqa: E402
from tests.support.clickhouse_server import ClickHouseServer, clickhouse_server_available  # noqa: E402

DAY = "2026-03-15T{h:02d}:{m:02d}:{s:02d}+05:00"
# The workers' logs: kept after the run (the data folder is removed), for BENCH_LOG_LEVEL=debug.
LOGS = Path(os.environ.get("BENCH_LOG_DIR", Path(tempfile.gettempdir()) / "saylau-pipeline-logs"))
MIX = [("turnout", 0.55), ("checkin", 0.15), ("incident", 0.12), ("exitpoll", 0.08),
       ("protocol", 0.05), ("checkout", 0.05)]


def realistic_events(registry, count: int, seed: int = 1) -> list[tuple[str, str, bytes]]:
    """(topic suffix, key, JSON) for ``count`` events: mostly turnout, some of each kind."""
    rng = random.Random(seed)
    stations = registry["station_id"].tolist()
    voters = dict(zip(stations, registry["registered_voters"], strict=True))
    kinds = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX], k=count)
    return [_event(kind, rng.choice(stations), voters, rng) for kind in kinds]


def _event(kind: str, station: str, voters: dict, rng: random.Random) -> tuple[str, str, bytes]:
    hour = rng.randint(7, 19)
    base = {"schema": "saylau.event/1", "event_id": str(uuid.UUID(int=rng.getrandbits(128),
                                                                   version=4)),
            "kind": kind, "station_id": station, "observer_id": f"obs-{rng.randint(1, 99999)}",
            "occurred_at": DAY.format(h=hour, m=rng.randint(0, 59), s=rng.randint(0, 59))}
    if kind == "turnout":  # cumulative: grows through the day, as real counts do
        minute = (hour - 7) * 60 + int(base["occurred_at"][14:16])
        base["ballots_issued"] = int(voters[station]) * 6 * minute // (10 * 13 * 60)
    elif kind == "checkin":
        base["role"] = "observer"
    elif kind == "checkout":
        base["reason"] = rng.choice(["shift_end", "reassigned", "removed"])
    elif kind == "incident":
        base.update(category="vote_buying", severity=rng.randint(1, 3), description="bench")
    elif kind == "exitpoll":
        choices = {"amanat": rng.randint(0, 20), "auyl": rng.randint(0, 9),
                   "against_all": rng.randint(0, 5), "refused": rng.randint(0, 3)}
        base.update(window_start=DAY.format(h=hour, m=0, s=0),
                    window_end=DAY.format(h=hour, m=59, s=0),
                    interviews=sum(choices.values()), choices=choices)
    else:
        votes = {"amanat": rng.randint(100, 400), "auyl": rng.randint(0, 200),
                 "against_all": rng.randint(0, 50)}
        cast = sum(votes.values()) + 5
        base.update(source=rng.choice(["official", "observer_copy"]), registered=cast + 300,
                    ballots_received=cast + 300, ballots_issued=cast, ballots_cast=cast,
                    invalid=5, votes=votes)
    return KIND_TOPIC[kind], station, json.dumps(base).encode()


def send_all(bootstrap: str, prefix: str, events: list[tuple[str, str, bytes]]) -> float:
    started = time.perf_counter()
    with EventProducer(bootstrap, prefix) as producer:
        for suffix, key, value in events:
            producer.send_raw(f"{prefix}.{suffix}", key, value)
    return time.perf_counter() - started


class Throughput(NamedTuple):
    eps: float  # from the group's first commit to its last
    with_startup_eps: float  # from the consumer's launch: start-up and group join included


def throughput_while(group: str, bootstrap: str, prefix: str, total: int,
                     is_running, timeout: float = 900) -> Throughput:
    """Events per second from the group's first commit until it has committed everything,
    and (for the record) from now, when the caller has just launched the consumer.

    The first commit is the first fall of the lag below where it stood at the first look.
    (Comparing with ``total`` started the clock at the first look, start-up included: the
    broker's end offsets come out a little short of the messages sent, about 600 in 500,000.)
    """
    launched = time.perf_counter()
    topics = [f"{prefix}.{name}" for name in EVENT_TOPICS]
    deadline = time.monotonic() + timeout
    start_lag = first_lag = first_time = None
    with LagProbe(bootstrap, group, topics) as probe:
        while True:
            running = is_running()  # read before the lag: a finished consumer has committed
            lag = probe.lag()
            now = time.perf_counter()
            start_lag = lag if start_lag is None else start_lag
            if first_lag is None and lag < min(start_lag, total):
                first_lag, first_time = lag, now
            if lag == 0 and first_time is not None and first_lag:
                return Throughput(first_lag / max(now - first_time, 1e-9),
                                  start_lag / max(now - launched, 1e-9))
            if not running or time.monotonic() > deadline:
                raise RuntimeError(f"consumer stopped or timed out with lag {lag}")
            time.sleep(0.25)


async def raw_consume(bootstrap: str, prefix: str, group: str, url: str, total: int) -> None:
    """The ceiling: consume, parse JSON, insert into the archive in batches, commit."""
    warehouse = open_warehouse(url)
    consumer = AIOKafkaConsumer(*[f"{prefix}.{n}" for n in EVENT_TOPICS],
                                bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                rebalance_timeout_ms=4000, session_timeout_ms=8000,
                                heartbeat_interval_ms=1000, max_poll_records=5000)
    await consumer.start()
    loop, seen = asyncio.get_running_loop(), 0
    try:
        while seen < total:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            rows = [_raw_row(record.value) for records in batches.values() for record in records]
            if rows:
                await loop.run_in_executor(None, warehouse.insert_rows, "events", EVENT_COLUMNS,
                                           rows)
                await consumer.commit()
                seen += len(rows)
    finally:
        await consumer.stop()
        warehouse.close()


def _raw_row(value: bytes) -> dict:
    event = json.loads(value)
    row = dict.fromkeys(EVENT_COLUMNS, "")
    row.update(event_id=event["event_id"], kind=event["kind"], station_id=event["station_id"],
               observer_id=event["observer_id"], payload=value.decode(), ballots_issued=0,
               registered_voters=0, severity=0,
               occurred_at=_parse_time(event["occurred_at"]), received_at=_now())
    return row


def _parse_time(text: str):
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def _now():
    return dt.datetime.now(dt.UTC)


def measure_raw(bootstrap, prefix, url, total) -> Throughput:
    group = f"{prefix}-raw"
    thread = threading.Thread(target=lambda: asyncio.run(
        raw_consume(bootstrap, prefix, group, url, total)), daemon=True)
    thread.start()
    eps = throughput_while(group, bootstrap, prefix, total, thread.is_alive)
    thread.join(60)
    return eps


def worker_env(bootstrap, prefix, url, folder: Path, group: str) -> dict[str, str]:
    return {"SAYLAU_KAFKA_BOOTSTRAP": bootstrap, "SAYLAU_TOPIC_PREFIX": prefix,
            "SAYLAU_WORKER_GROUP": group, "SAYLAU_WAREHOUSE": url,
            "SAYLAU_DATA_DIR": str(folder), "SAYLAU_REGISTRY": str(folder / "stations.csv"),
            "SAYLAU_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warning"),
            "SAYLAU_WORKER_BATCH_SECONDS": "0.2"}


def measure_faust(bootstrap, prefix, url, folder, total) -> Throughput:
    group = f"{prefix}-faust"
    with WorkerProcess(worker_env(bootstrap, prefix, url, folder, group),
                       LOGS / "faust.log") as worker:
        eps = throughput_while(group, bootstrap, prefix, total,
                               lambda: worker.process.poll() is None)
        worker.stop()
    return eps


def measure_faust_ceiling(bootstrap, prefix, total) -> Throughput:
    """Faust alone: the worker's app and batching, nothing done per batch (a child process)."""
    group = f"{prefix}-noop"
    script = Path(__file__).with_name("support") / "faust_noop.py"
    with open(LOGS / "noop.log", "ab") as log:
        child = subprocess.Popen([sys.executable, str(script), bootstrap, prefix, group,
                                  "5000", "0.2"], stdout=log, stderr=log)
        try:
            return throughput_while(group, bootstrap, prefix, total, lambda: child.poll() is None)
        finally:
            child.terminate()
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()


def send_paced(producer: EventProducer, prefix: str, events: list[tuple[str, str, bytes]],
               rate: float) -> dict[str, float]:
    """Send ``events`` at a steady ``rate`` per second: {event_id: perf_counter when sent}."""
    sent: dict[str, float] = {}
    started = time.perf_counter()
    for number, (suffix, key, value) in enumerate(events):
        due = started + number / rate
        while time.perf_counter() < due:
            time.sleep(0.0005)
        producer.send_raw(f"{prefix}.{suffix}", key, value)
        sent[json.loads(value)["event_id"]] = time.perf_counter()
    producer.flush()
    return sent


def measure_latency(bootstrap, prefix, url, folder, registry, seconds: int, rate: int):
    """p95 seconds from send to queryable in the warehouse at a steady ``rate`` events/s.

    The sender keeps its pace on this thread; a probe thread asks the warehouse every
    0.1 s which events arrived since the phase began, and notes when each was first seen.
    The steady stream starts once a first event has gone all the way through: the group
    join of a starting worker is start-up, not latency.
    """
    group = f"{prefix}-faust"  # the throughput run's group: it has read the backlog already
    events = realistic_events(registry, seconds * rate + 1, seed=99)
    with WorkerProcess(worker_env(bootstrap, prefix, url, folder, group),
                       LOGS / "latency.log") as worker, \
            EventProducer(bootstrap, prefix) as producer:
        worker.wait_caught_up(timeout=900)  # nothing left over from the throughput run
        probe = VisibilityProbe(url, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        probe.start()
        suffix, key, value = events.pop(0)
        producer.send_raw(f"{prefix}.{suffix}", key, value)
        producer.flush()
        if not probe.wait_for({json.loads(value)["event_id"]}, timeout=120):
            raise RuntimeError(f"the worker stored nothing within 120 s:\n{worker.tail()}")
        sent = send_paced(producer, prefix, events, rate)
        probe.wait_for(set(sent), timeout=60)
        probe.stop()
        worker.stop()
    seen = {event_id: probe.first_seen[event_id] - at for event_id, at in sent.items()
            if event_id in probe.first_seen}
    return float(np.percentile(list(seen.values()), 95)), len(seen), len(sent) - len(seen)


class VisibilityProbe(threading.Thread):
    """Notes when each event received since ``since`` is first answered by a query."""

    def __init__(self, url: str, since) -> None:
        super().__init__(daemon=True)
        self.url, self.since = url, since
        self.first_seen: dict[str, float] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        reader = open_warehouse(url=self.url)
        try:
            while not self.stopped.is_set():
                frame = reader.query_df("SELECT event_id FROM $db.events "
                                        "PREWHERE received_at >= {since:DateTime}",
                                        {"since": self.since})
                now = time.perf_counter()
                for event_id in frame["event_id"]:
                    self.first_seen.setdefault(event_id, now)
                time.sleep(0.1)
        finally:
            reader.close()

    def wait_for(self, event_ids: set[str], timeout: float) -> bool:
        """Whether every one of ``event_ids`` was seen within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not event_ids <= self.first_seen.keys():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        self.stopped.set()
        self.join(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--latency-seconds", type=int, default=30)
    parser.add_argument("--stations", type=int, default=10_000)
    args = parser.parse_args()
    if not clickhouse_server_available():
        sys.exit("bench/pipeline.py needs Debian's clickhouse-server (make system-deps)")
    folder = Path(tempfile.mkdtemp(prefix="saylau-bench-"))
    shutil.rmtree(LOGS, ignore_errors=True)
    LOGS.mkdir(parents=True)
    registry = synthetic_registry(args.stations, total_voters=args.stations * 1200, seed=1)
    write_registry_csv(registry, folder / "stations.csv")
    with EmbeddedBroker(free_port()) as broker:
        server = ClickHouseServer(folder / "clickhouse").start()
        try:
            prefix = "bench"
            ensure_topics(broker.bootstrap, topic_names(prefix), partitions=4)
            events = realistic_events(registry, args.events)
            send_s = send_all(broker.bootstrap, prefix, events)
            print(f"sent {len(events):,} events in {send_s:.1f} s", flush=True)
            raw_url, faust_url = (server.url.replace("/saylau", f"/{name}")
                                  for name in ("raw", "faust"))
            create_schema(open_warehouse(raw_url))
            raw = measure_raw(broker.bootstrap, prefix, raw_url, len(events))
            print(f"raw aiokafka + batched inserts: {_eps(raw)}", flush=True)
            faust = measure_faust(broker.bootstrap, prefix, faust_url, folder, len(events))
            print(f"faust worker end to end:        {_eps(faust)}", flush=True)
            noop = measure_faust_ceiling(broker.bootstrap, prefix, len(events))
            print(f"faust reading alone (no-op):    {_eps(noop)}, "
                  f"{noop.eps / raw.eps:.2f} of raw", flush=True)
            raw_eps, faust_eps = raw.eps, faust.eps
            p95, seen, missing = measure_latency(broker.bootstrap, prefix, faust_url, folder,
                                                 registry, args.latency_seconds, 1000)
            print(f"latency at 1,000 events/s: p95 {p95:.2f} s over {seen:,} events "
                  f"({missing} not seen)", flush=True)
        finally:
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)  # a ClickHouse data folder of GBs
    print(f"pipeline_bench events={len(events)} raw_eps={raw_eps:.0f} "
          f"faust_eps={faust_eps:.0f} ratio={faust_eps / raw_eps:.2f} p95_latency_s={p95:.2f}")


def _eps(measured: Throughput) -> str:
    return (f"{measured.eps:,.0f} events/s ({measured.with_startup_eps:,.0f} "
            f"counting its start-up)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
