"""Turn a batch of Kafka messages into warehouse rows and rejections. Pure, no I/O."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
    duplicates: int = 0

    @property
    def event_ids(self) -> list[str]:
        return [row["event_id"] for row in self.rows]


class RecentIds:
    """The most recent event ids written, to drop resent events before the warehouse.

    It is only a shortcut: the warehouse tables are idempotent by event_id anyway, so
    an id forgotten here (after a restart, or once evicted) costs nothing but a write.
    """

    def __init__(self, capacity: int = 1_000_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._capacity = capacity

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add_all(self, event_ids: Iterable[str]) -> None:
        for event_id in event_ids:
            self._ids[event_id] = None
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


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
                  window: DayWindow, recent: RecentIds, now: dt.datetime,
                  ballot: Ballot = DEFAULT_BALLOT) -> BatchResult:
    """Validate, de-duplicate (within the batch and against ``recent``) and enrich."""
    result = BatchResult()
    in_batch: set[str] = set()
    for message in messages:
        if message.topic.endswith(REFUSED_SUFFIX):
            result.rejects.append(refused_row(message, now))
            continue
        outcome = validate(message.value, stations, window, ballot)
        if isinstance(outcome, Rejection):
            result.rejects.append(rejected_row(message, outcome, now))
            continue
        event_id = str(outcome.event_id)
        if event_id in in_batch or event_id in recent:
            result.duplicates += 1
            continue
        in_batch.add(event_id)
        assert message.value is not None  # validate() rejects empty messages
        _add_event(result, outcome, event_id, message.value,
                   station_of(outcome, stations), now)
    return result


def _add_event(result: BatchResult, event: Event, event_id: str, raw: bytes,
               station: StationInfo, now: dt.datetime) -> None:
    result.events.append(event)
    result.rows.append(event_row(event, event_id, raw, station.region_code, now))
    if isinstance(event, Protocol):
        result.protocols.append(protocol_row(event, station.region_code))
    elif isinstance(event, ExitPoll):
        result.exitpolls.append(exitpoll_row(event, station.region_code))
    result.tabulation.extend(tabulation_rows(event, station.region_code))
