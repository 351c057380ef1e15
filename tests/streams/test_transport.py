"""The worker's Kafka transport (saylau/streams/transport.py) on the real broker.

Its consumer waits at most SAYLAU_WORKER_FETCH_WAIT_MS per fetch (Faust hard-codes 1,500 ms,
and the embedded broker holds every fetch of a quiet topic for the whole wait), delivers
each fetched batch in order, and reads a partition again as soon as its stream has room.
bench/pipeline.py measures what these do to latency and throughput.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from kafka import KafkaProducer

from saylau.core.settings import load_settings
from saylau.streams.app import faust_app


def worker_consumer_wait(tmp_path: Path, **overrides: object) -> int:
    settings = load_settings(data_dir=tmp_path, **overrides)
    app = faust_app(settings, "localhost:1")  # nothing connects before start()

    async def create() -> int:
        consumer = app.consumer._thread._create_worker_consumer(app.transport)
        try:
            return int(consumer._fetch_max_wait_ms)
        finally:
            await consumer.stop()

    return asyncio.run(create())


def test_the_fetch_wait_is_the_setting(tmp_path: Path) -> None:
    assert worker_consumer_wait(tmp_path, worker_fetch_wait_ms=123) == 123


def test_the_default_wait_is_short(tmp_path: Path) -> None:
    assert worker_consumer_wait(tmp_path) == 100


READER = Path(__file__).parents[2] / "bench" / "support" / "faust_noop.py"


def test_a_backlog_is_read_in_order_once_and_without_stalls(broker, topic_prefix, tmp_path):
    """Batches of 10 make a stream buffer of 40, so Faust keeps taking partitions out of the
    fetch and putting them back. Each message must still arrive once, in its partition's
    order; and a partition put back is read at once (Faust's getmany left it for up to 1 s,
    which made this backlog take about 20 s instead of 0.2 s)."""
    sent = send_backlog(broker.bootstrap, topic_prefix, 3_000)
    out, log = tmp_path / "read.txt", (tmp_path / "reader.log").open("wb")
    reader = subprocess.Popen([sys.executable, str(READER), broker.bootstrap, topic_prefix,
                               f"{topic_prefix}-reader", "10", "0.2", str(out)],
                              stdout=log, stderr=log)
    try:
        first_read, last_read = lines_read_by(out, sum(sent.values()), reader, timeout=120)
    finally:
        reader.terminate()
        reader.wait(30)
    read: dict[tuple[str, int], list[int]] = {}
    for line in out.read_text().splitlines():
        topic, partition, offset = line.split()
        read.setdefault((topic, int(partition)), []).append(int(offset))
    assert {tp: len(offsets) for tp, offsets in read.items()} == sent
    assert all(offsets == list(range(len(offsets))) for offsets in read.values())
    assert last_read - first_read < 10, f"3,000 events took {last_read - first_read:.0f} s"


def send_backlog(bootstrap: str, prefix: str, count: int) -> dict[tuple[str, int], int]:
    """``count`` events over three topics; how many each partition got."""
    topics = [f"{prefix}.{name}" for name in ("turnout", "incidents", "checkins")]
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    futures = [producer.send(topics[n % 3], key=f"s{n % 97}".encode(), value=b"{}")
               for n in range(count)]
    producer.flush()
    producer.close()
    return dict(Counter((f.get(10).topic, f.get(10).partition) for f in futures))


def lines_read_by(out: Path, total: int, reader: subprocess.Popen[bytes],
                  timeout: float) -> tuple[float, float]:
    """When the first and the last of ``total`` lines appeared in ``out``."""
    deadline = time.monotonic() + timeout
    first, lines = None, 0
    while time.monotonic() < deadline and reader.poll() is None:
        lines = out.read_text().count("\n") if out.exists() else 0
        now = time.monotonic()
        if lines and first is None:
            first = now
        if lines >= total:
            assert first is not None
            return first, now
        time.sleep(0.1)
    raise AssertionError(f"read {lines} of {total} events in {timeout} s "
                         f"(reader exit code {reader.poll()})")
