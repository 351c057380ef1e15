"""The shapes of the gateway's answers (for the OpenAPI document and its clients)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class FieldProblem(BaseModel):
    field: str = Field(description="the field at fault, e.g. 'ballots_issued'")
    problem: str = Field(description="what is wrong with it (never the value sent)")


class ErrorResponse(BaseModel):
    reason: str = Field(description="machine-readable, e.g. unauthorized, invalid_json")
    detail: str
    errors: list[FieldProblem] = Field(default_factory=list)


class AcceptedEvent(BaseModel):
    index: int = Field(description="position in the request (0 for a single event)")
    event_id: str
    offset: int = Field(description="journal offset")
    received_at: str = Field(description="when the gateway received it (UTC, ISO 8601)")


class RefusedEvent(BaseModel):
    index: int
    event_id: str | None = None
    reason: str = Field(description="e.g. invalid_event, unknown_station, observer_mismatch")
    detail: str
    errors: list[FieldProblem]


class IngestResponse(BaseModel):
    accepted: list[AcceptedEvent]
    refused: list[RefusedEvent]


class StationView(BaseModel):
    station_id: str
    region_code: str
    settlement: str
    address: str
    lat: float | None = Field(None, description="the station's position (the field app's "
                                                "geofence warning)")
    lon: float | None = None


class MediaStored(BaseModel):
    sha256: str = Field(description="refer to the file in an event as {sha256, mime}")
    mime: str
    bytes: int = Field(description="size of the stored file (images: metadata stripped)")
    created: bool = Field(description="false when the same file was already stored")


class MeResponse(BaseModel):
    observer_id: str
    role: str
    token_id: str
    expires_at: str
    assigned_station: StationView | None


class Health(BaseModel):
    status: str
    journal_next_offset: int
    journal_delivered: int
    journal_pending: int


class SmsRequest(BaseModel):
    text: str = Field(max_length=1600, description="the message as received")
    message_id: str | None = Field(None, max_length=128,
                                   description="the SMS provider's id: a resent SMS with the "
                                               "same id is the same event")


class SmsReply(BaseModel):
    ok: bool
    reply: str = Field(description="text to send back to the observer")
    event_id: str | None = None


class BulkRefusedRow(BaseModel):
    line: int
    reason: str
    errors: list[FieldProblem]


class BulkResponse(BaseModel):
    accepted: int
    event_ids: list[str]
    refused: list[BulkRefusedRow]


def extra_components() -> dict[str, Any]:
    """Schemas the routes reference by hand (raw bodies FastAPI does not model)."""
    return {"BatchRequest": {
        "type": "object", "required": ["events"], "additionalProperties": False,
        "properties": {"events": {"type": "array", "minItems": 1, "maxItems": 1000,
                                  "items": {"$ref": "#/components/schemas/Event"}}}}}
