"""The gateway's routes: thin wiring between HTTP and the Gateway object."""

from __future__ import annotations

import contextlib
import json
import time
from typing import Annotated, Any

from fastapi import FastAPI, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from saylau.ingest.gateway import bulk, sms
from saylau.ingest.gateway.app import Gateway, error_response, load_json, metrics_response
from saylau.ingest.gateway.intake import FORBIDDEN_REASONS, Refusal
from saylau.ingest.gateway.schemas import (
    BulkResponse,
    ErrorResponse,
    Health,
    IngestResponse,
    MediaStored,
    MeResponse,
    SmsReply,
    SmsRequest,
)
from saylau.ingest.gateway.tokens import Identity
from saylau.ingest.media import MediaRefused

bearer = HTTPBearer(auto_error=False, description="sy_… token from `saylau observers "
                                                  "issue-token`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    meaning = {400: "the body is not valid JSON", 415: "not an accepted photo or video type",
               401: "no token, or an unknown, expired or "
               "revoked one", 403: "the token may not send this", 413: "the body or batch is "
               "too large", 422: "the request is malformed", 429: "rate limit: see Retry-After",
               503: "the journal cannot be written"}
    return {code: {"model": ErrorResponse, "description": meaning[code]} for code in codes}


def _json_body(ref: str) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}}


MEDIA_BODY = {"requestBody": {"required": True, "content": {
    kind: {"schema": {"type": "string", "format": "binary"}}
    for kind in ("image/jpeg", "image/png", "image/webp", "video/mp4", "video/webm",
                 "video/3gpp")}}}
CSV_BODY = {"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}}}}}


def add_routes(app: FastAPI, gateway: Gateway) -> None:
    async def identify(credentials: HTTPAuthorizationCredentials | None,
                       cost: int = 1) -> Identity | Response:
        if credentials is None:
            return error_response(401, "unauthorized", "send Authorization: Bearer <token>",
                                  headers={"WWW-Authenticate": "Bearer"})
        identity = gateway.tokens.verify(credentials.credentials)
        if identity is None:
            return error_response(401, "unauthorized", "the token is unknown, expired or "
                                  "revoked", headers={"WWW-Authenticate": "Bearer"})
        wait = gateway.limiter.take(identity.observer_id, cost)
        if wait > 0:
            gateway.metrics.refused.labels("rate_limited").inc()
            return error_response(429, "rate_limited", "too many reports; retry later",
                                  headers={"Retry-After": str(max(1, round(wait)))})
        return identity

    async def ingest(request: Request, credentials: HTTPAuthorizationCredentials | None,
                     batch: bool) -> Response:
        started = time.perf_counter()
        body = await request.body()
        try:
            document = load_json(body) if batch else _check_json(body)
        except ValueError as error:
            return await refuse_body(credentials, body, 400, "invalid_json", str(error))
        items = _batch_items(document, gateway.settings.gateway_max_batch) if batch else \
            [body]
        if isinstance(items, Response):
            return items
        who = await identify(credentials, cost=len(items))
        if isinstance(who, Response):
            return who
        try:
            accepted, refused = await gateway.accept(items, who)
        except OSError:
            return error_response(503, "journal_unavailable", "the journal cannot be written; "
                                  "nothing was accepted, send again")
        gateway.metrics.requests.labels("batch" if batch else "event").observe(
            time.perf_counter() - started)
        return _ingest_answer(accepted, refused, batch)

    async def refuse_body(credentials: HTTPAuthorizationCredentials | None, body: bytes,
                          status: int, reason: str, detail: str) -> Response:
        """Refuse an unreadable body; if a known sender sent it, keep it for ``rejected``
        (an anonymous one is not kept, so strangers cannot fill the warehouse)."""
        who = await identify(credentials)
        if not isinstance(who, Response):
            with contextlib.suppress(OSError):  # the answer is a refusal either way
                await gateway.keep_malformed(Refusal(reason, detail), body)
        return error_response(status, reason, detail)

    @app.post("/v1/events", status_code=202, openapi_extra=_json_body("Event"),
              responses={202: {"model": IngestResponse, "description": "journaled"},
                         **_errors(400, 401, 403, 413, 429, 503),
                         422: {"model": IngestResponse, "description": "refused, with why"}})
    async def post_event(request: Request, credentials: Credentials) -> Response:
        """One report. 202 once it is on disk; 422 says which fields are wrong."""
        return await ingest(request, credentials, batch=False)

    @app.post("/v1/events:batch", openapi_extra=_json_body("BatchRequest"),
              responses={200: {"model": IngestResponse, "description": "what was accepted "
                               "and what was refused, per event"},
                         **_errors(400, 401, 413, 429, 503),
                         422: {"model": IngestResponse | ErrorResponse,
                               "description": "nothing accepted"}})
    async def post_batch(request: Request, credentials: Credentials) -> Response:
        """Up to SAYLAU_GATEWAY_MAX_BATCH reports; each is accepted or refused on its own."""
        return await ingest(request, credentials, batch=True)

    @app.get("/v1/me", response_model=MeResponse, responses={**_errors(401, 429)})
    async def me(credentials: Credentials
                 ) -> Response:
        """The token's holder and the station they are assigned to (no personal data)."""
        who = await identify(credentials, cost=0)
        if isinstance(who, Response):
            return who
        return JSONResponse(_me(gateway, who))

    @app.post("/v1/sms", responses={202: {"model": SmsReply, "description": "journaled"},
                                    **_errors(400, 401, 413, 429, 503),
                                    422: {"model": SmsReply, "description": "not understood; "
                                                                            "reply says why"}},
              status_code=202)
    async def post_sms(message: SmsRequest, credentials: Credentials) -> Response:
        """A report in the SMS grammar (docs/gateway.md), forwarded with the token."""
        who = await identify(credentials)
        if isinstance(who, Response):
            return who
        return await sms.handle(gateway, who, message)

    @app.post("/v1/bulk/{kind}", openapi_extra=CSV_BODY,
              responses={200: {"model": BulkResponse, "description": "rows accepted and "
                               "refused, by line"}, **_errors(400, 401, 403, 413, 429, 503),
                         404: {"model": ErrorResponse, "description": "unknown upload kind"}})
    async def post_bulk(kind: str, request: Request,
                        credentials: Credentials
                        ) -> Response:
        """Headquarters: CSV of official results (kind=results) or observer protocol copies
        (kind=protocols), validated row by row."""
        who = await identify(credentials)
        if isinstance(who, Response):
            return who
        return await bulk.handle(gateway, who, kind, await request.body())

    @app.post("/v1/media", status_code=201, openapi_extra=MEDIA_BODY,
              responses={201: {"model": MediaStored, "description": "stored (or already)"},
                         **_errors(401, 413, 415, 422, 429, 503)})
    async def post_media(request: Request, credentials: Credentials) -> Response:
        """A photo or short video, the raw bytes with their Content-Type; images are stored
        without their metadata (EXIF, GPS, device). Refer to it in an event by the sha256."""
        who = await identify(credentials)
        if isinstance(who, Response):
            return who
        body = await request.body()
        try:
            stored = await run_in_threadpool(gateway.media.put, body,
                                             request.headers.get("content-type"))
        except MediaRefused as refused:
            return error_response(refused.status, refused.reason, str(refused))
        except OSError:
            return error_response(503, "media_unavailable", "the upload cannot be stored; "
                                  "send it again")
        return JSONResponse(stored.as_dict(), status_code=201)

    @app.get("/healthz", response_model=Health)
    async def healthz() -> Response:
        journal = gateway.journal
        return JSONResponse({"status": "ok", "journal_next_offset": journal.next_offset,
                             "journal_delivered": journal.delivered,
                             "journal_pending": gateway.sender.pending})

    @app.get("/metrics", response_class=Response,
             responses={200: {"content": {"text/plain": {}}, "description": "Prometheus"}})
    async def metrics() -> Response:
        return metrics_response(gateway)


def _check_json(body: bytes) -> bytes:
    """``body`` if it is JSON, else ValueError (the event itself is validated later)."""
    try:
        json.loads(body)
        return body
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError("the body is not valid JSON") from error


def _batch_items(document: Any, limit: int) -> list[Any] | Response:
    events = document.get("events") if isinstance(document, dict) else None
    if not isinstance(events, list) or not events:
        return error_response(422, "invalid_batch", "the body must be {\"events\": [...]} "
                              "with at least one event",
                              [{"field": "events", "problem": "is missing or empty"}])
    if len(events) > limit:
        return error_response(413, "batch_too_large", f"at most {limit} events per batch",
                              [{"field": "events", "problem": f"has more than {limit} items"}])
    return events


def _ingest_answer(accepted: list[dict[str, Any]], refused: list[dict[str, Any]],
                   batch: bool) -> Response:
    body = {"accepted": accepted, "refused": refused}
    if not accepted:
        status = 403 if not batch and refused[0]["reason"] in FORBIDDEN_REASONS else 422
        if status == 403:
            first = refused[0]
            return error_response(403, first["reason"], first["detail"], first["errors"])
        return JSONResponse(body, status_code=422)
    return JSONResponse(body, status_code=200 if batch else 202)


def _me(gateway: Gateway, who: Identity) -> dict[str, Any]:
    # the roster's station, else where headquarters or a first check-in placed them
    station_id = gateway.assignments.get(who.observer_id) or next(
        iter(sorted(gateway.placements.stations(who.observer_id))), None)
    station = None
    if station_id is not None:
        rows = gateway.registry[gateway.registry["station_id"] == station_id]
        if not rows.empty:
            row = rows.iloc[0]
            station = {"station_id": station_id, "region_code": str(row["region_code"]),
                       "settlement": str(row["settlement"]), "address": str(row["address"]),
                       "lat": float(row["lat"]), "lon": float(row["lon"])}
    return {"observer_id": who.observer_id, "role": who.role, "token_id": who.token_id,
            "expires_at": who.expires_at.isoformat(), "assigned_station": station}
