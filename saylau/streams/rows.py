"""Warehouse rows for an accepted event: one archive row, plus a row in the kind's own
table for protocols and exit polls. Pure."""

from __future__ import annotations

import datetime as dt
from typing import Any

from saylau.core.contract import (
    Assignment,
    CaseUpdate,
    Checkout,
    CitizenReport,
    Event,
    ExitPoll,
    Incident,
    PhotoRelease,
    Protocol,
    ProtocolEntry,
    Review,
    Turnout,
)

EVENT_COLUMNS = ("event_id", "kind", "station_id", "region_code", "observer_id", "occurred_at",
                 "received_at", "ballots_issued", "registered_voters", "source", "role",
                 "reason", "category", "severity", "incident_id", "verdict",
                 "target_station_id", "payload")
PROTOCOL_COLUMNS = ("event_id", "station_id", "region_code", "source", "occurred_at",
                    "registered", "ballots_received", "ballots_issued", "ballots_cast",
                    "invalid", "options", "votes")
# One table for double-entry tabulation (docs/tabulation.md), a row per fact, by `fact`:
# photo (a protocol photo an observer sent), entry (a volunteer's typing of it), agreed (the
# digitised copy), release (headquarters released or withdrew it), official (a commission
# publication's row).
TABULATION_COLUMNS = ("event_id", "fact", "station_id", "region_code", "actor", "occurred_at",
                      "photo_sha256", "released", "publication", "entry_ids", "entered_by",
                      "registered", "ballots_received", "ballots_issued", "ballots_cast",
                      "invalid", "options", "votes")
PHOTO_TYPES = ("image/",)
EXITPOLL_COLUMNS = ("event_id", "station_id", "region_code", "occurred_at", "window_start",
                    "window_end", "interviews", "options", "counts")


def utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def event_row(event: Event, event_id: str, raw: bytes, region_code: str,
              received_at: dt.datetime) -> dict[str, Any]:
    """The archive row: the raw text unchanged, plus the columns that queries filter on.
    ``event_id`` is ``str(event.event_id)``, which the caller has already made."""
    row: dict[str, Any] = {
        "event_id": event_id, "kind": event.kind, "station_id": event.station_id,
        "region_code": region_code, "observer_id": event.observer_id,
        "occurred_at": utc(event.occurred_at), "received_at": received_at,
        "ballots_issued": 0, "registered_voters": 0, "source": "", "role": "", "reason": "",
        "category": "", "severity": 0, "incident_id": "", "verdict": "",
        "target_station_id": "", "payload": raw.decode("utf-8"),
    }
    row.update(_kind_columns(event))
    return row


def _kind_columns(event: Event) -> dict[str, Any]:
    if isinstance(event, Turnout):
        return {"ballots_issued": event.ballots_issued, "source": event.source,
                "registered_voters": event.registered_voters or 0}
    if isinstance(event, Checkout):
        return {"role": event.role, "reason": event.reason}
    if isinstance(event, Incident):
        return {"category": event.category, "severity": event.severity}
    if isinstance(event, Review):
        return {"incident_id": str(event.incident_id), "verdict": event.verdict}
    if isinstance(event, Assignment):
        return {"target_station_id": event.target_station_id}
    if isinstance(event, Protocol):
        return {"source": event.source, "ballots_issued": event.ballots_issued}
    if isinstance(event, CitizenReport):  # the employer's sector in `source`
        return {"category": event.category, "source": event.sector}
    if isinstance(event, CaseUpdate):  # the case in `incident_id`, the status in `reason`
        return {"incident_id": str(event.case_id), "verdict": event.verdict or "",
                "reason": event.status or ""}
    role = getattr(event, "role", "")
    return {"role": role}


def protocol_row(event: Protocol, region_code: str) -> dict[str, Any]:
    options = sorted(event.votes)
    return {"event_id": str(event.event_id), "station_id": event.station_id,
            "region_code": region_code, "source": event.source,
            "occurred_at": utc(event.occurred_at), "registered": event.registered,
            "ballots_received": event.ballots_received, "ballots_issued": event.ballots_issued,
            "ballots_cast": event.ballots_cast, "invalid": event.invalid,
            "options": options, "votes": [event.votes[o] for o in options]}


def exitpoll_row(event: ExitPoll, region_code: str) -> dict[str, Any]:
    options = sorted(event.choices)
    return {"event_id": str(event.event_id), "station_id": event.station_id,
            "region_code": region_code, "occurred_at": utc(event.occurred_at),
            "window_start": utc(event.window_start), "window_end": utc(event.window_end),
            "interviews": event.interviews, "options": options,
            "counts": [event.choices[o] for o in options]}


def tabulation_rows(event: Event, region_code: str) -> list[dict[str, Any]]:
    """The event's rows in ``tabulation`` (none for most kinds)."""
    if isinstance(event, Protocol):
        return _protocol_facts(event, region_code)
    if isinstance(event, ProtocolEntry):
        return [_fact(event, "entry", region_code, photo_sha256=event.photo_sha256,
                      **_figures(event))]
    if isinstance(event, PhotoRelease):
        return [_fact(event, "release", region_code, photo_sha256=event.photo_sha256,
                      released=int(event.released))]
    return []


def _protocol_facts(event: Protocol, region_code: str) -> list[dict[str, Any]]:
    if event.digitised is not None:
        made = event.digitised
        return [_fact(event, "agreed", region_code, photo_sha256=made.photo_sha256,
                      entry_ids=[str(entry) for entry in made.entry_ids],
                      entered_by=list(made.entered_by), **_figures(event))]
    if event.source == "official":
        return [_fact(event, "official", region_code, publication=event.publication,
                      **_figures(event))]
    photos = dict.fromkeys(item.sha256 for item in event.media
                           if item.mime.startswith(PHOTO_TYPES))
    return [_fact(event, "photo", region_code, photo_sha256=sha256) for sha256 in photos]


def _figures(event: Protocol | ProtocolEntry) -> dict[str, Any]:
    options = sorted(event.votes)
    return {"registered": event.registered, "ballots_received": event.ballots_received,
            "ballots_issued": event.ballots_issued, "ballots_cast": event.ballots_cast,
            "invalid": event.invalid, "options": options,
            "votes": [event.votes[o] for o in options]}


def _fact(event: Event, fact: str, region_code: str, **columns: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": str(event.event_id), "fact": fact, "station_id": event.station_id,
        "region_code": region_code, "actor": event.observer_id,
        "occurred_at": utc(event.occurred_at), "photo_sha256": "", "released": 0,
        "publication": "", "entry_ids": [], "entered_by": [], "registered": 0,
        "ballots_received": 0, "ballots_issued": 0, "ballots_cast": 0, "invalid": 0,
        "options": [], "votes": []}
    row.update(columns)
    return row
