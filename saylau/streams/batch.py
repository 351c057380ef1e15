"""Turn a batch of Kafka messages into warehouse rows and rejections. Pure, no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from saylau.core.contract import REFUSED_TOPIC, Event, ExitPoll, Protocol
from saylau.core.refused import MAX_RAW_KEPT, RefusedMessage
from saylau.core.rules import DEFAULT_BALLOT, Ballot
from saylau.core.validation import DayWindow, Rejection, StationInfo, station_of, validate
from saylau.streams.rows import event_row, exitpoll_row, protocol_row, tabulation_rows

REJECTED_COLUMNS = ("source_topic", "source_partition", "source_offset", "reason", "detail",
                    "raw", "rejected_at")


class Message(NamedTuple):
    """A Kafka message as the batch sees it. A tuple: it crosses to the store process cheaply."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


@dataclass
class BatchResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    protocols: list[dict[str, Any]] = field(default_factory=list)
    exitpolls: list[dict[str, Any]] = field(default_factory=list)
    tabulation: list[dict[str, Any]] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0  # suspects included until ``settle`` says which were new
    suspects: list[Suspect] = field(default_factory=list)

    @property
    def event_ids(self) -> list[str]:
        return [row["event_id"] for row in self.rows]

    def suspect_keys(self) -> list[tuple[str, str]]:
        """(station_id, event_id) of each suspect: the archive's key, to look them up by."""
        return [(s.event.station_id, s.event_id) for s in self.suspects]


class SeenIds:
    """Every event id stored so far, in a fixed amount of memory: a Bloom filter.

    It answers "certainly new" or "perhaps seen". An id certainly new is stored at once; an
    id perhaps seen is a suspect, held back until the warehouse says whether it holds that
    event (``settle``, one query per batch for its suspects only). So a hash collision costs
    a lookup and never drops a real event, and an id sent again hours later, however many
    ids came between, is still recognised (a window of recent ids would have forgotten it).

    The memory (``nbytes``) is fixed when it is made and does not grow with the day: with
    the default 2**29 bits (64 MiB) and 7 hashes, about 1 id in 60,000 is a false suspect
    after 18,000,000 ids (a 1,000,000-station day), 1 in 170 after 50,000,000.

    It lives in one process: Python's ``hash`` of a string differs between processes, which
    is fine for memory that starts empty with each process. After a restart it is empty,
    and what Kafka delivers again is written again; the warehouse's tables and queries are
    idempotent by event_id (worker.md), so that costs a write and changes no figure.
    """

    def __init__(self, bits: int = 2 ** 29, hashes: int = 7) -> None:
        if bits < 64 or bits & (bits - 1):
            raise ValueError("bits must be a power of two, at least 64")
        self._bits = np.zeros(bits // 8, dtype=np.uint8)
        self._mask = np.uint64(bits - 1)
        self._steps = np.arange(hashes, dtype=np.uint64)
        self._added = 0

    @property
    def nbytes(self) -> int:
        return int(self._bits.nbytes)

    def __len__(self) -> int:
        """How many ids were added (counted, not kept)."""
        return self._added

    def __contains__(self, event_id: object) -> bool:
        return bool(self.perhaps_seen([str(event_id)])[0])

    def perhaps_seen(self, event_ids: Sequence[str]) -> np.ndarray:
        """For each id, False if it was certainly never added, True if it may have been."""
        if not event_ids:
            return np.zeros(0, dtype=bool)
        byte, bit = self._positions(event_ids)
        return np.all(self._bits[byte] & bit, axis=1)

    def add_all(self, event_ids: Iterable[str]) -> None:
        event_ids = list(event_ids)
        if not event_ids:
            return
        byte, bit = self._positions(event_ids)
        np.bitwise_or.at(self._bits, byte.ravel(), bit.ravel())
        self._added += len(event_ids)

    def _positions(self, event_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The filter's bits of each id (one row per id): double hashing, h1 + i * h2."""
        first = np.array([hash(event_id) for event_id in event_ids],
                         dtype=np.int64).view(np.uint64)
        second = _mix(first) | np.uint64(1)  # odd, so the steps visit distinct bits
        positions = (first[:, None] + self._steps[None, :] * second[:, None]) & self._mask
        return ((positions >> np.uint64(3)).astype(np.intp),
                (np.uint8(1) << (positions & np.uint64(7)).astype(np.uint8)))


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a second hash, independent enough of the first."""
    values = values ^ (values >> np.uint64(30))
    values = values * np.uint64(0xBF58476D1CE4E5B9)
    values = values ^ (values >> np.uint64(27))
    values = values * np.uint64(0x94D049BB133111EB)
    return values ^ (values >> np.uint64(31))


# The name the tests and tools that build batches by hand know.
RecentIds = SeenIds


@dataclass(frozen=True)
class Suspect:
    """A valid event whose id the filter may have seen: stored only if the warehouse
    does not hold it (``settle``)."""

    event: Event
    event_id: str
    raw: bytes
    station: StationInfo


def rejected_row(message: Message, rejection: Rejection,
                 rejected_at: dt.datetime) -> dict[str, Any]:
    raw = (message.value or b"").decode("utf-8", errors="replace")[:MAX_RAW_KEPT]
    return {
        "source_topic": message.topic,
        "source_partition": message.partition,
        "source_offset": message.offset,
        "reason": rejection.reason,
        "detail": rejection.detail,
        "raw": raw,
        "rejected_at": rejected_at,
    }


REFUSED_SUFFIX = f".{REFUSED_TOPIC}"


def refused_row(message: Message, rejected_at: dt.datetime) -> dict[str, Any]:
    """The row of a message the gateway refused: its reason, keyed by the envelope's key."""
    refused = RefusedMessage.from_json(message.value)
    if refused is None:  # not the gateway's envelope: kept like any unreadable message
        return rejected_row(message, Rejection("invalid_refusal", "the message on the "
                                               "refused topic is not a gateway envelope"),
                            rejected_at)
    return {"source_topic": message.topic, "source_partition": 0,
            "source_offset": refused.key, "reason": refused.reason,
            "detail": refused.detail, "raw": refused.raw, "rejected_at": rejected_at}


def process_batch(messages: Sequence[Message], stations: Mapping[str, StationInfo],
                  window: DayWindow, recent: SeenIds, now: dt.datetime,
                  ballot: Ballot = DEFAULT_BALLOT) -> BatchResult:
    """Validate, de-duplicate and enrich. A copy of an event earlier in the batch is
    dropped; an event whose id ``recent`` may have seen is held as a suspect (and counted
    as a duplicate) until ``settle`` is given the suspects the warehouse already holds."""
    result = BatchResult()
    in_batch: set[str] = set()
    valid: list[tuple[Event, str, bytes]] = []
    for message in messages:
        if message.topic.endswith(REFUSED_SUFFIX):
            result.rejects.append(refused_row(message, now))
            continue
        outcome = validate(message.value, stations, window, ballot)
        if isinstance(outcome, Rejection):
            result.rejects.append(rejected_row(message, outcome, now))
            continue
        event_id = str(outcome.event_id)
        if event_id in in_batch:
            result.duplicates += 1
            continue
        in_batch.add(event_id)
        assert message.value is not None  # validate() rejects empty messages
        valid.append((outcome, event_id, message.value))
    seen = recent.perhaps_seen([event_id for _, event_id, _ in valid])
    for (event, event_id, raw), suspect in zip(valid, seen, strict=True):
        station = station_of(event, stations)
        if suspect:
            result.suspects.append(Suspect(event, event_id, raw, station))
            result.duplicates += 1
        else:
            _add_event(result, event, event_id, raw, station, now)
    return result


def settle(result: BatchResult, stored: Set[str], now: dt.datetime) -> None:
    """Add to ``result`` the suspects whose ids are not in ``stored`` (the suspects' ids
    the warehouse holds): they were new after all, their filter bits another id's."""
    for suspect in result.suspects:
        if suspect.event_id not in stored:
            result.duplicates -= 1
            _add_event(result, suspect.event, suspect.event_id, suspect.raw,
                       suspect.station, now)
    result.suspects = []


def _add_event(result: BatchResult, event: Event, event_id: str, raw: bytes,
               station: StationInfo, now: dt.datetime) -> None:
    result.events.append(event)
    result.rows.append(event_row(event, event_id, raw, station.region_code, now))
    if isinstance(event, Protocol):
        result.protocols.append(protocol_row(event, station.region_code))
    elif isinstance(event, ExitPoll):
        result.exitpolls.append(exitpoll_row(event, station.region_code))
    result.tabulation.extend(tabulation_rows(event, station.region_code))
