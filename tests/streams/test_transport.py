"""The worker's Kafka consumer waits at most SAYLAU_WORKER_FETCH_WAIT_MS per fetch.

Faust hard-codes 1,500 ms, and the embedded broker holds every fetch of a quiet topic for
the whole wait; bench/pipeline.py measures what the setting does to latency.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from saylau.settings import load_settings
from streams.app import faust_app


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
