"""The event contract, version 1 (see docs/architecture.md): one JSON object per Kafka message.

The models are the single source of truth: ``saylau/core/event.schema.json`` is generated from
them (``python -m saylau.core.contract``) so producers in other languages can validate too.
Unknown fields are refused, which also keeps personal data (names, phones) out of events.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

SCHEMA_VERSION = "saylau.event/1"
SCHEMA_PATH = Path(__file__).with_name("event.schema.json")

INCIDENT_CATEGORIES = (
    "employer_pressure", "admin_resource", "ballot_stuffing", "carousel_voting", "vote_buying",
    "observer_obstruction", "observer_removed", "secrecy_violation", "family_voting",
    "campaigning_at_station", "list_irregularity", "protocol_falsification", "procedural", "other",
)
# Topic suffix per kind; the full name is "<prefix>.<suffix>" (prefix "saylau" by default).
KIND_TOPIC = {
    "checkin": "checkins", "checkout": "checkins", "turnout": "turnout",
    "incident": "incidents", "review": "incidents", "exitpoll": "exitpolls",
    "protocol": "protocols", "assignment": "assignments",
    "citizen_report": "citizen", "case_update": "citizen",
    "protocol_entry": "tabulation", "photo_release": "tabulation",
}
EVENT_TOPICS = tuple(dict.fromkeys(KIND_TOPIC.values()))
# Tabulation (docs/tabulation.md): sent by the dashboard's tabulation page, never a token.
TABULATION_KINDS = frozenset({"protocol_entry", "photo_release"})
REJECTED_TOPIC = "rejected"
# what the gateway refused as malformed, on its way to the rejected table (core/refused.py)
REFUSED_TOPIC = "refused"
INTAKE_TOPICS = (*EVENT_TOPICS, REFUSED_TOPIC)  # what the worker reads
ALERTS_TOPIC = "alerts"

StationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", examples=["KAZ011-0457"])]
ActorId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", examples=["obs-20931"])]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
Role = Literal["observer", "commission_member", "exit_pollster", "journalist"]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
VoteCounts = Annotated[dict[Annotated[str, Field(min_length=1, max_length=64)], Count],
                       Field(max_length=64)]


class _Strict(BaseModel):
    # strict: no "412" for 412 and no unix numbers for times, as the JSON Schema says;
    # allow_inf_nan=False: JSON has no Infinity, so it could not round-trip.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, strict=True,
                              allow_inf_nan=False)


class Location(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    accuracy_m: float | None = Field(None, ge=0)


class Media(_Strict):
    sha256: Sha256
    mime: str = Field(pattern=r"^[a-z]+/[A-Za-z0-9.+-]+$", max_length=100)


class _Event(_Strict):
    schema_: Literal["saylau.event/1"] = Field("saylau.event/1", alias="schema")
    event_id: uuid.UUID
    station_id: StationId
    observer_id: ActorId
    occurred_at: AwareDatetime
    location: Location | None = None


class Checkin(_Event):
    kind: Literal["checkin"]
    role: Role = "observer"
    # why the observer checked in though the GPS fix was beyond the geofence (field app)
    note: str = Field("", max_length=500)


class Checkout(_Event):
    kind: Literal["checkout"]
    role: Role = "observer"
    reason: Literal["shift_end", "removed", "reassigned", "other"]


class Turnout(_Event):
    kind: Literal["turnout"]
    ballots_issued: Count
    registered_voters: Count | None = None
    source: Literal["observer_count", "official"] = "observer_count"


class Incident(_Event):
    kind: Literal["incident"]
    category: Literal[INCIDENT_CATEGORIES]  # type: ignore[valid-type]
    severity: int = Field(ge=1, le=3)
    description: str = Field("", max_length=2000)
    media: list[Media] = Field(default_factory=list, max_length=20)


class Review(_Event):
    kind: Literal["review"]
    incident_id: uuid.UUID
    verdict: Literal["verified", "rejected", "duplicate"]
    reviewer_id: ActorId


class ExitPoll(_Event):
    kind: Literal["exitpoll"]
    window_start: AwareDatetime
    window_end: AwareDatetime
    interviews: Count
    choices: VoteCounts


class _ProtocolFigures(_Event):
    """The figures of a polling station's result protocol."""

    registered: Count
    ballots_received: Count
    ballots_issued: Count
    ballots_cast: Count
    invalid: Count
    votes: VoteCounts


class Digitisation(_Strict):
    """Where a copy's figures came from when volunteers typed them from the protocol's photo
    (double entry, docs/tabulation.md): the photo, and the entries that agreed."""

    photo_sha256: Sha256
    entry_ids: list[uuid.UUID] = Field(min_length=2, max_length=10)
    entered_by: list[ActorId] = Field(min_length=2, max_length=10)


class Protocol(_ProtocolFigures):
    kind: Literal["protocol"]
    source: Literal["observer_copy", "official"]
    media: list[Media] = Field(default_factory=list, max_length=20)  # the signed copy's photo
    # observer_copy only: the copy was digitised from a photo by double entry (dashboard only)
    digitised: Digitisation | None = None
    # official only: the commission publication the figures came from (saylau results
    # import); a later publication of the same station supersedes an earlier one
    publication: str = Field("", pattern=r"^[A-Za-z0-9_.:-]{0,64}$")


class ProtocolEntry(_ProtocolFigures):
    """One volunteer's typing of a protocol photo (``observer_id`` is the volunteer's user
    name; ``station_id`` the photo's station). Two that agree make a digitised copy."""

    kind: Literal["protocol_entry"]
    photo_sha256: Sha256


class PhotoRelease(_Event):
    """Headquarters release (or withdraw) a protocol photo for publication by its hash:
    a photo can show a face or a signature, so none is public before a person looked."""

    kind: Literal["photo_release"]
    photo_sha256: Sha256
    released: bool = True


class Assignment(_Event):
    kind: Literal["assignment"]
    assigned_by: ActorId
    target_station_id: StationId
    note: str = Field("", max_length=500)


# Citizen reports (docs/citizen.md): anyone, no account. They belong to no station and no
# observer, so both fields hold fixed placeholders; nothing in them identifies the reporter.
CITIZEN_STATION: Literal["citizen"] = "citizen"
CITIZEN_REPORTER: Literal["anonymous"] = "anonymous"
CITIZEN_KINDS = frozenset({"citizen_report", "case_update"})
CITIZEN_CATEGORIES = ("employer_pressure", "admin_resource", "other")
EMPLOYER_SECTORS = ("state_body", "national_company", "school", "hospital", "private", "other")
CASE_STATUSES = ("new", "contacted", "legal_help", "closed")
CASE_VERDICTS = ("verified", "rejected", "duplicate", "spam")
RegionCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class CitizenReport(_Event):
    """A citizen's report. ``contact_sealed`` is the contact sealed (libsodium sealed box)
    to the legal team's public key, base64: the server cannot read it."""

    kind: Literal["citizen_report"]
    station_id: Literal["citizen"] = CITIZEN_STATION
    observer_id: Literal["anonymous"] = CITIZEN_REPORTER
    category: Literal[CITIZEN_CATEGORIES]  # type: ignore[valid-type]
    sector: Literal[EMPLOYER_SECTORS]  # type: ignore[valid-type]
    region_code: RegionCode
    settlement: str = Field("", max_length=200)
    organisation: str = Field("", max_length=300)
    description: str = Field(max_length=5000)
    media: list[Media] = Field(default_factory=list, max_length=10)
    contact_sealed: str = Field("", pattern=r"^[A-Za-z0-9+/=]{0,4096}$")


class CaseUpdate(_Event):
    """Moderation and follow-up of a citizen report, by a ``legal`` or headquarters user
    (``observer_id``): a verdict, a status, or both; the latest by time counts."""

    kind: Literal["case_update"]
    station_id: Literal["citizen"] = CITIZEN_STATION
    case_id: uuid.UUID
    verdict: Literal[CASE_VERDICTS] | None = None  # type: ignore[valid-type]
    status: Literal[CASE_STATUSES] | None = None  # type: ignore[valid-type]
    duplicate_of: uuid.UUID | None = None
    note: str = Field("", max_length=500)


Event = Annotated[
    Checkin | Checkout | Turnout | Incident | Review | ExitPoll | Protocol | Assignment
    | CitizenReport | CaseUpdate | ProtocolEntry | PhotoRelease,
    Field(discriminator="kind"),
]
EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(raw: bytes | str) -> Event:
    """Parse and validate one message; raises ``pydantic.ValidationError`` if it breaks v1."""
    return EVENT_ADAPTER.validate_json(raw)


def event_to_json(event: Event) -> str:
    """The canonical JSON text of an event, as producers send it."""
    return event.model_dump_json(by_alias=True, exclude_none=True)


def topic_for(kind: str, prefix: str = "saylau") -> str:
    return f"{prefix}.{KIND_TOPIC[kind]}"


def json_schema() -> dict:
    schema = EVENT_ADAPTER.json_schema(by_alias=True)
    schema["$id"] = "https://saylau.invalid/schema/event-1.json"
    schema["title"] = "Saylau observer event, contract version 1"
    return schema


def write_json_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_json_schema()
    print(f"wrote {SCHEMA_PATH}")
