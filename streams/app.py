"""The Faust app: thin wiring from Kafka topics to the pure batch processing and the sink."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

import faust
import pandas as pd
import uvloop

from ingest.contract import ALERTS_TOPIC, EVENT_TOPICS, REJECTED_TOPIC
from saylau.settings import Settings
from streams import transport
from streams.alerting import AlertMonitor, Thresholds
from streams.batch import BatchResult, Message, RecentIds, process_batch
from streams.metrics import WorkerMetrics, start_worker_metrics
from streams.pipeline import Pending, StorePipeline
from streams.rules import Ballot
from streams.sink import WarehouseSink
from streams.validation import DayWindow, station_index
from warehouse.client import Warehouse

log = logging.getLogger(__name__)

GC_THRESHOLDS = (50_000, 20, 100)  # Python's defaults: (700, 10, 10)


def faust_app(settings: Settings, bootstrap: str) -> faust.App:
    """The Faust app with the settings this broker and this workload need."""
    rebalance = settings.worker_rebalance_seconds
    return transport.App(
        settings.worker_group,
        fetch_wait_ms=settings.worker_fetch_wait_ms,
        broker=f"kafka://{bootstrap}",
        datadir=str(settings.data_dir / "faust"),
        store="memory://",
        web_enabled=False,
        # Topics are created by `saylau` at start-up; Faust's leader topic is not needed.
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_rebalance_timeout=rebalance,
        broker_session_timeout=max(rebalance * 2, 6.0),
        broker_heartbeat_interval=1.0,
        broker_commit_interval=1.0,
        producer_acks=-1,
        broker_max_poll_records=settings.worker_batch_size,
        # Room for a few batches between the fetcher and `take`: when the buffer nears full,
        # Faust stops fetching the partition until it drains (Faust's 4,096 is less than one
        # batch of 5,000). Reading alone, measured here: 4,096 → 17,600-19,000 events/s,
        # 4 batches → 19,900-20,100.
        stream_buffer_maxsize=4 * settings.worker_batch_size,
    )


class BatchStore:
    """Blocking: insert a batch; judge the alerts some batches could change. Runs on the
    store pipeline's thread, in the order the batches were read."""

    def __init__(self, warehouse: Warehouse, registry: pd.DataFrame, polls_open: dt.datetime,
                 thresholds: Thresholds, metrics: WorkerMetrics | None = None) -> None:
        self.sink = WarehouseSink(warehouse)
        self.monitor = AlertMonitor(warehouse, registry, polls_open, thresholds)
        self.metrics = metrics

    def insert(self, result: BatchResult) -> None:
        started = time.perf_counter()
        self.sink.write(result)
        if self.metrics is not None:
            self.metrics.record(result, time.perf_counter() - started)
        log.debug("batch: %d stored, %d duplicates dropped, %d rejected (%.0f ms)",
                  len(result.rows), result.duplicates, len(result.rejects),
                  (time.perf_counter() - started) * 1000)

    def judge(self, results: list[BatchResult]) -> list[dict[str, Any]]:
        started = time.perf_counter()
        alert_rows = self.monitor.judge([event for result in results for event in result.events])
        self.sink.write_alerts(alert_rows)
        log.debug("alerts: %d rows for %d batches (%.0f ms)", len(alert_rows), len(results),
                  (time.perf_counter() - started) * 1000)
        return alert_rows


def build_app(settings: Settings, bootstrap: str, warehouse: Warehouse,
              registry: pd.DataFrame) -> faust.App:
    app = faust_app(settings, bootstrap)
    prefix = settings.topic_prefix
    source = app.topic(*[f"{prefix}.{name}" for name in EVENT_TOPICS],
                       key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw", allow_empty=True)
    rejected_topic = app.topic(f"{prefix}.{REJECTED_TOPIC}", key_serializer="raw",
                               value_serializer="raw")
    alerts_topic = app.topic(f"{prefix}.{ALERTS_TOPIC}", key_serializer="raw",
                             value_serializer="raw")
    election = settings.election()
    window = DayWindow.for_election(election.date, election.tz)
    ballot = Ballot.of(election)
    stations = station_index(registry)
    metrics = start_worker_metrics(settings, bootstrap)  # Prometheus; None when the port is 0
    store = BatchStore(warehouse, registry, election.opens_at, Thresholds(
        settings.alert_burst_incidents, settings.alert_turnout_jump_pct,
        settings.alert_uncovered_minutes), metrics)
    recent = RecentIds()

    @app.agent(source, name="saylau.ingest")
    async def ingest(stream: faust.StreamT) -> None:
        async def finish(stored: list[Pending[BatchResult]],
                         alert_rows: list[dict[str, Any]]) -> None:
            for pending in stored:  # stored and judged: now the offsets may be committed
                for event in pending.events:
                    await stream.ack(event)
                await _publish(rejected_topic, pending.result.rejects, "source_topic")
            await _publish(alerts_topic, alert_rows, "alert_id")

        pipeline: StorePipeline[BatchResult, list[dict[str, Any]]] = StorePipeline(
            store.insert, store.judge, finish, depth=settings.worker_pipeline_depth)
        async with pipeline:
            # noack_take: Faust leaves acknowledging to us, so a batch is acked once stored.
            batches = stream.noack_take(  # type: ignore[attr-defined]
                settings.worker_batch_size, within=settings.worker_batch_seconds)
            async for events in batches:
                result = process(events)
                recent.add_all(result.event_ids)  # before storing: the next batch is read now
                await pipeline.submit(events, result)

    def process(events: Sequence[Any]) -> BatchResult:
        messages = [Message(e.message.topic, e.message.partition, e.message.offset, e.value)
                    for e in events]
        return process_batch(messages, stations, window, recent, dt.datetime.now(dt.UTC),
                             ballot)

    return app


async def _publish(topic: Any, rows: list[dict[str, Any]], key: str) -> None:
    for row in rows:
        await topic.send(key=str(row[key]).encode(),
                         value=json.dumps(row, default=_iso, ensure_ascii=False).encode())


def _iso(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def run_worker(app: faust.App, loglevel: str = "info") -> None:
    """Run the app in this (main) thread until SIGINT/SIGTERM, then leave the group cleanly.

    uvloop: Faust hands every message through the event loop a few times, so a faster
    loop is most of the per-event cost (about 12k → 15k events/s measured here).
    """
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    # Faust makes several objects per message, so the cyclic collector ran its passes all
    # the time, each full one rescanning the registry and the recent event ids. Set aside
    # what exists now (registry, app) and collect less often: about 10% more events/s.
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False,
                          override_logging=False)
    try:
        worker.execute_from_commandline()
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise
