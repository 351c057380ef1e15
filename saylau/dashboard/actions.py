"""What dashboard users do to the world: assignments, reviews, case updates and photo
releases, sent to Kafka as events.

The dashboard never writes the warehouse: it sends a contract event, as an observer's phone
would, and the worker stores it like any other. A send counts as done only once the broker
has acknowledged it, so the page never says "sent" for an event that was lost.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid

from kafka import KafkaProducer

from saylau.core.contract import (
    Assignment,
    CaseUpdate,
    Digitisation,
    Event,
    Media,
    PhotoRelease,
    Protocol,
    ProtocolEntry,
    Review,
    event_to_json,
    topic_for,
)
from saylau.kafka.producer import reliable_producer

SEND_TIMEOUT_SECONDS = 15.0
# The namespace of a digitised copy's event id (uuid5 of the photo and its agreeing entries).
DIGITISED_COPY_NAMESPACE = uuid.UUID("6f1d3c52-9a0e-4b7e-9a55-2d0c7f4e8b31")


class ActionError(RuntimeError):
    """The broker did not take the event; nothing was sent."""


class ActionSender:
    """A kafka-python producer, opened at the first action (not when the page loads)."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap, self.prefix = bootstrap, prefix
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def send(self, event: Event) -> None:
        """Send and wait for the broker's acknowledgement (acks=all)."""
        try:
            future = self._open().send(topic_for(event.kind, self.prefix),
                                       key=event.station_id.encode("utf-8"),
                                       value=event_to_json(event).encode("utf-8"))
            future.get(timeout=SEND_TIMEOUT_SECONDS)
        except Exception as error:  # kafka-python raises many types; the page shows one
            raise ActionError(f"the event was not sent: {type(error).__name__}") from error

    def close(self) -> None:
        with self._lock:
            if self._producer is not None:
                self._producer.close(timeout=10)
                self._producer = None

    def _open(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                # linger 0: one click, one event, sent at once.
                self._producer = reliable_producer(self.bootstrap, "saylau-dashboard",
                                                   linger_ms=0)
            return self._producer


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def assignment_event(observer_id: str, from_station: str, target_station: str,
                     assigned_by: str, note: str = "",
                     occurred_at: dt.datetime | None = None) -> Assignment:
    """A regional lead sends `observer_id` (last seen at `from_station`) to a station."""
    return Assignment(schema="saylau.event/1", kind="assignment", event_id=uuid.uuid4(),
                      station_id=from_station, observer_id=observer_id,
                      occurred_at=occurred_at or _now(), assigned_by=assigned_by,
                      target_station_id=target_station, note=note)


def review_event(incident_id: str, station_id: str, verdict: str, reviewer_id: str,
                 occurred_at: dt.datetime | None = None) -> Review:
    return Review(schema="saylau.event/1", kind="review", event_id=uuid.uuid4(),
                  station_id=station_id, observer_id=reviewer_id,
                  occurred_at=occurred_at or _now(), incident_id=uuid.UUID(incident_id),
                  verdict=verdict, reviewer_id=reviewer_id)  # type: ignore[arg-type]


def case_update_event(case_id: str, actor_id: str, *, verdict: str | None = None,
                      status: str | None = None, duplicate_of: str | None = None,
                      note: str = "", occurred_at: dt.datetime | None = None) -> CaseUpdate:
    """A legal or headquarters user's verdict on a citizen report and/or its new status."""
    return CaseUpdate(schema="saylau.event/1", kind="case_update", event_id=uuid.uuid4(),
                      observer_id=actor_id, occurred_at=occurred_at or _now(),
                      case_id=uuid.UUID(case_id), verdict=verdict,  # type: ignore[arg-type]
                      status=status,  # type: ignore[arg-type]
                      duplicate_of=uuid.UUID(duplicate_of) if duplicate_of else None,
                      note=note)


def photo_release_event(photo_sha256: str, station_id: str, released: bool, actor_id: str,
                        occurred_at: dt.datetime | None = None) -> PhotoRelease:
    """Headquarters release (`released`) or withdraw a station's protocol photo for
    publication by its hash (docs/comparison.md); the latest such event counts."""
    return PhotoRelease(schema="saylau.event/1", kind="photo_release", event_id=uuid.uuid4(),
                        station_id=station_id, observer_id=actor_id,
                        occurred_at=occurred_at or _now(), photo_sha256=photo_sha256,
                        released=released)
def protocol_entry_event(photo_sha256: str, station_id: str, volunteer: str,
                         figures: dict[str, int], votes: dict[str, int],
                         occurred_at: dt.datetime | None = None) -> ProtocolEntry:
    """A volunteer's typing of a protocol photo (double entry, docs/tabulation.md). Stamped
    in whole seconds, as the warehouse keeps it, so this process orders its recent entries
    as every other reader of the warehouse does."""
    return ProtocolEntry(schema="saylau.event/1", kind="protocol_entry", event_id=uuid.uuid4(),
                         station_id=station_id, observer_id=volunteer,
                         occurred_at=(occurred_at or _now()).replace(microsecond=0),
                         photo_sha256=photo_sha256, votes=votes,
                         registered=figures["registered"],
                         ballots_received=figures["ballots_received"],
                         ballots_issued=figures["ballots_issued"],
                         ballots_cast=figures["ballots_cast"], invalid=figures["invalid"])


def digitised_copy_id(photo_sha256: str, entry_ids: list[str]) -> uuid.UUID:
    """The same photo and agreeing entries give the same id: two pages that both see the
    agreement send one copy, counted once."""
    return uuid.uuid5(DIGITISED_COPY_NAMESPACE, ":".join([photo_sha256, *sorted(entry_ids)]))


def digitised_copy_event(photo_sha256: str, photo_mime: str, station_id: str,
                         photo_sender: str, entry_ids: list[str], entered_by: list[str],
                         figures: dict[str, int], votes: dict[str, int],
                         occurred_at: dt.datetime | None = None) -> Protocol:
    """The observer's copy that two agreeing entries of its photo made: in the name of the
    observer who sent the photo, with the photo and the entries as its provenance."""
    return Protocol(schema="saylau.event/1", kind="protocol", source="observer_copy",
                    publication="",
                    event_id=digitised_copy_id(photo_sha256, entry_ids),
                    station_id=station_id, observer_id=photo_sender,
                    occurred_at=occurred_at or _now(),
                    media=[Media(sha256=photo_sha256, mime=photo_mime)], votes=votes,
                    digitised=Digitisation(photo_sha256=photo_sha256,
                                           entry_ids=[uuid.UUID(e) for e in entry_ids],
                                           entered_by=entered_by),
                    registered=figures["registered"],
                    ballots_received=figures["ballots_received"],
                    ballots_issued=figures["ballots_issued"],
                    ballots_cast=figures["ballots_cast"], invalid=figures["invalid"])
