"""A citizen report as sent (JSON, evidence inline in base64) -> a contract event and its
evidence, checked in full before anything is stored. Pure, apart from the image decoding.

What the reporter typed stays in the event (the legal team needs it) except the contact,
which is sealed here and exists in clear nowhere after this function. The event's id is the
server's own random UUID: nothing the reporter's device chose goes on.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from nacl.public import PublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from saylau.core.contract import (
    CITIZEN_CATEGORIES,
    EMPLOYER_SECTORS,
    CitizenReport,
    Media,
    RegionCode,
)
from saylau.core.sealing import seal
from saylau.core.validation import describe_validation_error
from saylau.ingest.gateway.intake import FieldProblem, Refusal, field_problems
from saylau.ingest.media import IMAGE_FORMATS, MediaRefused, strip_image

# Images only: their metadata can be stripped (Pillow). Audio, video and documents carry
# metadata (device, author, place) the gateway cannot remove, so the page says to send a
# screenshot or photo of them instead: protection by design, not by a promise.
EVIDENCE_TYPES = tuple(IMAGE_FORMATS)


class ProofOfWorkAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    challenge: str = Field(max_length=200)
    nonce: str = Field(max_length=32)


class Evidence(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    mime: Literal[EVIDENCE_TYPES]  # type: ignore[valid-type]
    data: str = Field(description="the file, base64", max_length=60_000_000)
    name: str = Field("", max_length=255, description="ignored: never stored")


class CitizenReportRequest(BaseModel):
    """What POST /v1/citizen-reports takes (docs/citizen.md)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    category: Literal[CITIZEN_CATEGORIES]  # type: ignore[valid-type]
    sector: Literal[EMPLOYER_SECTORS]  # type: ignore[valid-type]
    organisation: str = Field("", max_length=300)
    region_code: RegionCode
    settlement: str = Field("", max_length=200)
    occurred_at: AwareDatetime | None = Field(None, description="when it happened; "
                                                                "unset = now")
    description: str = Field(min_length=1, max_length=5000)
    evidence: list[Evidence] = Field(default_factory=list, max_length=10)
    contact: str = Field("", max_length=500, description="how the lawyers may reach the "
                         "reporter; sealed on arrival to the legal team's key")
    pow: ProofOfWorkAnswer


@dataclass(frozen=True)
class Prepared:
    event: CitizenReport
    files: list[tuple[bytes, str]]  # evidence as sent and its type, each checked readable


def parse_request(body: bytes) -> CitizenReportRequest | Refusal:
    try:
        return CitizenReportRequest.model_validate_json(body)
    except ValidationError as error:
        reason = "invalid_json" if any(item["type"] == "json_invalid"
                                       for item in error.errors()) else "invalid_report"
        return Refusal(reason, describe_validation_error(error), field_problems(error))


def prepare(request: CitizenReportRequest, now: dt.datetime, legal_key: PublicKey | None,
            max_evidence: int, max_file_bytes: int) -> Prepared | Refusal:
    if request.contact.strip() and legal_key is None:
        return Refusal("contact_not_accepted", "this movement takes no contact details yet; "
                       "send the report without one", [FieldProblem("contact", "no key")])
    if len(request.evidence) > max_evidence:
        return Refusal("too_much_evidence", f"at most {max_evidence} files per report",
                       [FieldProblem("evidence", f"has more than {max_evidence} files")])
    files = []
    for index, item in enumerate(request.evidence):
        checked = _checked_file(item, index, max_file_bytes)
        if isinstance(checked, Refusal):
            return checked
        files.append(checked)
    sealed = seal(request.contact.strip(), legal_key) if request.contact.strip() and \
        legal_key is not None else ""
    fields: dict[str, Any] = {
        "kind": "citizen_report", "event_id": uuid.uuid4(),
        "occurred_at": request.occurred_at or now, "category": request.category,
        "sector": request.sector, "region_code": request.region_code,
        "settlement": request.settlement.strip(), "organisation": request.organisation.strip(),
        "description": request.description.strip() or "-", "contact_sealed": sealed,
        # filled in with the stored files' hashes once they are stored
        "media": []}
    return Prepared(CitizenReport.model_validate(fields), files)


def _checked_file(item: Evidence, index: int, max_bytes: int) -> tuple[bytes, str] | Refusal:
    where = f"evidence.{index}"
    try:
        data = base64.b64decode(item.data, validate=True)
    except (binascii.Error, ValueError):
        return Refusal("invalid_evidence", "evidence data must be base64",
                       [FieldProblem(where, "is not base64")])
    if not data:
        return Refusal("invalid_evidence", "an evidence file is empty",
                       [FieldProblem(where, "is empty")])
    if len(data) > max_bytes:
        return Refusal("evidence_too_large", f"an evidence file is larger than {max_bytes} "
                       "bytes", [FieldProblem(where, "is too large")])
    try:
        strip_image(data, item.mime)  # what the store will do: refused now, stored later
    except MediaRefused as refused:
        return Refusal(refused.reason, str(refused), [FieldProblem(where, str(refused))])
    return data, item.mime


def with_media(event: CitizenReport, media: list[Media]) -> CitizenReport:
    return event.model_copy(update={"media": media})
