"""Ingest gateway benchmark on loopback: open-loop load from 500 observer connections.

Phase 1: a combined 1,000 events/s for --duration s (p50/p99 from the scheduled send time,
so queueing counts). Phase 2: rising rates for --step-seconds each; max_rate is the highest
rate with p99 <= 200 ms and no failed request. Then the worker drains Kafka into a chDB
warehouse and every accepted event_id is looked up there.

    python bench/gateway.py [--clients 500] [--rate 1000] [--duration 60]

Last line: gateway_bench clients=… rate=… requests=… accepted=… in_warehouse=… p50_ms=…
p99_ms=… max_rate=…  (targets on 2 cores: p99 <= 200 ms at 1,000/s, in_warehouse ==
accepted, max_rate >= 2,000/s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from saylau.core.contract import EVENT_TOPICS  # noqa: E402
from saylau.geo.registry import synthetic_registry, write_registry_csv  # noqa: E402
from saylau.geo.roster import save_roster, split_roster  # noqa: E402
from saylau.ingest.gateway.tokens import TokenStore, tokens_path  # noqa: E402
from saylau.kafka.broker import EmbeddedBroker, free_port  # noqa: E402
from saylau.kafka.lag import consumer_lag  # noqa: E402
from saylau.kafka.topics import ensure_topics, topic_names  # noqa: E402

PEPPER = "bench-pepper-" + uuid.uuid4().hex
P99_TARGET_MS = 200.0


class Observer:
    """One keep-alive HTTP/1.1 connection, sending when the schedule says (open loop)."""

    def __init__(self, number: int, token: str, station: str, port: int) -> None:
        self.observer_id = f"obs-{number}"
        self.token, self.station, self.port = token, station, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    def _request(self) -> tuple[str, bytes]:
        event_id = str(uuid.uuid4())
        body = json.dumps({
            "schema": "saylau.event/1", "event_id": event_id, "kind": "turnout",
            "station_id": self.station, "observer_id": self.observer_id,
            "occurred_at": "2026-03-15T12:00:00+05:00",
            "ballots_issued": random.randint(0, 50)}).encode()
        head = (f"POST /v1/events HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer "
                f"{self.token}\r\nContent-Type: application/json\r\nContent-Length: "
                f"{len(body)}\r\n\r\n").encode()
        return event_id, head + body

    async def send(self) -> tuple[int, str]:
        assert self.reader is not None and self.writer is not None
        event_id, request = self._request()
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:  # the server closed an idle keep-alive connection: once more
            await self.connect()
            assert self.reader is not None and self.writer is not None
            self.writer.write(request)
            status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        await self.reader.readexactly(length)
        return int(status_line.split()[1]), event_id

    async def run(self, rate: float, until: float, results: list) -> None:
        scheduled = time.perf_counter() + random.expovariate(rate)
        while scheduled < until:
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                status, event_id = await self.send()
            except (OSError, ValueError, IndexError, asyncio.IncompleteReadError):
                status, event_id = 0, ""
                await self.connect()
            results.append((time.perf_counter() - scheduled, status, event_id))
            scheduled += random.expovariate(rate)


async def load(observers: list[Observer], rate: float, seconds: float) -> list:
    results: list = []
    until = time.perf_counter() + seconds
    await asyncio.gather(*(o.run(rate / len(observers), until, results) for o in observers))
    return results


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else 0.0


def summary(results: list) -> tuple[float, float, int, list[str]]:
    latencies = [latency for latency, _, _ in results]
    accepted = [event_id for _, status, event_id in results if status == 202]
    failed = sum(1 for _, status, _ in results if status != 202)
    return percentile(latencies, 0.5), percentile(latencies, 0.99), failed, accepted


async def bench(args: argparse.Namespace, port: int, tokens: list[str], stations: list[str]
                ) -> tuple[list, float, list[str]]:
    observers = [Observer(i, token, stations[i % len(stations)], port)
                 for i, token in enumerate(tokens)]
    await asyncio.gather(*(o.connect() for o in observers))
    main = await load(observers, args.rate, args.duration)
    p50, p99, failed, accepted = summary(main)
    print(f"phase 1: rate={args.rate:.0f}/s requests={len(main)} p50_ms={p50:.1f} "
          f"p99_ms={p99:.1f} failed={failed}", flush=True)
    max_rate, all_accepted = 0.0, list(accepted)
    rate = args.rate
    while rate <= args.max_probe:
        results = await load(observers, rate, args.step_seconds)
        p50, p99, failed, accepted = summary(results)
        all_accepted.extend(accepted)
        achieved = len(results) / args.step_seconds
        print(f"step: rate={rate:.0f}/s achieved={achieved:.0f}/s p50_ms={p50:.1f} "
              f"p99_ms={p99:.1f} failed={failed}", flush=True)
        if p99 > P99_TARGET_MS or failed or achieved < 0.9 * rate:
            break
        max_rate = rate
        rate += args.step
    for observer in observers:
        if observer.writer is not None:
            observer.writer.close()
    return main, max_rate, all_accepted


def place_observers(folder: Path, stations: list[str], clients: int) -> None:
    """The roster: the gateway takes an observer's reports only for their own station."""
    numbers = range(clients)
    frame = pd.DataFrame({
        "observer_id": [f"obs-{i}" for i in numbers], "name": [f"Observer {i}" for i in numbers],
        "phone": ["+7 700 000 0000"] * clients, "home_region": [""] * clients,
        "organisation": [""] * clients,
        "assigned_station": [stations[i % len(stations)] for i in numbers]})
    save_roster(split_roster(frame), folder / "roster")


def wait_http(port: int, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("gateway did not start")


def pending(port: int) -> int:
    import httpx

    return int(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()
               ["journal_pending"])


def count_in_warehouse(env: dict[str, str], accepted: list[str], log: Path) -> int:
    worker = subprocess.Popen([sys.executable, "-m", "saylau", "worker"], env=env,
                              stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        topics = [f"{env['SAYLAU_TOPIC_PREFIX']}.{name}" for name in EVENT_TOPICS]
        time.sleep(8)  # join the group
        deadline = time.monotonic() + 600
        while consumer_lag(env["SAYLAU_KAFKA_BOOTSTRAP"], env["SAYLAU_WORKER_GROUP"],
                           topics) > 0 and time.monotonic() < deadline:
            time.sleep(1)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
    from saylau.warehouse.client import open_warehouse

    warehouse = open_warehouse(env["SAYLAU_WAREHOUSE"])
    try:
        frame = warehouse.query_df("SELECT DISTINCT event_id FROM $db.events")
    finally:
        warehouse.close()
    return len(set(accepted) & set(frame["event_id"].astype(str)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--step", type=float, default=500.0)
    parser.add_argument("--step-seconds", type=float, default=10.0)
    parser.add_argument("--max-probe", type=float, default=6000.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    registry = synthetic_registry(n_stations=2000, total_voters=2_000_000, seed=11)
    write_registry_csv(registry, folder / "stations.csv")
    store = TokenStore(tokens_path(folder), PEPPER)
    tokens = [store.issue(f"obs-{i}").token for i in range(args.clients)]
    store.close()
    place_observers(folder, [str(s) for s in registry["station_id"]], args.clients)
    port = free_port()
    with EmbeddedBroker(free_port(), log_path=folder / "broker.log") as broker:
        ensure_topics(broker.bootstrap, topic_names("bench"), partitions=4)
        env = {**os.environ, "SAYLAU_KAFKA_BOOTSTRAP": broker.bootstrap,
               "SAYLAU_TOPIC_PREFIX": "bench", "SAYLAU_DATA_DIR": str(folder),
               "SAYLAU_REGISTRY": str(folder / "stations.csv"),
               "SAYLAU_GATEWAY_TOKEN_PEPPER": PEPPER, "SAYLAU_LOG_LEVEL": "warning",
               "SAYLAU_WAREHOUSE": f"chdb://{folder}/warehouse",
               "SAYLAU_WORKER_GROUP": "bench-worker"}
        gateway = subprocess.Popen([sys.executable, "-m", "saylau", "gateway", "--port",
                                    str(port)], env=env, stdout=(folder / "gateway.log").open(
                                        "ab"), stderr=subprocess.STDOUT)
        try:
            wait_http(port)
            main_results, max_rate, accepted = asyncio.run(
                bench(args, port, tokens, [str(s) for s in registry["station_id"]]))
            while pending(port):
                time.sleep(0.5)
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(30)
        in_warehouse = count_in_warehouse(env, accepted, folder / "worker.log")
    p50, p99, _, _ = summary(main_results)
    print(f"gateway_bench clients={args.clients} rate={args.rate:.0f} "
          f"requests={len(main_results)} accepted={len(accepted)} in_warehouse={in_warehouse} "
          f"p50_ms={p50:.1f} p99_ms={p99:.1f} max_rate={max_rate:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
