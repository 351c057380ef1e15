"""The durable journal: every accepted event is on disk (fsync'ed) before the gateway answers.

Append-only segment files of JSON lines, named by the offset of their first entry; offsets
count up from 0 across segments and never repeat. A separate marker file says "every entry
below offset N was acknowledged by Kafka"; it is replaced atomically (write, fsync, rename,
fsync the folder). Fully delivered segments are removed once older than the retention, so a
broker that loses what it acknowledged (the embedded broker keeps messages in memory) can be
fed again from what is still kept.

``Journal`` is synchronous and guarded by a lock; ``GroupCommitter`` batches concurrent
requests of the event loop into one write and one fsync.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".jsonl"
MARKER_FILE = "delivered"
DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Record:
    """What is journaled for one event: where it goes and the event's own JSON text."""

    topic: str
    key: str
    value: str
    received_at: str


@dataclass(frozen=True)
class Entry:
    offset: int
    record: Record

    def line(self) -> bytes:
        r = self.record
        text = json.dumps({"o": self.offset, "t": r.topic, "k": r.key, "r": r.received_at,
                           "v": r.value}, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8") + b"\n"

    @classmethod
    def parse(cls, line: bytes) -> Entry:
        data = json.loads(line)
        return cls(int(data["o"]), Record(data["t"], data["k"], data["v"], data["r"]))


class Journal:
    def __init__(self, folder: Path, segment_bytes: int = DEFAULT_SEGMENT_BYTES,
                 retain_seconds: float = 600.0, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.segment_bytes = segment_bytes
        self.retain_seconds = retain_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._file: Any = None
        self._segment_start = 0
        self._size = 0  # bytes of the current segment up to the last good append
        self._damaged = False  # an append failed and its bytes are not cut off yet
        self.next_offset = 0
        self.delivered = 0

    # --- opening -------------------------------------------------------------------------
    def open(self) -> list[Entry]:
        """Open (or create) the journal; returns the entries Kafka has not acknowledged."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.delivered = self._read_marker()
        undelivered: list[Entry] = []
        segments = self._segments()
        for start, path in segments:
            for entry in self._read_segment(path, repair=path == segments[-1][1]):
                self.next_offset = max(self.next_offset, entry.offset + 1)
                if entry.offset >= self.delivered:
                    undelivered.append(entry)
            self.next_offset = max(self.next_offset, start)
        self.next_offset = max(self.next_offset, self.delivered)
        self._start_segment()
        log.info("journal %s: next offset %d, %d undelivered", self.folder, self.next_offset,
                 len(undelivered))
        return undelivered

    def _read_marker(self) -> int:
        try:
            return int((self.folder / MARKER_FILE).read_text(encoding="ascii").strip() or 0)
        except FileNotFoundError:
            return 0

    def _segments(self) -> list[tuple[int, Path]]:
        found = []
        for path in self.folder.glob(f"*{SEGMENT_SUFFIX}"):
            stem = path.name.removesuffix(SEGMENT_SUFFIX)
            if stem.isascii() and stem.isdigit():  # "²" is a digit to isdigit, not to int
                found.append((int(stem), path))
        return sorted(found)

    def _read_segment(self, path: Path, repair: bool = False) -> Iterator[Entry]:
        """The entries of a segment; a torn last line (a crash mid-write) is cut off."""
        data = path.read_bytes()
        complete = data.rfind(b"\n") + 1
        if repair and complete < len(data):
            log.warning("journal %s: cutting a torn last line (%d bytes)", path.name,
                        len(data) - complete)
            with open(path, "r+b") as file:
                file.truncate(complete)
                os.fsync(file.fileno())
        for line in data[:complete].splitlines():
            if line.strip():
                yield Entry.parse(line)

    def _start_segment(self) -> None:
        """Write from now on to a segment starting at ``next_offset`` (the old one is kept
        until the new one is open, so a failure here leaves the journal writable)."""
        path = self._segment_path(self.next_offset)
        # Unbuffered: a failed write leaves no bytes in a buffer to be flushed later.
        segment = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close() or a roll
        if self._file is not None:
            self._file.close()
        self._file, self._segment_start = segment, self.next_offset
        self._size = os.fstat(segment.fileno()).st_size
        _fsync_dir(self.folder)

    def _segment_path(self, start: int) -> Path:
        return self.folder / f"{start:020d}{SEGMENT_SUFFIX}"

    # --- writing -------------------------------------------------------------------------
    def append(self, records: list[Record]) -> list[Entry]:
        """Write the records and fsync once; when this returns they survive a crash.

        OSError (disk full, I/O error) means none of them is in the journal: what was
        partly written is cut off again, so the next append starts at the last good byte.
        """
        with self._lock:
            if self._file is None and not self._damaged:
                raise RuntimeError("journal is not open")
            if self._damaged:
                self._restore()
            entries = [Entry(self.next_offset + i, record) for i, record in enumerate(records)]
            data = b"".join(entry.line() for entry in entries)
            try:
                self._write_synced(data)
            except OSError:
                self._damaged = True
                self._restore()
                raise
            self._size += len(data)
            self.next_offset += len(entries)
            if self._size >= self.segment_bytes:
                self._roll()
            return entries

    def _write_synced(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[self._file.write(view):]
        os.fsync(self._file.fileno())

    def _restore(self) -> None:
        """Cut the segment back to its last good byte and open it afresh. If that fails too
        (OSError), the journal stays damaged and the next append tries again first."""
        if self._file is not None:
            self._file.close()
            self._file = None
        path = self._segment_path(self._segment_start)
        with open(path, "r+b") as file:
            file.truncate(self._size)
            os.fsync(file.fileno())
        self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
        self._damaged = False
        log.warning("journal %s: a failed append was cut off", path.name)

    def _roll(self) -> None:
        try:
            self._start_segment()
        except OSError as error:  # the entries are safe; the next append tries to roll again
            log.warning("journal: cannot start a new segment (%s)", type(error).__name__)

    def mark_delivered(self, upto: int) -> None:
        """Every entry below ``upto`` is acknowledged by Kafka; remove old delivered segments."""
        with self._lock:
            if upto <= self.delivered:
                return
            self._write_marker(upto)
            self._remove_delivered_segments()

    def rewind(self, offset: int) -> None:
        """Mark entries from ``offset`` on undelivered again (the broker lost them)."""
        with self._lock:
            self._write_marker(min(offset, self.delivered))

    def _write_marker(self, upto: int) -> None:
        temporary = self.folder / f"{MARKER_FILE}.tmp"
        with open(temporary, "w", encoding="ascii") as file:
            file.write(f"{upto}\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.folder / MARKER_FILE)
        _fsync_dir(self.folder)
        self.delivered = upto

    def _remove_delivered_segments(self) -> None:
        segments = self._segments()
        now = self._clock()
        for (start, path), (following, _) in zip(segments, segments[1:], strict=False):
            if start == self._segment_start or following > self.delivered:
                break
            if now - path.stat().st_mtime >= self.retain_seconds:
                path.unlink()

    def retained(self, below: int) -> list[Entry]:
        """Delivered entries still kept (offset < ``below``): to feed a broker that lost them."""
        with self._lock:
            paths = [path for _, path in self._segments()]
        kept: list[Entry] = []
        for path in paths:
            kept.extend(entry for entry in self._read_segment(path) if entry.offset < below)
        return kept

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class GroupCommitter:
    """Many concurrent requests, one write and one fsync: the journal's group commit."""

    def __init__(self, journal: Journal, committed: Callable[[list[Entry]], None]) -> None:
        self.journal = journal
        self._committed = committed
        self._waiting: list[tuple[list[Record], asyncio.Future[list[Entry]]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def append(self, records: list[Record]) -> list[Entry]:
        future: asyncio.Future[list[Entry]] = asyncio.get_running_loop().create_future()
        self._waiting.append((records, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._waiting = self._waiting, []
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[tuple[list[Record], asyncio.Future[list[Entry]]]]
                      ) -> None:
        records = [record for group, _ in batch for record in group]
        try:
            entries = await asyncio.to_thread(self.journal.append, records)
        except Exception as error:  # disk full, I/O error: every waiting request learns it
            log.error("journal append failed: %s", type(error).__name__)
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        self._committed(entries)
        start = 0
        for group, future in batch:
            if not future.done():
                future.set_result(entries[start:start + len(group)])
            start += len(group)
