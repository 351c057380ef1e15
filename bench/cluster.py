"""Cluster benchmark: a simulated day into a 2 × 2 ClickHouse cluster, one replica of each
shard SIGKILLed half-way and restarted, against the same day into one server.

The day is sent once to the embedded broker. Each run is a fresh consumer group of two
`saylau worker` processes writing into a fresh database: first on one clickhouse-server
(the baseline), then on the cluster (ZooKeeper, 2 shards × 2 replicas, replicated tables
under Distributed ones; tests/support/clickhouse_cluster.py), where both killed replicas are
the ones the workers started on. Throughput is the day's messages divided by the time from
the workers' launch until the group has committed all of them (start-up included, alike in
both runs). ``lost``
is the events the single server holds and the cluster does not (distinct event ids).
Usage: python bench/cluster.py [--stations N]
Last line: ``cluster_bench shards=2 replicas=2 events=… eps=… single_server_eps=… killed=…
lost=… wall_ms=… single_wall_ms=…``.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
from tests.support.clickhouse_cluster import ClickHouseCluster  # noqa: E402
from tests.support.clickhouse_server import ClickHouseServer  # noqa: E402

PREFIX = "cluster"
WORKERS = 2


def send_day(bootstrap: str, stations: int, registry_csv: Path) -> int:
    registry = synthetic_registry(stations, stations * 1200, seed=2026)
    write_registry_csv(registry, registry_csv)
    sent = 0
    with EventProducer(bootstrap, PREFIX) as producer:
        for message in simulate_day(registry, Election(), Scenario(seed=7)).messages():
            producer.send_raw(f"{PREFIX}.{message.topic_suffix}", message.key, message.value)
            sent += 1
    return sent


def worker_env(bootstrap: str, url: str, folder: Path, group: str,
               registry_csv: Path) -> dict[str, str]:
    return {"SAYLAU_KAFKA_BOOTSTRAP": bootstrap, "SAYLAU_TOPIC_PREFIX": PREFIX,
            "SAYLAU_WORKER_GROUP": group, "SAYLAU_WAREHOUSE": url,
            "SAYLAU_DATA_DIR": str(folder), "SAYLAU_REGISTRY": str(registry_csv),
            # Small batches: commits come steadily, so the kill lands in the middle of work.
            "SAYLAU_WORKER_BATCH_SIZE": "200", "SAYLAU_WORKER_BATCH_SECONDS": "0.2",
            "SAYLAU_LOG_LEVEL": "warning"}


class Run:
    """Two workers of one group until the backlog is stored; ``on_lag`` is called with the
    remaining lag and the lag at the first commit, as the run goes."""

    def __init__(self, bootstrap: str, group: str, urls: list[str], folder: Path,
                 registry_csv: Path) -> None:
        self.bootstrap, self.group = bootstrap, group
        self.envs = [worker_env(bootstrap, url, folder / f"w{n}", group, registry_csv)
                     for n, url in enumerate(urls)]
        self.folder = folder

    def go(self, on_lag: Callable[[int, int], None] = lambda lag, first: None,
           timeout: float = 900) -> tuple[int, float]:
        """(messages in the backlog, seconds until all of them are committed)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        workers = [WorkerProcess(env, self.folder / f"w{n}.log").start()
                   for n, env in enumerate(self.envs)]
        topics = [f"{PREFIX}.{name}" for name in EVENT_TOPICS]
        try:
            with LagProbe(self.bootstrap, self.group, topics) as probe:
                first, seconds = self._measure(probe, workers, on_lag, timeout)
            for worker in workers:
                worker.stop()
            return first, seconds
        finally:
            for worker in workers:
                worker.__exit__()

    def _measure(self, probe: LagProbe, workers: list[WorkerProcess],
                 on_lag: Callable[[int, int], None], timeout: float) -> tuple[int, float]:
        """From the workers' launch until the group has committed everything: start-up and
        the group join are in both runs alike (on a day this small the commits come in a few
        large steps, too few to time from the first one)."""
        started = time.perf_counter()
        backlog = probe.lag()
        deadline = time.monotonic() + timeout
        while (lag := probe.lag()) > 0:
            on_lag(lag, backlog)
            self._check(workers, deadline)
            time.sleep(0.02)
        return backlog, time.perf_counter() - started

    @staticmethod
    def _check(workers: list[WorkerProcess], deadline: float) -> None:
        for worker in workers:
            if worker.process is not None and worker.process.poll() is not None:
                raise SystemExit(f"a worker exited: {worker.log_path}\n{worker.tail()}")
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not catch up in time")


class Failure:
    """Kills the first replica of each shard at the group's first commit (so with work still
    to do), restarts them when half of what was left then is stored."""

    def __init__(self, cluster: ClickHouseCluster) -> None:
        self.victims = [shard[0] for shard in cluster.servers]
        self.killed = self.restarted = False
        self.lag_at_kill = 0

    def __call__(self, lag: int, backlog: int) -> None:
        if not self.killed and lag < backlog:
            for server in self.victims:
                server.kill()
            self.killed, self.lag_at_kill = True, lag
            print(f"killed {len(self.victims)} replicas with {lag:,} messages to go", flush=True)
        elif self.killed and not self.restarted and lag <= self.lag_at_kill // 2:
            for server in self.victims:
                server.start(timeout=60)
            self.restarted = True
            print(f"restarted them with {lag:,} messages to go", flush=True)


def stored_events(url: str) -> int:
    wh = open_warehouse(url)
    try:
        return int(wh.query_df("SELECT uniqExact(event_id) AS n FROM $db.events")["n"].iloc[0])
    finally:
        wh.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="saylau-cluster-bench-"))
    registry_csv = folder / "stations.csv"
    try:
        with EmbeddedBroker(free_port(), log_path=None) as broker:
            ensure_topics(broker.bootstrap, topic_names(PREFIX), partitions=4)
            sent = send_day(broker.bootstrap, args.stations, registry_csv)
            print(f"sent {sent:,} messages of a {args.stations:,}-station day", flush=True)

            single = ClickHouseServer(folder / "single").start()
            try:
                single_url = single.url.replace("/saylau", "/bench_single")
                run = Run(broker.bootstrap, f"single-{uuid.uuid4().hex[:6]}",
                          [single_url] * WORKERS, folder / "single-run", registry_csv)
                single_events, single_s = run.go()
                single_stored = stored_events(single_url)
            finally:
                single.stop()
            print(f"single server: {single_events:,} messages in {single_s:.1f} s", flush=True)

            with ClickHouseCluster(folder / "cluster") as cluster:
                failure = Failure(cluster)
                urls = [cluster.url("bench_cluster", first=victim) for victim in failure.victims]
                run = Run(broker.bootstrap, f"cluster-{uuid.uuid4().hex[:6]}", urls,
                          folder / "cluster-run", registry_csv)
                events, seconds = run.go(failure)
                if not failure.restarted:
                    for server in failure.victims:
                        server.start(timeout=60)
                unsynced = stored_events(cluster.url("bench_cluster"))
                cluster.sync("bench_cluster")
                cluster_stored = stored_events(cluster.url("bench_cluster"))
                print(f"events read at once after the run: {unsynced:,}; after the replicas "
                      f"synced: {cluster_stored:,}; single server: {single_stored:,}",
                      flush=True)
            print(f"cluster: {events:,} messages in {seconds:.1f} s", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"cluster_bench shards=2 replicas=2 events={events} eps={events / seconds:.0f} "
          f"single_server_eps={single_events / single_s:.0f} "
          f"killed={len(failure.victims) if failure.killed else 0} "
          f"lost={single_stored - cluster_stored} wall_ms={seconds * 1000:.0f} "
          f"single_wall_ms={single_s * 1000:.0f}")


if __name__ == "__main__":
    main()
