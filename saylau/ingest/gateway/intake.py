"""Is a report acceptable? The contract, the sender's identity, the registry and the day.

Pure: nothing here touches the journal or the network. Refusals name fields and rules,
never the values sent (a value could be personal data typed into the wrong field).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from saylau.core.contract import (
    CITIZEN_KINDS,
    REFUSED_TOPIC,
    TABULATION_KINDS,
    Event,
    event_to_json,
    parse_event,
    topic_for,
)
from saylau.core.refused import refused_message
from saylau.core.rules import Ballot
from saylau.core.validation import (
    SENDER_KEYED_FIELDS,
    DayWindow,
    StationInfo,
    check_rules,
    describe_validation_error,
)
from saylau.ingest.gateway.journal import Record
from saylau.ingest.gateway.tokens import Identity

HQ_KINDS = frozenset({"review", "assignment"})
# The refusals that say the token may not send this at all (403 for a single event).
FORBIDDEN_REASONS = frozenset({"citizen_route", "observer_mismatch", "role_not_allowed",
                               "official_source_not_allowed", "station_not_assigned",
                               "dashboard_only"})
StationsOf = Callable[[str], frozenset[str]]  # observer_id -> the stations they are placed at


@dataclass(frozen=True)
class FieldProblem:
    field: str
    problem: str


@dataclass(frozen=True)
class Refusal:
    reason: str
    detail: str
    errors: list[FieldProblem] = field(default_factory=list)
    event_id: str | None = None

    def as_dict(self, index: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"reason": self.reason, "detail": self.detail,
                                "errors": [vars(problem) for problem in self.errors]}
        if index is not None:
            data["index"] = index
        if self.event_id is not None:
            data["event_id"] = self.event_id
        return data


@dataclass(frozen=True)
class Rules:
    stations: Mapping[str, StationInfo]
    window: DayWindow
    ballot: Ballot
    topic_prefix: str


def field_problems(error: ValidationError, limit: int = 20) -> list[FieldProblem]:
    problems = []
    for item in error.errors(include_input=False, include_url=False)[:limit]:
        parts: list[str] = []
        for part in item["loc"]:
            parts.append(str(part))
            if part in SENDER_KEYED_FIELDS:
                break
        message = str(item["msg"])
        if item["type"] == "union_tag_invalid":  # pydantic's text quotes the tag sent
            message = f"kind is not one of {item.get('ctx', {}).get('expected_tags')}"
        problems.append(FieldProblem(".".join(parts) or "event", message))
    return problems


def _event_id_of(item: Any) -> str | None:
    """The event_id of a refused item, only if it is a UUID (never echo free text)."""
    if isinstance(item, dict) and isinstance(item.get("event_id"), str):
        try:
            return str(uuid.UUID(item["event_id"]))
        except ValueError:
            return None
    return None


def parse_item(item: Any) -> Event | Refusal:
    """One decoded JSON value (or the raw JSON of one event) -> a contract event, or why not."""
    if isinstance(item, bytes):  # the fast path: no decoding twice when it is valid
        try:
            return parse_event(item)
        except ValidationError:
            item = json.loads(item)  # the caller checked it is JSON; refuse field by field
    if not isinstance(item, dict):
        return Refusal("invalid_event", "an event must be a JSON object",
                       [FieldProblem("event", "is not an object")])
    try:
        return parse_event(json.dumps(item, ensure_ascii=False, allow_nan=False))
    except ValidationError as error:
        return Refusal("invalid_event", describe_validation_error(error),
                       field_problems(error), _event_id_of(item))
    except ValueError:  # NaN or Infinity in the decoded JSON
        return Refusal("invalid_event", "numbers must be finite",
                       [FieldProblem("event", "has a non-finite number")], _event_id_of(item))


def authorize(event: Event, identity: Identity) -> Refusal | None:
    """Headquarters send reviews, assignments and official figures; observers their own
    reports (where: :func:`station_refusal`). Citizen reports and their follow-up have
    routes of their own (/v1/citizen-reports, the dashboard), never an observer's token."""
    if event.kind in CITIZEN_KINDS:
        return Refusal("citizen_route", "citizen reports go to POST /v1/citizen-reports; "
                       "case updates come from the dashboard",
                       [FieldProblem("kind", "is not sent with a token")], str(event.event_id))
    if event.kind in TABULATION_KINDS or getattr(event, "digitised", None) is not None:
        return Refusal("dashboard_only", "protocol entries, digitised copies and photo "
                       "releases come from the dashboard's tabulation page",
                       [FieldProblem("kind", "is not sent with a token")], str(event.event_id))
    if event.kind in HQ_KINDS:
        return _headquarters_only(event, identity)
    if getattr(event, "source", None) == "official" and identity.role != "hq":
        return Refusal("official_source_not_allowed", "only headquarters tokens may send "
                       "official figures (source official)",
                       [FieldProblem("source", "official needs a headquarters token")],
                       str(event.event_id))
    if event.observer_id != identity.observer_id:
        return Refusal("observer_mismatch", "observer_id is not the token's observer",
                       [FieldProblem("observer_id", "does not match the token")],
                       str(event.event_id))
    return None


def _headquarters_only(event: Event, identity: Identity) -> Refusal | None:
    event_id = str(event.event_id)
    if identity.role != "hq":
        return Refusal("role_not_allowed", f"only headquarters tokens may send {event.kind}",
                       [FieldProblem("kind", "needs a headquarters token")], event_id)
    actor_field = "reviewer_id" if event.kind == "review" else "assigned_by"
    if getattr(event, actor_field) != identity.observer_id:
        return Refusal("observer_mismatch", f"{actor_field} is not the token's holder",
                       [FieldProblem(actor_field, "does not match the token")], event_id)
    return None


def station_refusal(event: Event, identity: Identity, placed: StationsOf) -> Refusal | None:
    """An observer token reports only where its holder is placed
    (saylau/ingest/gateway/placement.py); unplaced, only a check-in, which places them there.
    Headquarters are not bound."""
    if identity.role == "hq" or event.kind in HQ_KINDS:
        return None
    stations = placed(identity.observer_id)
    if event.station_id in stations or (not stations and event.kind == "checkin"):
        return None
    return Refusal("station_not_assigned", "an observer reports only for the station they "
                   "are assigned to (by the roster or headquarters) or, if unassigned, "
                   "first checked in at", [FieldProblem("station_id", "is not where this "
                                                       "observer is assigned")],
                   str(event.event_id))


def check(event: Event, identity: Identity, rules: Rules, placed: StationsOf
          ) -> Refusal | None:
    """Who may send it, the rules of the day and the registry, then where the sender is
    placed (so a mistyped station is unknown_station, not station_not_assigned)."""
    return (authorize(event, identity) or rule_refusal(event, rules)
            or station_refusal(event, identity, placed))


def rule_refusal(event: Event, rules: Rules) -> Refusal | None:
    rejection = check_rules(event, rules.stations, rules.window, rules.ballot)
    if rejection is not None:
        field_name = _rule_field(rejection.reason)
        return Refusal(rejection.reason, rejection.detail,
                       [FieldProblem(field_name, rejection.detail)], str(event.event_id))
    return None


def _rule_field(reason: str) -> str:
    return {"unknown_station": "station_id", "outside_election_day": "occurred_at"}.get(
        reason, "event")


def record_for(event: Event, received_at: dt.datetime, prefix: str) -> Record:
    return Record(topic_for(event.kind, prefix), event.station_id, event_to_json(event),
                  received_at.isoformat())


def refused_record(refusal: Refusal, item: Any, received_at: dt.datetime, prefix: str
                   ) -> Record:
    """A malformed message on its way to ``rejected`` (saylau/core/refused.py): the body or
    batch item (decoded JSON, so written again as JSON) with the refusal's reason and detail."""
    raw = item if isinstance(item, bytes) else json.dumps(item, ensure_ascii=False)
    envelope = refused_message(refusal.reason, refusal.detail, raw)
    return Record(f"{prefix}.{REFUSED_TOPIC}", "gateway", envelope.to_json(),
                  received_at.isoformat())
