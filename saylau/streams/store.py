"""What the worker does with a batch once read: validate, store, judge alerts, publish
the rejects and alerts. Blocking.

``BatchStore`` is the one place that touches the warehouse. It runs on a thread of the
worker (``saylau.streams.pipeline.ThreadedStore``), or in a store process of its own
(``saylau.streams.store_process``), which runs ``insert``'s two halves on two threads: the next
batch is prepared (validated, no I/O) while one is written. Writes and judgements come one
at a time, in the order the batches were read, and what the store hands back is plain data
(counts), so it crosses a process boundary unchanged.

It publishes rejects and alerts itself, with a producer of its own, so that this work is
done where the rest of the batch's work is. ``judge`` returns only once they are delivered:
the agent acknowledges a batch after its judgement, so an acknowledged batch's rejects and
alerts are on their topics (a crash before the acknowledgement sends them again).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import logging
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from kafka.producer.future import FutureRecordMetadata

from saylau.core.contract import ALERTS_TOPIC, REJECTED_TOPIC, Event
from saylau.core.rules import Ballot
from saylau.core.settings import Settings
from saylau.core.validation import DayWindow, station_index
from saylau.kafka.producer import EventProducer
from saylau.streams.alerting import AlertMonitor, Thresholds
from saylau.streams.batch import BatchResult, Message, SeenIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse.client import Warehouse

log = logging.getLogger(__name__)

KafkaMessage = tuple[str, bytes]  # (key, value), ready to publish
PUBLISH_TIMEOUT_SECONDS = 30.0
GC_THRESHOLDS = (50_000, 20, 100)  # Python's defaults: (700, 10, 10)


@dataclass
class Stored:
    """One stored batch, counted."""

    kinds: dict[str, int] = field(default_factory=dict)  # events stored, by kind
    reasons: dict[str, int] = field(default_factory=dict)  # messages rejected, by reason
    duplicates: int = 0
    seconds: float = 0.0  # validating and inserting


@dataclass
class Prepared:
    """A batch validated and ready to write."""

    result: BatchResult
    seconds: float  # validating it


class PublishError(RuntimeError):
    pass


class Publisher:
    """Rejects and alerts to their topics (kafka-python: blocking, like the rest here)."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.rejected_topic = f"{prefix}.{REJECTED_TOPIC}"
        self.alerts_topic = f"{prefix}.{ALERTS_TOPIC}"
        self._bootstrap, self._prefix = bootstrap, prefix
        self._producer = EventProducer(bootstrap, prefix)
        self._sent: list[tuple[FutureRecordMetadata, str, str, bytes]] = []

    def send(self, topic: str, messages: list[KafkaMessage]) -> None:
        for key, value in messages:
            self._send_one(topic, key, value)

    def _send_one(self, topic: str, key: str, value: bytes) -> None:
        """Sent, and kept with what was sent, so that a failed message can go again."""
        self._sent.append((self._producer.send_raw(topic, key, value), topic, key, value))

    def flush(self) -> None:
        """Until every message sent is delivered; raises if one could not be.

        A broker that restarted empty (the embedded one keeps messages in memory) no longer
        knows this producer's id, and kafka-python's idempotent producer then fails every
        send with UnknownProducerIdError for good: so the failed messages are sent once
        more from a new producer before giving up (alerts and rejects are idempotent
        downstream, by their ids)."""
        failed = self._flush()
        if failed:
            log.warning("%d of the worker's messages not delivered (%r); sending them again "
                        "from a new producer", len(failed), failed[0][0].exception)
            with contextlib.suppress(Exception):
                self._producer.close()
            self._producer = EventProducer(self._bootstrap, self._prefix)
            self.send_all(failed)
            failed = self._flush()
        if failed:
            raise PublishError(f"{len(failed)} messages not delivered: "
                               f"{failed[0][0].exception!r}")

    def send_all(self, sent: list[tuple[FutureRecordMetadata, str, str, bytes]]) -> None:
        for _, topic, key, value in sent:
            self._send_one(topic, key, value)

    def _flush(self) -> list[tuple[FutureRecordMetadata, str, str, bytes]]:
        self._producer.flush(PUBLISH_TIMEOUT_SECONDS)
        sent, self._sent = self._sent, []
        return [entry for entry in sent if entry[0].failed() or not entry[0].is_done]

    def close(self) -> None:
        self._producer.close()


class BatchStore:
    """Validate and insert batches; judge the alerts the inserted batches could change."""

    def __init__(self, settings: Settings, warehouse: Warehouse, registry: pd.DataFrame,
                 publisher: Publisher) -> None:
        election = settings.election()
        self.window = DayWindow.for_election(election.date, election.tz)
        self.ballot = Ballot.of(election)
        self.stations = station_index(registry)
        self.recent = SeenIds()
        self.sink = WarehouseSink(warehouse)
        self.monitor = AlertMonitor(warehouse, registry, election.opens_at, Thresholds(
            settings.alert_burst_incidents, settings.alert_turnout_jump_pct,
            settings.alert_uncovered_minutes))
        self.publisher = publisher
        self._unjudged: deque[list[Event]] = deque()  # events of batches stored, not judged

    def insert(self, messages: Sequence[Message]) -> Stored:
        return self.write(self.prepare(messages))

    def prepare(self, messages: Sequence[Message]) -> Prepared:
        """Validate, de-duplicate and enrich: the first half of ``insert``, no I/O."""
        started = time.perf_counter()
        result = process_batch(messages, self.stations, self.window, self.recent,
                               dt.datetime.now(dt.UTC), self.ballot)
        # Seen from now on, so that the next batch, prepared while this one is written,
        # holds resent copies of its events as suspects: by the time that batch is written
        # (``write``, in order) this one is in the warehouse, where ``settle`` finds them.
        # Should the write fail, the process stops and this memory with it.
        self.recent.add_all(result.event_ids)
        return Prepared(result, time.perf_counter() - started)

    def write(self, prepared: Prepared) -> Stored:
        """Insert a prepared batch and publish its rejects: the second half of ``insert``."""
        started = time.perf_counter()
        result = prepared.result
        self.sink.settle(result)
        self.sink.write(result)
        self.publisher.send(self.publisher.rejected_topic,
                            kafka_messages(result.rejects, "source_topic"))
        self._unjudged.append(result.events)
        seconds = prepared.seconds + time.perf_counter() - started
        log.debug("batch: %d stored, %d duplicates dropped, %d rejected (%.0f ms)",
                  len(result.rows), result.duplicates, len(result.rejects), seconds * 1000)
        return Stored(kinds=dict(Counter(row["kind"] for row in result.rows)),
                      reasons=dict(Counter(row["reason"] for row in result.rejects)),
                      duplicates=result.duplicates, seconds=seconds)

    def judge(self, batches: Sequence[Stored]) -> int:
        """Judge the oldest ``len(batches)`` stored batches together; store and publish
        their alerts; return once everything published so far is delivered. Returns the
        number of alert rows."""
        started = time.perf_counter()
        events = [event for _ in batches for event in self._unjudged.popleft()]
        alert_rows = self.monitor.judge(events)
        self.sink.write_alerts(alert_rows)
        self.publisher.send(self.publisher.alerts_topic, kafka_messages(alert_rows, "alert_id"))
        self.publisher.flush()
        log.debug("alerts: %d rows for %d batches (%.0f ms)", len(alert_rows), len(batches),
                  (time.perf_counter() - started) * 1000)
        return len(alert_rows)

    def close(self) -> None:
        """The producer is ours; the warehouse belongs to whoever opened it."""
        self.publisher.close()


def collect_less_often() -> None:
    """For a process that makes objects per message (Faust's, and the store's events).

    With the defaults the cyclic collector ran its passes all the time, each full one
    rescanning the registry and the recent event ids. Set aside what exists now (registry,
    app, store) and collect less often: about 10% more events/s in the worker.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def kafka_messages(rows: list[dict[str, Any]], key: str) -> list[KafkaMessage]:
    return [(str(row[key]), json.dumps(row, default=_iso, ensure_ascii=False).encode())
            for row in rows]


def _iso(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")
