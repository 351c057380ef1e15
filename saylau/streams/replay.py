"""Re-process a whole event stream into a fresh warehouse, exactly as the worker does.

The worker's own pieces do the work — ``process_batch`` (validate, de-duplicate, enrich),
``WarehouseSink`` (insert) and ``AlertMonitor`` (judge alerts after each stored batch) — so
the replayed tables equal the live run's. Only the times of processing differ
(``events.received_at``, ``rejected.rejected_at``, ``alerts.raised_at``/``version``); a
replay from the archive keeps the first two as the live run stored them.

Three sources, each a stream of message batches:
- Kafka, every partition of every event topic from its first offset until a poll finds
  nothing more (kafka-python, manual assignment: no consumer group, nothing committed);
- the warehouse's raw archive: ``events`` (payload unchanged) and ``rejected`` (raw text),
  in the order the live worker received them;
- a file written by ``saylau simulate --output`` (its messages as ``SimulatedMessage``).
"""

from __future__ import annotations

import datetime as dt
import gc
import heapq
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

import pandas as pd
from kafka import KafkaConsumer, TopicPartition

from saylau.core.contract import INTAKE_TOPICS, KIND_TOPIC, Event, Protocol, Turnout
from saylau.core.election import Election
from saylau.core.messages import SimulatedMessage
from saylau.core.rules import Ballot
from saylau.core.validation import DayWindow, station_index
from saylau.streams.alerting import AlertMonitor, Thresholds
from saylau.streams.batch import BatchResult, Message, SeenIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse.client import Warehouse

T = TypeVar("T")
RejectKey = tuple[str, int, int]  # (source_topic, source_partition, source_offset)


class ReplayError(RuntimeError):
    """The replay cannot start or go on; the message says why."""


@dataclass
class ReplayBatch:
    messages: list[Message]
    # From the archive: when the live worker received each event / rejected each message.
    received_at: Mapping[str, dt.datetime] = field(default_factory=dict)
    rejected_at: Mapping[RejectKey, dt.datetime] = field(default_factory=dict)


@dataclass
class ReplayCounts:
    messages: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    alert_rows: int = 0
    insert_seconds: float = 0.0  # in the warehouse sink
    alert_seconds: float = 0.0  # judging alerts (reads the warehouse) and writing them

    def __str__(self) -> str:
        return (f"{self.messages} messages: {self.stored} events stored, {self.duplicates} "
                f"duplicates dropped, {self.rejected} rejected, {self.alert_rows} alert rows")


class Replayer:
    """Feeds batches through the worker's batch path into ``warehouse``."""

    def __init__(self, warehouse: Warehouse, registry: pd.DataFrame, election: Election,
                 thresholds: Thresholds, judge_every: int = 0) -> None:
        self.stations = station_index(registry)
        self.window = DayWindow.for_election(election.date, election.tz)
        self.ballot = Ballot.of(election)
        self.sink = WarehouseSink(warehouse, retries=3)
        self.monitor = AlertMonitor(warehouse, registry, election.opens_at, thresholds)
        # The same bounded filter as the worker's (its suspects are looked up in the warehouse
        # being filled), so a replay of any length uses the same memory for it.
        self.recent = SeenIds()
        # Alerts are judged after every ``judge_every`` messages (0: after every batch, as the
        # worker does). Each judgement reads the history of every station the events touch,
        # so judging less often is much faster; the alerts that hold at the end are the same.
        self.judge_every = judge_every
        self._evidence = AlertEvidence()
        self._unjudged_messages = 0

    def replay(self, batches: Iterable[ReplayBatch],
               progress: Callable[[int], None] | None = None) -> ReplayCounts:
        """Store every batch. Reading and validating run one batch ahead, in a thread, while
        the warehouse inserts and judges alerts (chDB and the server work outside the GIL)."""
        counts = ReplayCounts()
        with cyclic_gc_paused():
            for batch, result in read_ahead(self._processed(batches)):
                self._store(batch, result, counts)
                if progress is not None:
                    progress(len(batch.messages))
            self._judge(counts)
        return counts

    def _processed(self, batches: Iterable[ReplayBatch]) -> Iterator[tuple[ReplayBatch,
                                                                         BatchResult]]:
        for batch in batches:
            result = process_batch(batch.messages, self.stations, self.window, self.recent,
                                   dt.datetime.now(dt.UTC), self.ballot)
            # Remembered at once, not after the store as the worker does: a replay stores
            # every batch it processes, or stops altogether.
            self.recent.add_all(result.event_ids)
            yield batch, result

    def _store(self, batch: ReplayBatch, result: BatchResult, counts: ReplayCounts) -> None:
        started = time.perf_counter()
        self.sink.settle(result)
        _keep_live_times(result.rows, result.rejects, batch)
        self.sink.write(result)
        counts.insert_seconds += time.perf_counter() - started
        counts.messages += len(batch.messages)
        counts.stored += len(result.rows)
        counts.duplicates += result.duplicates
        counts.rejected += len(result.rejects)
        self._evidence.add(result.events)
        self._unjudged_messages += len(batch.messages)
        if self._unjudged_messages >= self.judge_every:
            self._judge(counts)

    def _judge(self, counts: ReplayCounts) -> None:
        started = time.perf_counter()
        alert_rows = self.monitor.judge(self._evidence.events)
        self.sink.write_alerts(alert_rows)
        self._evidence, self._unjudged_messages = AlertEvidence(), 0
        counts.alert_rows += len(alert_rows)
        counts.alert_seconds += time.perf_counter() - started


class AlertEvidence:
    """The events an ``AlertMonitor`` judgement needs. Of protocols it reads only which
    stations they concern, and of turnout reports that and each station's earliest time
    (it judges from there, reading the warehouse), so one protocol per station is kept and
    the earliest turnout report per station; every other event is kept."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._kept: dict[tuple[str, str], int] = {}  # (kind, station) -> index in events

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            if isinstance(event, Turnout | Protocol):
                key = (event.kind, event.station_id)
                index = self._kept.get(key)
                if index is not None:
                    kept = self.events[index]
                    if isinstance(event, Turnout) and event.occurred_at < kept.occurred_at:
                        self.events[index] = event
                    continue
                self._kept[key] = len(self.events)
            self.events.append(event)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off inside the block, as it was after.

    A replay keeps many objects alive for a while (a batch's events and rows, the alert
    evidence), so the collector's full passes, triggered by allocations, rescan them again
    and again: a third of a replay's time on a 1,000,000-event day. The replay makes almost
    no cyclic garbage (measured: about 1,400 unreachable objects after a 300,000-event
    replay with the collector off throughout), and reference counting frees everything
    else as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_DONE = object()


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """The items of ``items``, produced by a thread up to ``depth`` items ahead. An error in
    the thread is raised here; leaving the loop early stops the thread."""
    ahead: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: Any) -> bool:
        """Queue ``item`` unless the consumer has left; False once it has."""
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer(item):
                    return
            offer(_DONE)
        except BaseException as error:  # handed over to the consuming thread, raised there
            offer(error)

    thread = threading.Thread(target=produce, name="saylau-replay-read", daemon=True)
    thread.start()
    try:
        while (item := ahead.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _keep_live_times(rows: list[dict[str, Any]], rejects: list[dict[str, Any]],
                     batch: ReplayBatch) -> None:
    if batch.received_at:
        for row in rows:
            row["received_at"] = batch.received_at.get(row["event_id"], row["received_at"])
    if batch.rejected_at:
        for row in rejects:
            key = (row["source_topic"], row["source_partition"], row["source_offset"])
            row["rejected_at"] = batch.rejected_at.get(key, row["rejected_at"])


# --- Kafka ------------------------------------------------------------------------------------

class KafkaSource:
    """Every message of the event topics, from the first offset to the end. Manual
    assignment: no group is joined, no offset committed. ``total`` (for a progress bar) is
    what the broker reported when the source was opened."""

    def __init__(self, bootstrap: str, prefix: str, batch_size: int = 20_000,
                 stall_seconds: float = 60.0) -> None:
        self.batch_size = batch_size
        self.stall_seconds = stall_seconds
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                      group_id=None, client_id="saylau-replay",
                                      max_poll_records=batch_size,
                                      fetch_max_bytes=64 * 1024 * 1024,
                                      max_partition_fetch_bytes=16 * 1024 * 1024)
        partitions = []
        for topic in (f"{prefix}.{name}" for name in INTAKE_TOPICS):
            numbers = self.consumer.partitions_for_topic(topic)
            if not numbers:
                self.consumer.close()
                raise ReplayError(f"topic {topic} does not exist on {bootstrap}")
            partitions += [TopicPartition(topic, p) for p in sorted(numbers)]
        self.consumer.assign(partitions)
        self.start = self.consumer.beginning_offsets(partitions)
        self.end = self.consumer.end_offsets(partitions)
        self.total = sum(self.end[tp] - self.start[tp] for tp in partitions)

    def batches(self) -> Iterator[ReplayBatch]:
        self.consumer.seek_to_beginning()
        last_progress = time.monotonic()
        while True:
            behind = self._behind()
            polled = self.consumer.poll(timeout_ms=1000, max_records=self.batch_size)
            messages = [Message(tp.topic, tp.partition, r.offset, r.value)
                        for tp, records in polled.items() for r in records]
            if messages:
                last_progress = time.monotonic()
                yield ReplayBatch(messages)
            elif not behind:
                return  # at the end offsets, and a poll found nothing more
            elif time.monotonic() - last_progress > self.stall_seconds:
                raise ReplayError(f"Kafka delivered nothing for {self.stall_seconds:.0f} s "
                                  f"with {len(behind)} partitions not read to the end")

    def _behind(self) -> set[TopicPartition]:
        """Partitions not yet read to the end offsets the broker reported. Those are a floor,
        not the end: the embedded broker (Tansu 0.6) reports the first offset of a
        partition's last record batch + 1, so reading stops only when a poll at (or past)
        every reported end finds nothing more."""
        return {tp for tp, end in self.end.items() if self.consumer.position(tp) < end}

    def close(self) -> None:
        self.consumer.close(autocommit=False)


# --- The warehouse archive ---------------------------------------------------------------------

ARCHIVE_COUNT = "SELECT count() AS n FROM $db.events"
REJECTED_COUNT = "SELECT count() AS n FROM $db.rejected"

# Keyset pages in the order the worker received the events (a resent event stored twice
# comes twice, as it did live; de-duplication drops it again).
ARCHIVE_PAGE = """
SELECT event_id, kind, station_id, received_at, payload
FROM $db.events
WHERE received_at > {after:DateTime}
      OR (received_at = {after:DateTime} AND event_id > {after_id:String})
ORDER BY received_at, event_id
LIMIT {limit:UInt32}"""

ARCHIVE_REJECTED = """
SELECT source_topic, source_partition, source_offset, raw, rejected_at
FROM $db.rejected FINAL
ORDER BY rejected_at, source_topic, source_partition, source_offset"""


@dataclass(frozen=True)
class ArchivedMessage:
    at: dt.datetime  # when the live worker received (or rejected) it
    topic_suffix: str
    source_topic: str  # a rejected message's topic as the live run named it; "" for events
    partition: int
    offset: int
    key: str
    value: bytes
    event_id: str = ""  # empty for a rejected message


class ArchiveSource:
    """The raw archive of a warehouse, as messages in the order the worker received them."""

    def __init__(self, warehouse: Warehouse, page: int = 50_000) -> None:
        self.warehouse = warehouse
        self.page = page
        self.total = (_count(warehouse, ARCHIVE_COUNT) + _count(warehouse, REJECTED_COUNT))

    def messages(self) -> Iterator[ArchivedMessage]:
        """Accepted events and rejected messages merged by the time the worker saw them."""
        return heapq.merge(self._events(), self._rejected(), key=lambda item: item.at)

    def batches(self, prefix: str, size: int) -> Iterator[ReplayBatch]:
        messages = self.messages()
        while chunk := list(islice(messages, size)):
            yield _archive_batch(chunk, prefix)

    def _events(self) -> Iterator[ArchivedMessage]:
        after, after_id, offset = dt.datetime(1970, 1, 1, tzinfo=dt.UTC), "", 0
        while True:
            frame = self.warehouse.query_df(ARCHIVE_PAGE, {"after": after, "after_id": after_id,
                                                           "limit": self.page})
            if frame.empty:
                return
            for event_id, kind, station, received, payload in zip(
                    frame["event_id"], frame["kind"], frame["station_id"],
                    frame["received_at"], frame["payload"], strict=True):
                at = _utc(received)
                yield ArchivedMessage(at, KIND_TOPIC[kind], "", 0, offset, station,
                                      payload.encode("utf-8"), event_id)
                offset += 1
            after, after_id = at, event_id

    def _rejected(self) -> Iterator[ArchivedMessage]:
        frame = self.warehouse.query_df(ARCHIVE_REJECTED)
        for topic, partition, offset, raw, rejected in zip(
                frame["source_topic"], frame["source_partition"], frame["source_offset"],
                frame["raw"], frame["rejected_at"], strict=True):
            yield ArchivedMessage(_utc(rejected), topic.rsplit(".", 1)[-1], topic,
                                  int(partition), int(offset), "", raw.encode("utf-8"))


def _archive_batch(chunk: list[ArchivedMessage], prefix: str) -> ReplayBatch:
    messages, received, rejected = [], {}, {}
    for item in chunk:
        if item.event_id:
            topic = f"{prefix}.{item.topic_suffix}"
            received[item.event_id] = item.at
        else:  # a rejected message keeps its Kafka position: its row replaces itself
            topic = item.source_topic
            rejected[(topic, item.partition, item.offset)] = item.at
        messages.append(Message(topic, item.partition, item.offset, item.value))
    return ReplayBatch(messages, received, rejected)


def _count(warehouse: Warehouse, sql: str) -> int:
    return int(warehouse.query_df(sql)["n"].iloc[0])


def _utc(value: Any) -> dt.datetime:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def archive_as_simulated(messages: Iterable[ArchivedMessage]) -> Iterator[SimulatedMessage]:
    """Archived messages as the simulator's feed sends them, paced by when they arrived."""
    for item in messages:
        yield SimulatedMessage(item.at, item.topic_suffix, item.key, item.value)


# --- A simulated-day file ----------------------------------------------------------------------

def simulated_batches(messages: Iterable[SimulatedMessage], prefix: str,
                      size: int) -> Iterator[ReplayBatch]:
    """Messages of a ``simulate --output`` file; a message's offset is its line number."""
    numbered = enumerate(messages)
    while chunk := list(islice(numbered, size)):
        yield ReplayBatch([Message(f"{prefix}.{m.topic_suffix}", 0, line, m.value)
                           for line, m in chunk])
