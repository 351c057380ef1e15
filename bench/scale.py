"""Scaling benchmark: 1, then 2 `saylau worker` processes in one consumer group.

A simulated election day (default 10,000 stations, ~184k messages with the simulator's
transport noise) is sent once to the embedded broker, into topics with enough partitions
for both runs. Each run is a fresh consumer group writing into a fresh database on one
real clickhouse-server (chDB allows one process per data folder, so two workers need the
server). Throughput is the events that became queryable between the first and the last
stored event, divided by that time: start-up and the group join are left out, waiting
until every event is queryable is not. The same backlog and the same server serve both
runs, so their ratio is the scaling figure of this machine.

Also prints the day's time profile (mean and peak events/s at this size), the basis of
docs/operations.md's sizing guide. Usage: python bench/scale.py [--stations N] [--partitions P]
Last line: ``scale_bench workers1_eps=… workers2_eps=…``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from saylau.core.contract import EVENT_TOPICS  # noqa: E402
from saylau.core.election import Election  # noqa: E402
from saylau.geo.registry import synthetic_registry, write_registry_csv  # noqa: E402
from saylau.ingest.simulator import Scenario, simulate_day  # noqa: E402
from saylau.kafka.broker import EmbeddedBroker, free_port  # noqa: E402
from saylau.kafka.lag import LagProbe  # noqa: E402
from saylau.kafka.producer import EventProducer  # noqa: E402
from saylau.kafka.topics import ensure_topics, topic_names  # noqa: E402
from saylau.warehouse.client import open_warehouse  # noqa: E402
from tests.integration.worker import WorkerProcess  # noqa: E402
from tests.support.clickhouse_server import ClickHouseServer, clickhouse_server_available  # noqa: E402

VOTERS_PER_STATION = 1200
PREFIX = "scale"
POLL_SECONDS = 0.25


def day_profile(moments: list[dt.datetime]) -> dict[str, float]:
    """Mean and peak sending rates of the day: the arithmetic behind the sizing guide."""
    per_minute = Counter(moment.replace(second=0, microsecond=0) for moment in moments)
    span = (max(moments) - min(moments)).total_seconds()
    busiest = max(per_minute.values())
    per_15 = Counter(moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)
                     for moment in moments)
    return {"messages": len(moments), "span_hours": span / 3600,
            "mean_eps": len(moments) / span, "peak_minute_eps": busiest / 60,
            "peak_15min_eps": max(per_15.values()) / 900}


def send_day(bootstrap: str, stations: int, registry_csv: Path) -> dict[str, float]:
    registry = synthetic_registry(stations, stations * VOTERS_PER_STATION, seed=2026)
    write_registry_csv(registry, registry_csv)
    day = simulate_day(registry, Election(), Scenario(seed=7))
    moments = []
    started = time.perf_counter()
    with EventProducer(bootstrap, PREFIX) as producer:
        for message in day.messages():
            producer.send_raw(f"{PREFIX}.{message.topic_suffix}", message.key, message.value)
            moments.append(message.sent_at)
    profile = day_profile(moments)
    print(f"sent {len(moments):,} messages of a {stations:,}-station day in "
          f"{time.perf_counter() - started:.1f} s", flush=True)
    return profile


def worker_env(bootstrap: str, url: str, folder: Path, group: str, registry_csv: Path,
               metrics_port: int) -> dict[str, str]:
    return {"SAYLAU_KAFKA_BOOTSTRAP": bootstrap, "SAYLAU_TOPIC_PREFIX": PREFIX,
            "SAYLAU_WORKER_GROUP": group, "SAYLAU_WAREHOUSE": url,
            "SAYLAU_DATA_DIR": str(folder), "SAYLAU_REGISTRY": str(registry_csv),
            "SAYLAU_WORKER_METRICS_PORT": str(metrics_port),
            "SAYLAU_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warning")}


def stored_events(url: str) -> int:
    warehouse = open_warehouse(url)
    try:
        return int(warehouse.query_df("SELECT uniqExact(event_id) AS n FROM $db.events")
                   ["n"].iloc[0])
    except Exception:  # noqa: BLE001 - the workers have not created the database yet
        return 0
    finally:
        warehouse.close()


def events_by_worker(ports: list[int]) -> list[int]:
    """Each worker's own count, from its /metrics: shows the work was shared."""
    counts = []
    for port in ports:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        counts.append(int(sum(sample.value for family in text_string_to_metric_families(text)
                              for sample in family.samples
                              if sample.name == "saylau_worker_events_total")))
    return counts


def run(workers: int, bootstrap: str, server: ClickHouseServer, folder: Path,
        registry_csv: Path, timeout: float) -> float:
    """Events per second of ``workers`` workers reading the whole backlog."""
    name = f"w{workers}_{uuid.uuid4().hex[:6]}"
    url = server.url.replace("/saylau", f"/{name}")
    ports = [free_port() for _ in range(workers)]
    processes = []
    for number, port in enumerate(ports):
        data = folder / f"{name}-{number}"
        data.mkdir()
        processes.append(WorkerProcess(worker_env(bootstrap, url, data, name, registry_csv,
                                                  port), data / "worker.log").start())
    try:
        samples = watch(url, name, bootstrap, processes, timeout)
        shares = events_by_worker(ports)
    finally:
        for process in processes:
            process.stop(60)
    final = samples[-1][1]
    first_t, first_n = next((t, n) for t, n in samples if n > 0)
    last_t = next(t for t, n in samples if n == final)
    eps = (final - first_n) / max(last_t - first_t, 1e-9)
    print(f"{workers} worker(s): {final:,} events queryable, {eps:,.0f} events/s "
          f"over {last_t - first_t:.1f} s; events stored by each worker: "
          f"{', '.join(f'{n:,}' for n in shares)}", flush=True)
    return eps


def watch(url: str, group: str, bootstrap: str, processes: list[WorkerProcess],
          timeout: float) -> list[tuple[float, int]]:
    """(time, events queryable) until the group has committed everything it read."""
    topics = [f"{PREFIX}.{topic}" for topic in EVENT_TOPICS]
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    with LagProbe(bootstrap, group, topics) as probe:
        while True:
            for process in processes:
                if process.process is not None and process.process.poll() is not None:
                    raise RuntimeError(f"a worker exited:\n{process.tail()}")
            lag = probe.lag()  # read first: what was committed before the count is stored
            samples.append((time.perf_counter(), stored_events(url)))
            if lag == 0 and samples[-1][1] > 0:
                return samples
            if time.monotonic() > deadline:
                raise RuntimeError(f"still {lag} messages behind after {timeout} s")
            time.sleep(POLL_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    if not clickhouse_server_available():
        sys.exit("bench/scale.py needs Debian's clickhouse-server (apt-get install "
                 "clickhouse-server)")
    folder = Path(tempfile.mkdtemp(prefix="saylau-scale-"))
    registry_csv = folder / "stations.csv"
    try:
        with EmbeddedBroker(free_port()) as broker:
            server = ClickHouseServer(folder / "clickhouse").start()
            try:
                ensure_topics(broker.bootstrap, topic_names(PREFIX), args.partitions)
                profile = send_day(broker.bootstrap, args.stations, registry_csv)
                print(f"day profile: {profile['messages']:,} messages over "
                      f"{profile['span_hours']:.1f} h; mean {profile['mean_eps']:.2f}/s, "
                      f"busiest 15 min {profile['peak_15min_eps']:.2f}/s, busiest minute "
                      f"{profile['peak_minute_eps']:.2f}/s", flush=True)
                one = run(1, broker.bootstrap, server, folder, registry_csv, args.timeout)
                two = run(2, broker.bootstrap, server, folder, registry_csv, args.timeout)
            finally:
                server.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"scaling 1 -> 2 workers: x{two / one:.2f} on {os.cpu_count()} CPU(s), "
          f"{args.partitions} partitions per topic", flush=True)
    print(f"scale_bench workers1_eps={one:.0f} workers2_eps={two:.0f}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
