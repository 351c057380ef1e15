"""Day benchmark: a whole simulated day through `saylau worker`, in time order and shuffled.

    python bench/day.py [--stations 1000000] [--partitions 8] [--latency-seconds 30]
                        [--timeout SECONDS] [--keep DIR]

The simulator's day for ``--stations`` stations (about 18 messages a station, transport
noise included: 1,000,000 stations are about 18M messages) is spooled to a file once, then
run twice: in the order the simulator sends it, then shuffled (a late report, a resend of an
event hours old, ids long gone from any window). Each run has a fresh embedded broker (it
keeps messages in memory), a fresh consumer group and a fresh database on one real
clickhouse-server, and one `saylau worker` (its store in a child process) reading the whole
day as a backlog. Measured in each run:

- peak resident memory of the worker and of its store process (``/proc``, every 0.5 s),
- throughput per tenth of the day: events queryable (``count()`` of the archive, every
  0.1 s) per tenth of the final count, divided by the time that tenth took, from the first
  stored event on (start-up and the group join left out),
- p95 event -> queryable at the end of the day: once the backlog is read, the same worker
  gets a steady 1,000 new events/s for ``--latency-seconds`` (as bench/pipeline.py does),
- exactness: the topics are replayed (``saylau.streams.replay`` from Kafka) into another
  fresh database, and every table is compared with the worker's (``tests/integration/
  snapshot.py``'s tables, by a count and a sum of row hashes computed in the server, so the
  comparison costs no memory here at any size).

Targets (issue #26): worker + store peak RSS <= 1500 MB at 1,000,000 stations,
eps_last_tenth >= 0.8 x eps_first_tenth in both orders, p95 <= 2 s.
Each order prints a ``day_run order=… …`` line; the last line, worst of the two orders
(highest RSS, lowest last tenth, highest p95):
``day_bench stations=… messages=… worker_rss_mb=… store_rss_mb=… eps_first_tenth=…
eps_last_tenth=… p95_latency_s=…``.
"""

from __future__ import annotations

import argparse
import mmap
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.pipeline import VisibilityProbe, realistic_events, send_paced  # noqa: E402
from saylau.core.contract import EVENT_TOPICS  # noqa: E402
from saylau.core.election import Election  # noqa: E402
from saylau.geo.registry import synthetic_registry, write_registry_csv  # noqa: E402
from saylau.ingest.simulator import Progress, Scenario, simulate_day  # noqa: E402
from saylau.kafka.broker import EmbeddedBroker, free_port  # noqa: E402
from saylau.kafka.lag import LagProbe  # noqa: E402
from saylau.kafka.producer import EventProducer  # noqa: E402
from saylau.kafka.topics import ensure_topics, topic_names  # noqa: E402
from saylau.streams.alerting import Thresholds  # noqa: E402
from saylau.streams.replay import KafkaSource, Replayer  # noqa: E402
from saylau.warehouse.client import Warehouse, create_schema, open_warehouse  # noqa: E402
from saylau.warehouse.queries import load_stations  # noqa: E402
from tests.integration.snapshot import TABLES  # noqa: E402
from tests.integration.worker import WorkerProcess, child_processes  # noqa: E402
from tests.support.clickhouse_server import ClickHouseServer, clickhouse_server_available  # noqa: E402

VOTERS_PER_STATION = 1200
PREFIX = "day"
COUNT_EVERY = 0.1  # seconds between counts of the archive
RSS_EVERY = 0.5  # seconds between memory samples
LATENCY_RATE = 1000  # events/s at the end of the day
LOGS = Path(os.environ.get("BENCH_LOG_DIR", Path(tempfile.gettempdir()) / "saylau-day-logs"))


class Spool:
    """The day's messages in a file, read back in any order without holding them: at
    1,000,000 stations the day is about 18M messages, several GB as Python bytes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.suffixes: list[str] = []
        self.lengths = self.starts = np.zeros(0, dtype=np.int64)
        self.codes = np.zeros(0, dtype=np.int8)

    def write(self, day, bar: Progress) -> None:
        suffixes: dict[str, int] = {}
        self.lengths = np.zeros(len(day), dtype=np.int64)
        self.codes = np.zeros(len(day), dtype=np.int8)
        with open(self.path, "wb") as spool:
            for number, message in enumerate(day.messages()):
                key = message.key.encode()
                record = len(key).to_bytes(2, "little") + key + message.value
                spool.write(record)
                self.lengths[number] = len(record)
                self.codes[number] = suffixes.setdefault(message.topic_suffix, len(suffixes))
                bar(1)
        self.starts = np.concatenate([[0], np.cumsum(self.lengths)[:-1]])
        self.suffixes = list(suffixes)

    def __len__(self) -> int:
        return len(self.lengths)

    def send(self, bootstrap: str, prefix: str, order: np.ndarray, bar: Progress) -> None:
        with open(self.path, "rb") as spool, \
                mmap.mmap(spool.fileno(), 0, access=mmap.ACCESS_READ) as data, \
                EventProducer(bootstrap, prefix) as producer:
            for index in order:
                start = int(self.starts[index])
                record = data[start:start + int(self.lengths[index])]
                size = int.from_bytes(record[:2], "little")
                producer.send_raw(f"{prefix}.{self.suffixes[self.codes[index]]}",
                                  record[2:2 + size].decode(), record[2 + size:])
                bar(1)


class MemoryPeaks(threading.Thread):
    """Peak VmRSS of a process and (summed) of its children, from /proc."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.worker_kb = self.children_kb = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(RSS_EVERY):
            self.worker_kb = max(self.worker_kb, rss_kb(self.pid))
            self.children_kb = max(self.children_kb, sum(
                rss_kb(child) for child in child_processes(self.pid)))

    def stop(self) -> None:
        self.stopped.set()
        self.join(5)


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class RunFigures:
    order: str
    worker_rss_mb: float
    store_rss_mb: float
    tenths: list[float]  # events/s of each tenth of the day
    p95: float
    seconds: float  # reading the backlog, from the first stored event

    def line(self) -> str:
        return (f"day_run order={self.order} worker_rss_mb={self.worker_rss_mb:.0f} "
                f"store_rss_mb={self.store_rss_mb:.0f} eps_first_tenth={self.tenths[0]:.0f} "
                f"eps_last_tenth={self.tenths[-1]:.0f} p95_latency_s={self.p95:.2f}")


def archive_count(reader: Warehouse) -> int:
    try:
        return int(reader.query_df("SELECT count() AS n FROM $db.events")["n"].iloc[0])
    except Exception:  # noqa: BLE001 - the worker has not created the database yet
        return 0


def read_backlog(worker: WorkerProcess, url: str, group: str,
                 timeout: float) -> list[tuple[float, int]]:
    """(time, events in the archive) until the group has committed everything."""
    topics = [f"{PREFIX}.{topic}" for topic in EVENT_TOPICS]
    samples: list[tuple[float, int]] = []
    deadline = time.monotonic() + timeout
    reader = open_warehouse(url)
    last_lag = 0.0
    try:
        with LagProbe(worker.env["SAYLAU_KAFKA_BOOTSTRAP"], group, topics) as probe:
            lag = -1
            while True:
                assert worker.process is not None
                if worker.process.poll() is not None:
                    raise RuntimeError(f"the worker exited:\n{worker.tail()}")
                if time.monotonic() - last_lag > 1.0:  # the lag first: committed, then stored
                    lag, last_lag = probe.lag(), time.monotonic()
                samples.append((time.perf_counter(), archive_count(reader)))
                if lag == 0 and samples[-1][1] > 0:
                    return samples
                if time.monotonic() > deadline:
                    raise RuntimeError(f"still {lag} messages behind after {timeout} s")
                time.sleep(COUNT_EVERY)
    finally:
        reader.close()


def tenths(samples: list[tuple[float, int]]) -> tuple[list[float], float]:
    """Events/s of each tenth of the final count, from the first stored event; and the
    seconds from there to the end. Times in between samples are interpolated."""
    times = np.array([t for t, _ in samples])
    counts = np.array([n for _, n in samples], dtype=float)
    first = int(np.argmax(counts > 0))
    times, counts = times[first:], counts[first:]
    final = counts[-1]
    end = times[int(np.argmax(counts >= final))]
    targets = counts[0] + (final - counts[0]) * np.arange(11) / 10
    # np.interp wants rising x: a count can stay the same for several samples.
    rising = np.concatenate([[True], np.diff(counts) > 0])
    at = np.interp(targets, counts[rising], times[rising])
    at[-1] = end
    spans = np.maximum(np.diff(at), COUNT_EVERY / 10)
    return list((final - counts[0]) / 10 / spans), float(end - times[0])


def run_order(order: str, spool: Spool, permutation: np.ndarray, registry: pd.DataFrame,
              server: ClickHouseServer, folder: Path, registry_csv: Path,
              args: argparse.Namespace) -> RunFigures:
    name = f"{order}_{uuid.uuid4().hex[:6]}"
    url = server.url.replace("/saylau", f"/{name}")
    with EmbeddedBroker(free_port(), log_path=None) as broker:
        ensure_topics(broker.bootstrap, topic_names(PREFIX), args.partitions)
        bar = Progress(len(spool), f"send ({order})")
        spool.send(broker.bootstrap, PREFIX, permutation, bar)
        bar.close()
        data = folder / name
        data.mkdir()
        env = {"SAYLAU_KAFKA_BOOTSTRAP": broker.bootstrap, "SAYLAU_TOPIC_PREFIX": PREFIX,
               "SAYLAU_WORKER_GROUP": name, "SAYLAU_WAREHOUSE": url,
               "SAYLAU_DATA_DIR": str(data), "SAYLAU_REGISTRY": str(registry_csv),
               "SAYLAU_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warning")}
        with WorkerProcess(env, LOGS / f"{order}.log") as worker:
            assert worker.process is not None
            memory = MemoryPeaks(worker.process.pid)
            memory.start()
            samples = read_backlog(worker, url, name, args.timeout)
            per_tenth, seconds = tenths(samples)
            print(f"{order}: {samples[-1][1]:,} events queryable in {seconds:.1f} s; "
                  f"events/s per tenth of the day: "
                  f"{', '.join(f'{eps:,.0f}' for eps in per_tenth)}", flush=True)
            p95 = latency(broker.bootstrap, url, registry, args.latency_seconds, worker)
            memory.stop()
            assert worker.stop(120) == 0
        check_against_replay(broker.bootstrap, url, server, registry, order)
    return RunFigures(order, memory.worker_kb / 1024, memory.children_kb / 1024, per_tenth,
                      p95, seconds)


def latency(bootstrap: str, url: str, registry: pd.DataFrame, seconds: int,
            worker: WorkerProcess) -> float:
    """p95 seconds from send to queryable at a steady rate, once the day is read."""
    events = realistic_events(registry, seconds * LATENCY_RATE, seed=99)
    probe = VisibilityProbe(url, pd.Timestamp.now(tz="UTC").to_pydatetime()
                            - pd.Timedelta(seconds=1))
    probe.start()
    with EventProducer(bootstrap, PREFIX) as producer:
        sent = send_paced(producer, PREFIX, events, LATENCY_RATE)
    probe.wait_for(set(sent), timeout=120)
    probe.stop()
    seen = [probe.first_seen[event_id] - at for event_id, at in sent.items()
            if event_id in probe.first_seen]
    missing = len(sent) - len(seen)
    if missing:
        raise RuntimeError(f"{missing} of {len(sent)} latency events never queryable:\n"
                           f"{worker.tail()}")
    p95 = float(np.percentile(seen, 95))
    print(f"latency at {LATENCY_RATE:,} events/s after the day: p95 {p95:.2f} s over "
          f"{len(seen):,} events", flush=True)
    return p95


def check_against_replay(bootstrap: str, url: str, server: ClickHouseServer,
                         registry: pd.DataFrame, order: str) -> None:
    """Replay the topics into a fresh database; every table must equal the worker's."""
    replay_url = server.url.replace("/saylau", f"/replay_{uuid.uuid4().hex[:6]}")
    warehouse = open_warehouse(replay_url)
    source = KafkaSource(bootstrap, PREFIX)
    started = time.perf_counter()
    try:
        create_schema(warehouse)
        load_stations(warehouse, registry)
        bar = Progress(source.total, f"replay ({order})")
        counts = Replayer(warehouse, registry, Election(), Thresholds(),
                          judge_every=1_000_000).replay(source.batches(), bar)
        bar.close()
    finally:
        source.close()
        warehouse.close()
    live, replayed = fingerprints(url), fingerprints(replay_url)
    differing = [table for table in TABLES if live[table] != replayed[table]]
    if differing:
        raise RuntimeError(f"{order}: the worker's tables differ from the replay's: "
                           + ", ".join(f"{t} {live[t]} != {replayed[t]}" for t in differing))
    print(f"{order}: every table equals a replay of the same topics ({counts}; "
          f"replayed in {time.perf_counter() - started:.1f} s)", flush=True)


def fingerprints(url: str) -> dict[str, tuple[int, int]]:
    """(rows, sum of row hashes) of each table as the snapshot of the tests reads it."""
    warehouse = open_warehouse(url)
    try:
        found = {}
        for table, sql in TABLES.items():
            columns = warehouse.query_df(f"SELECT * FROM ({sql}) LIMIT 0").columns
            row = ", ".join(f"toString({column})" for column in columns)
            # Aliases no table uses: 18.16 resolves an outer alias inside the subquery.
            frame = warehouse.query_df(f"SELECT count() AS fp_rows, "
                                       f"sum(cityHash64({row})) AS fp_hash FROM ({sql})")
            found[table] = (int(frame["fp_rows"].iloc[0]), int(frame["fp_hash"].iloc[0]))
        return found
    finally:
        warehouse.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--latency-seconds", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=6 * 3600,
                        help="seconds the worker may take to read one order's day")
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (default: a "
                                                  "temporary folder, removed at the end)")
    args = parser.parse_args()
    if not clickhouse_server_available():
        sys.exit("bench/day.py needs Debian's clickhouse-server (apt-get install "
                 "clickhouse-server)")
    LOGS.mkdir(parents=True, exist_ok=True)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="saylau-day-"))
    folder.mkdir(parents=True, exist_ok=True)
    runs: list[RunFigures] = []
    try:
        registry = synthetic_registry(args.stations, args.stations * VOTERS_PER_STATION,
                                      seed=2026)
        registry_csv = folder / "stations.csv"
        write_registry_csv(registry, registry_csv)
        day = simulate_day(registry, Election(), Scenario(seed=7))
        spool = Spool(folder / "day.spool")
        bar = Progress(len(day), "simulate")
        spool.write(day, bar)
        bar.close()
        del day
        print(f"day: {len(spool):,} messages at {args.stations:,} stations", flush=True)
        server = ClickHouseServer(folder / "clickhouse").start()
        try:
            in_order = np.arange(len(spool))
            shuffled = np.random.default_rng(26).permutation(len(spool))
            for order, permutation in (("time", in_order), ("shuffled", shuffled)):
                runs.append(run_order(order, spool, permutation, registry, server, folder,
                                      registry_csv, args))
                print(runs[-1].line(), flush=True)
        finally:
            server.stop()
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"day_bench stations={args.stations} messages={len(spool)} "
          f"worker_rss_mb={max(r.worker_rss_mb for r in runs):.0f} "
          f"store_rss_mb={max(r.store_rss_mb for r in runs):.0f} "
          f"eps_first_tenth={min(r.tenths[0] for r in runs):.0f} "
          f"eps_last_tenth={min(r.tenths[-1] for r in runs):.0f} "
          f"p95_latency_s={max(r.p95 for r in runs):.2f}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
