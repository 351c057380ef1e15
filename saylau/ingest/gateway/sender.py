"""The background sender: journal entries to Kafka, acknowledged, then marked delivered.

One thread. It takes what the journal committed, sends it with acks=all and waits for
every acknowledgement; the contiguous acknowledged prefix moves the journal's marker. What
failed is sent again after a pause, with a fresh producer. Duplicates this causes (a send
that reached the broker but whose answer was lost) are removed by event_id downstream.

A broker that forgets what it acknowledged (memory storage restarted, a topic re-created)
shows itself by offsets going backwards in a partition; the sender then sends again every
delivered entry the journal still keeps (see docs/gateway.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from saylau.ingest.gateway.journal import Entry, Journal
from saylau.kafka.producer import reliable_producer

log = logging.getLogger(__name__)

RECEIVED_AT_HEADER = "saylau-received-at"
MAX_ROUND = 5000
PROBE_SECONDS = 2.0
EndOffsets = Callable[[list[tuple[str, int]]], dict[tuple[str, int], int]]


def kafka_producer(bootstrap: str) -> Any:
    # Short timeouts: the journal keeps the report, so a slow broker only delays it.
    return reliable_producer(bootstrap, "saylau-gateway", retries=3, max_block_ms=3000,
                             request_timeout_ms=5000, delivery_timeout_ms=10_000)


def kafka_end_offsets(bootstrap: str) -> EndOffsets:
    def ask(partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=5000,
                                 client_id="saylau-gateway-probe")
        try:
            known = {topic: consumer.partitions_for_topic(topic) or set()
                     for topic in {topic for topic, _ in partitions}}
            asked = [TopicPartition(t, p) for t, p in partitions if p in known[t]]
            ends = consumer.end_offsets(asked) if asked else {}
            found = {(tp.topic, tp.partition): int(end) for tp, end in ends.items()}
            # a topic that exists again but lacks the partition: nothing of it survived
            found.update({(t, p): 0 for t, p in partitions if known[t] and p not in known[t]})
            return found
        finally:
            consumer.close()
    return ask


class Sender:
    def __init__(self, journal: Journal, producer_factory: Callable[[], Any],
                 on_failure: Callable[[], object] | None = None, retry_seconds: float = 0.5,
                 end_offsets: EndOffsets | None = None) -> None:
        self._end_offsets = end_offsets
        self.journal = journal
        self._producer_factory = producer_factory
        self._on_failure = on_failure
        self.retry_seconds = retry_seconds
        self._queue: deque[Entry] = deque()
        self._acked: set[int] = set()
        self._high_water: dict[tuple[str, int], int] = {}
        self._low_water: dict[tuple[str, int], int] = {}
        self._condition = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._producer: Any = None
        self.sent = 0
        self.failures = 0
        self.rewinds = 0

    # --- feeding -------------------------------------------------------------------------
    def submit(self, entries: list[Entry]) -> None:
        with self._condition:
            self._queue.extend(entries)
            self._condition.notify()

    @property
    def pending(self) -> int:
        """Entries journaled but not yet acknowledged by Kafka."""
        return self.journal.next_offset - self.journal.delivered

    # --- running -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gateway-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (up to ``timeout``), then stop; the rest stays journaled."""
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline and self._alive():
            time.sleep(0.05)
        self._stopping.set()
        with self._condition:
            self._condition.notify()
        if self._thread is not None:
            self._thread.join(max(1.0, deadline - time.monotonic()))
        self._close_producer()

    def _alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        idle_since = time.monotonic()
        while not self._stopping.is_set():
            batch = self._next_batch()
            if not batch:
                if self._high_water and time.monotonic() - idle_since > PROBE_SECONDS:
                    self._probe()
                    idle_since = time.monotonic()
                continue
            idle_since = time.monotonic()
            failed = self._send(batch)
            self._advance()
            if failed:
                self._retry_later(failed)

    def _next_batch(self) -> list[Entry]:
        with self._condition:
            if not self._queue:
                self._condition.wait(0.2)
            return [self._queue.popleft() for _ in range(min(MAX_ROUND, len(self._queue)))]

    def _send(self, batch: list[Entry]) -> list[Entry]:
        """Send a batch and wait for every answer; returns the entries that failed."""
        try:
            producer = self._producer or self._new_producer()
            futures = [(entry, producer.send(
                entry.record.topic, key=entry.record.key.encode("utf-8"),
                value=entry.record.value.encode("utf-8"),
                headers=[(RECEIVED_AT_HEADER, entry.record.received_at.encode("ascii"))]))
                for entry in batch]
            producer.flush(timeout=15)
        except Exception as error:  # broker away: everything in the batch goes again
            log.warning("sending to Kafka failed (%s); will retry", type(error).__name__)
            return batch
        failed = []
        for entry, future in futures:
            if future.succeeded():
                self._acknowledged(entry, future.value)
            else:
                failed.append(entry)
        return failed

    def _acknowledged(self, entry: Entry, metadata: Any) -> None:
        self.sent += 1
        if entry.offset >= self.journal.delivered:
            self._acked.add(entry.offset)
        where = (metadata.topic, metadata.partition)
        previous = self._high_water.get(where)
        self._high_water[where] = metadata.offset
        self._low_water.setdefault(where, metadata.offset)
        if previous is not None and metadata.offset <= previous:
            self._rewind()

    def _probe(self) -> None:
        """While idle: has the broker forgotten messages it acknowledged (end offsets that
        went backwards)? Without traffic, acknowledgements cannot tell."""
        if self._end_offsets is None:
            return
        try:
            ends = self._end_offsets(list(self._low_water))
        except Exception as error:  # broker away or topic not re-created yet: ask later
            log.info("probing end offsets: %s", type(error).__name__)
            return
        # The partition no longer holds even the first message it acknowledged to us.
        if any(ends.get(where, low + 1) <= low for where, low in self._low_water.items()):
            self._rewind()

    def _rewind(self) -> None:
        """The broker forgot acknowledged messages: send again what the journal keeps."""
        self.rewinds += 1
        self._high_water.clear()
        self._low_water.clear()
        kept = self.journal.retained(below=self.journal.delivered)
        log.warning("a partition's offsets went backwards: the broker lost acknowledged "
                    "messages; re-sending %d kept entries", len(kept))
        if kept:  # undelivered again, on disk too: a restart now re-sends them as well
            self.journal.rewind(kept[0].offset)
            with self._condition:
                self._queue.extendleft(reversed(kept))

    def _advance(self) -> None:
        upto = self.journal.delivered
        while upto in self._acked:
            self._acked.discard(upto)
            upto += 1
        if upto > self.journal.delivered:
            self.journal.mark_delivered(upto)

    def _retry_later(self, failed: list[Entry]) -> None:
        self.failures += 1
        log.warning("%d entries not acknowledged; retrying in %.1f s", len(failed),
                    self.retry_seconds)
        self._close_producer()
        with self._condition:
            self._queue.extendleft(reversed(failed))
        self._stopping.wait(self.retry_seconds)
        if self._on_failure is not None and not self._stopping.is_set():
            try:
                self._on_failure()
            except Exception as error:  # the broker may still be away; the next round tells
                log.info("after a failed send: %s", type(error).__name__)

    def _new_producer(self) -> Any:
        self._producer = self._producer_factory()
        return self._producer

    def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.close(timeout=2)
            except Exception as error:  # closing a producer to a dead broker may complain
                log.debug("closing the producer: %s", type(error).__name__)
