"""The Faust app: thin wiring from Kafka topics to the pure batch processing and the sink."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Mapping
from typing import Any

import faust

from ingest.contract import EVENT_TOPICS, REJECTED_TOPIC
from saylau.settings import Settings
from streams.batch import BatchResult, Message, RecentIds, process_batch
from streams.sink import WarehouseSink
from streams.validation import DayWindow, StationInfo
from warehouse.client import Warehouse

log = logging.getLogger(__name__)


def build_app(settings: Settings, bootstrap: str, warehouse: Warehouse,
              stations: Mapping[str, StationInfo]) -> faust.App:
    rebalance = settings.worker_rebalance_seconds
    app = faust.App(
        settings.worker_group,
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
    )
    prefix = settings.topic_prefix
    source = app.topic(*[f"{prefix}.{name}" for name in EVENT_TOPICS],
                       key_type=bytes, value_type=bytes,
                       key_serializer="raw", value_serializer="raw", allow_empty=True)
    rejected_topic = app.topic(f"{prefix}.{REJECTED_TOPIC}", key_serializer="raw",
                               value_serializer="raw")
    window = DayWindow.for_election(settings.election_date, settings.tz)
    sink = WarehouseSink(warehouse)
    recent = RecentIds()

    @app.agent(source, name="saylau.ingest")
    async def ingest(stream: faust.StreamT) -> None:
        loop = asyncio.get_running_loop()
        batches = stream.take_events(  # type: ignore[attr-defined]
            settings.worker_batch_size, within=settings.worker_batch_seconds)
        async for events in batches:
            messages = [Message(e.message.topic, e.message.partition, e.message.offset,
                                e.value) for e in events]
            result = process_batch(messages, stations, window, recent, dt.datetime.now(dt.UTC))
            # ClickHouse calls block: run them off the event loop.
            await loop.run_in_executor(None, sink.write, result)
            recent.add_all(result.event_ids)
            await _publish_rejections(rejected_topic, result)
            _log_batch(result)

    return app


async def _publish_rejections(topic: Any, result: BatchResult) -> None:
    for row in result.rejects:
        record = {**row, "rejected_at": row["rejected_at"].isoformat()}
        await topic.send(key=row["source_topic"].encode(),
                         value=json.dumps(record, ensure_ascii=False).encode())


def _log_batch(result: BatchResult) -> None:
    log.info("batch: %d events stored, %d duplicates dropped, %d rejected",
             len(result.rows), result.duplicates, len(result.rejects))


def run_worker(app: faust.App, loglevel: str = "info") -> None:
    """Run the app in this (main) thread until SIGINT/SIGTERM, then leave the group cleanly."""
    worker = faust.Worker(app, loglevel=loglevel, quiet=True, redirect_stdouts=False,
                          override_logging=False)
    try:
        worker.execute_from_commandline()
    except SystemExit as stop:
        if stop.code not in (0, None):
            raise
