"""The citizen report page (/report) and its API (/v1/citizen-reports), on the gateway.

Anyone may report, without an account. Nothing that could identify the reporter is kept:
the address is used only for the in-memory rate limit (a rotating keyed hash, see
``saylau.ingest.citizen.protection``) and never logged (uvicorn's access log is off, the
journal keeps only the event); no cookie is set or read; the user agent is never read; the
evidence is re-encoded without metadata; the contact is sealed to the legal team's key.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from nacl.public import PublicKey

from saylau.core.contract import CITIZEN_CATEGORIES, EMPLOYER_SECTORS, Media
from saylau.core.i18n import LOCALE_DIR, available_languages, translator
from saylau.core.sealing import public_key
from saylau.ingest.citizen.intake import (
    EVIDENCE_TYPES,
    CitizenReportRequest,
    Prepared,
    parse_request,
    prepare,
    with_media,
)
from saylau.ingest.citizen.protection import AddressLimiter, ProofOfWork
from saylau.ingest.gateway.app import Gateway, error_response
from saylau.ingest.gateway.intake import Refusal, record_for
from saylau.ingest.media import Stored

PAGE_DIR = Path(__file__).resolve().parents[1] / "citizen" / "page"
DOMAIN = "report"
ROUTE = "/v1/citizen-reports"
# No caching anywhere between the phone and us, no referrer to other sites, no framing.
PRIVATE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                   "X-Frame-Options": "DENY"}


@dataclass
class CitizenDesk:
    gateway: Gateway
    limiter: AddressLimiter
    work: ProofOfWork
    legal_key: PublicKey | None
    regions: list[str]

    @classmethod
    def of(cls, gateway: Gateway) -> CitizenDesk:
        settings = gateway.settings
        key = settings.citizen_legal_public_key
        return cls(gateway, AddressLimiter(settings.citizen_rate_per_hour,
                                           settings.citizen_rate_burst),
                   ProofOfWork(settings.citizen_pow_bits),
                   public_key(key) if key else None,
                   sorted(set(gateway.registry["region_code"].astype(str))))

    def now(self) -> dt.datetime:
        return self.gateway.clock()


def add_citizen_routes(app: FastAPI, gateway: Gateway) -> None:
    desk = CitizenDesk.of(gateway)
    app.state.citizen = desk

    @app.get(f"{ROUTE}/challenge", tags=["citizen"],
             responses={200: {"description": "a proof-of-work challenge"}})
    async def challenge() -> Response:
        """A challenge for the proof-of-work: find a nonce such that
        SHA-256(challenge + ":" + nonce) starts with `bits` zero bits."""
        return JSONResponse({"challenge": desk.work.issue(), "bits": desk.work.bits},
                            headers=PRIVATE_HEADERS)

    @app.post(ROUTE, status_code=202, tags=["citizen"], openapi_extra={"requestBody": {
        "required": True, "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/CitizenReportRequest"}}}}},
        responses={202: {"description": "journaled; `case_id` is the report's reference"},
                   **{code: {"description": text} for code, text in (
                       (400, "the body is not valid JSON"), (403, "the proof-of-work is "
                        "missing, wrong, expired or spent"), (413, "the body is too large"),
                       (422, "a field is wrong (named, never echoed)"),
                       (429, "too many reports from here; see Retry-After"),
                       (503, "cannot be stored now; nothing was kept"))}})
    async def post_report(request: Request) -> Response:
        """A citizen's report, no account: employer pressure or administrative resource."""
        return await receive(desk, request)

    @app.get("/report", include_in_schema=False)
    async def report_root() -> Response:
        return RedirectResponse("/report/")

    @app.get("/report/i18n/{language}.json", include_in_schema=False)
    async def texts(language: str) -> Response:
        if language not in available_languages(domain=DOMAIN):
            return error_response(404, "not_found", "no catalog for this language")
        return JSONResponse(messages(language), headers=PRIVATE_HEADERS)

    @app.get("/report/config.json", include_in_schema=False)
    async def config() -> Response:
        return JSONResponse(page_config(desk), headers=PRIVATE_HEADERS)

    @app.get("/report/", include_in_schema=False)
    async def page() -> Response:
        return FileResponse(PAGE_DIR / "index.html", headers=PRIVATE_HEADERS)

    app.mount("/report", StaticFiles(directory=PAGE_DIR), name="citizen-page")


async def receive(desk: CitizenDesk, request: Request) -> Response:
    gateway = desk.gateway
    # the address, for the in-memory keyed bucket only; never logged, never stored
    wait = desk.limiter.take(request.client.host if request.client else "")
    if wait > 0:
        gateway.metrics.refused.labels("rate_limited").inc()
        return error_response(429, "rate_limited", "too many reports from here; retry later",
                              headers={"Retry-After": str(max(1, round(wait)))})
    parsed = parse_request(await request.body())
    if isinstance(parsed, Refusal):
        return refusal_response(gateway, 400 if parsed.reason == "invalid_json" else 422,
                                parsed)
    problem = desk.work.check(parsed.pow.challenge, parsed.pow.nonce)
    if problem is not None:
        return refusal_response(gateway, 403, Refusal(problem, "the proof-of-work is "
                                "missing, wrong, expired or already used; ask "
                                f"{ROUTE}/challenge for a new one"))
    prepared = await run_in_threadpool(_prepare, desk, parsed)
    if isinstance(prepared, Refusal):
        return refusal_response(gateway, 413 if prepared.reason == "evidence_too_large"
                                else 422, prepared)
    try:
        case_id = await store(desk, prepared)
    except OSError:
        return error_response(503, "unavailable", "the report cannot be stored now; nothing "
                              "was kept, send it again")
    gateway.metrics.accepted.labels("citizen_report").inc()
    return JSONResponse({"case_id": case_id}, status_code=202, headers=PRIVATE_HEADERS)


def _prepare(desk: CitizenDesk, parsed: CitizenReportRequest) -> Prepared | Refusal:
    settings = desk.gateway.settings
    prepared = prepare(parsed, desk.now(), desk.legal_key, settings.citizen_max_evidence,
                       settings.media_max_bytes)
    if isinstance(prepared, Prepared) and prepared.event.region_code not in desk.regions:
        return Refusal("unknown_region", "region_code is not a region of the registry")
    return prepared


async def store(desk: CitizenDesk, prepared: Prepared) -> str:
    """The evidence files, then the event on the journal; if the journal fails, the files
    this report created are removed again (nothing partial stays)."""
    gateway = desk.gateway
    media = gateway.media
    stored: list[Stored] = []
    try:
        for data, mime in prepared.files:
            stored.append(await run_in_threadpool(media.put, data, mime))
        event = with_media(prepared.event, [Media(sha256=item.sha256, mime=item.mime)
                                            for item in stored])
        assert gateway.committer is not None, "the gateway is not started"
        await gateway.committer.append([record_for(event, desk.now(),
                                                   gateway.rules.topic_prefix)])
    except OSError:
        for item in stored:
            if item.created:
                media.path_of(item.sha256, item.mime).unlink(missing_ok=True)
        raise
    return str(event.event_id)


def refusal_response(gateway: Gateway, status: int, refusal: Refusal) -> Response:
    gateway.metrics.refused.labels(refusal.reason).inc()
    body = refusal.as_dict()
    return error_response(status, body["reason"], body["detail"], body["errors"])


def page_config(desk: CitizenDesk) -> dict[str, Any]:
    settings = desk.gateway.settings
    return {"languages": list(available_languages(domain=DOMAIN)),
            "categories": list(CITIZEN_CATEGORIES), "sectors": list(EMPLOYER_SECTORS),
            "regions": desk.regions, "evidence_types": list(EVIDENCE_TYPES),
            "max_evidence": settings.citizen_max_evidence,
            "max_file_bytes": settings.media_max_bytes,
            "contact_enabled": desk.legal_key is not None, "pow_bits": desk.work.bits}


@functools.lru_cache(maxsize=8)
def messages(language: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    """Every text of the page in ``language`` (untranslated ones as their English text)."""
    catalog = translator(language, DOMAIN, locale_dir)
    with (locale_dir / "en" / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        ids = [str(m.id) for m in read_po(source, domain=DOMAIN) if m.id and
               isinstance(m.id, str)]
    return {msgid: catalog.gettext(msgid) for msgid in ids}


def citizen_components() -> dict[str, Any]:
    """The request's schema (and its parts) for the OpenAPI document."""
    schema = CitizenReportRequest.model_json_schema(
        ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = schema.pop("$defs", {})
    components["CitizenReportRequest"] = schema
    return components
