"""Is a report acceptable? The contract, the sender's identity, the registry and the day.

Pure: nothing here touches the journal or the network. Refusals name fields and rules,
never the values sent (a value could be personal data typed into the wrong field).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from saylau.core.contract import Event, event_to_json, parse_event, topic_for
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
    """Observers send their own reports; headquarters send reviews and assignments."""
    event_id = str(event.event_id)
    if event.kind in HQ_KINDS:
        if identity.role != "hq":
            return Refusal("role_not_allowed", f"only headquarters tokens may send {event.kind}",
                           [FieldProblem("kind", "needs a headquarters token")], event_id)
        actor_field = "reviewer_id" if event.kind == "review" else "assigned_by"
        if getattr(event, actor_field) != identity.observer_id:
            return Refusal("observer_mismatch", f"{actor_field} is not the token's holder",
                           [FieldProblem(actor_field, "does not match the token")], event_id)
        return None
    if event.observer_id != identity.observer_id:
        return Refusal("observer_mismatch", "observer_id is not the token's observer",
                       [FieldProblem("observer_id", "does not match the token")], event_id)
    return None


def check(event: Event, identity: Identity, rules: Rules) -> Refusal | None:
    """Who may send it, then the rules of the day and the registry."""
    return authorize(event, identity) or rule_refusal(event, rules)


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
