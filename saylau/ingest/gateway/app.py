"""The gateway's HTTP API (FastAPI): reports in, each journaled before it is acknowledged.

``create_app(settings)`` builds the app; the lifespan opens the journal, re-queues what
Kafka has not acknowledged, and starts the group committer and the sender.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from saylau.core.contract import EVENT_ADAPTER, Event
from saylau.core.rules import Ballot
from saylau.core.settings import Settings
from saylau.core.validation import DayWindow, station_index
from saylau.geo.registry import load_registry
from saylau.ingest.gateway import schemas
from saylau.ingest.gateway.intake import (
    FORBIDDEN_REASONS,
    Refusal,
    Rules,
    check,
    parse_item,
    record_for,
    refused_record,
)
from saylau.ingest.gateway.journal import GroupCommitter, Journal, Record
from saylau.ingest.gateway.limits import BodyLimit, BodyTooLarge
from saylau.ingest.gateway.metrics import GatewayMetrics
from saylau.ingest.gateway.placement import Placements, placements_path
from saylau.ingest.gateway.ratelimit import RateLimiter
from saylau.ingest.gateway.sender import Sender, kafka_end_offsets, kafka_producer
from saylau.ingest.gateway.sms import StationDirectory
from saylau.ingest.gateway.tokens import Identity, TokenStore, tokens_path
from saylau.ingest.media import MediaStore, allowed_types
from saylau.kafka.topics import prepare_topics

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]


def journal_dir(settings: Settings) -> Path:
    return settings.gateway_journal_dir or settings.data_dir / "journal"


@dataclass
class Gateway:
    """What the routes share: settings, rules, tokens, limits, journal, sender, metrics."""

    settings: Settings
    rules: Rules
    tokens: TokenStore
    limiter: RateLimiter
    journal: Journal
    sender: Sender
    metrics: GatewayMetrics
    clock: Clock
    assignments: dict[str, str]
    registry: pd.DataFrame
    directory: StationDirectory
    placements: Placements
    media: MediaStore
    committer: GroupCommitter | None = None

    async def accept(self, items: list[Any], identity: Identity) -> tuple[list[dict[str, Any]],
                                                                         list[dict[str, Any]]]:
        """Check every item; journal the good ones and the malformed ones kept for
        ``rejected`` (one fsync); say what happened to each."""
        received_at = self.clock()
        good: list[tuple[int, Event]] = []
        refused: list[dict[str, Any]] = []
        kept: list[Record] = []
        for index, item in enumerate(items):
            outcome = parse_item(item)
            if not isinstance(outcome, Refusal):
                outcome = self.vet(outcome, identity) or outcome
            if isinstance(outcome, Refusal):
                refused.append(outcome.as_dict(index))
                kept += self.kept_refusal(outcome, item, received_at)
            else:
                good.append((index, outcome))
        for item in refused:
            self.metrics.refused.labels(item["reason"]).inc()
        accepted = await self.journal_events(good, received_at, kept)
        return accepted, refused

    def kept_refusal(self, refusal: Refusal, item: Any, received_at: dt.datetime
                     ) -> list[Record]:
        """The journal record that takes a malformed message to ``rejected``; none for a
        refusal of who sent it (a token's rights are not a message's fault)."""
        if refusal.reason in FORBIDDEN_REASONS:
            return []
        return [refused_record(refusal, item, received_at, self.rules.topic_prefix)]

    async def keep_malformed(self, refusal: Refusal, body: bytes) -> None:
        """Journal a whole request's body that could not be read as reports at all."""
        assert self.committer is not None, "the gateway is not started"
        self.metrics.refused.labels(refusal.reason).inc()
        await self.committer.append(self.kept_refusal(refusal, body, self.clock()))

    def vet(self, event: Event, identity: Identity) -> Refusal | None:
        """Check one event; if it passes, the placement it makes (assignment, first check-in)
        is recorded at once, so the next event, even in the same batch, is held to it."""
        problem = check(event, identity, self.rules, self.placements.stations)
        if problem is None:
            self.placements.record(event)
        return problem

    async def journal_events(self, good: list[tuple[int, Event]], received_at: dt.datetime,
                             kept: list[Record] | None = None) -> list[dict[str, Any]]:
        if not good and not kept:
            return []
        assert self.committer is not None, "the gateway is not started"
        prefix = self.rules.topic_prefix
        entries = await self.committer.append(
            [record_for(event, received_at, prefix) for _, event in good] + (kept or []))
        accepted = []
        for (index, event), entry in zip(good, entries[:len(good)], strict=True):
            self.metrics.accepted.labels(event.kind).inc()
            accepted.append({"index": index, "event_id": str(event.event_id),
                             "offset": entry.offset, "received_at": received_at.isoformat()})
        return accepted


def build_gateway(settings: Settings, *, registry: pd.DataFrame | None = None,
                  clock: Clock | None = None, producer_factory: Callable[[], Any] | None = None,
                  token_cache_seconds: float = 2.0) -> Gateway:
    registry = load_registry(settings) if registry is None else registry
    election = settings.election()
    rules = Rules(station_index(registry), DayWindow.for_election(election.date, election.tz),
                  Ballot.of(election), settings.topic_prefix)
    tokens = TokenStore(tokens_path(settings.data_dir),
                        settings.gateway_token_pepper.get_secret_value(), token_cache_seconds)
    journal = Journal(journal_dir(settings),
                      retain_seconds=settings.gateway_journal_retain_seconds)
    bootstrap = settings.kafka_address
    sender = Sender(journal, producer_factory or (lambda: kafka_producer(bootstrap)),
                    on_failure=lambda: prepare_topics(settings, bootstrap),
                    end_offsets=kafka_end_offsets(bootstrap))
    metrics = GatewayMetrics()
    metrics.gauge("saylau_gateway_journal_pending", "journaled, not yet acknowledged by Kafka",
                  lambda: sender.pending)
    metrics.gauge("saylau_gateway_journal_delivered", "journal offset delivered up to",
                  lambda: journal.delivered)
    metrics.gauge("saylau_gateway_sender_failures", "failed send rounds",
                  lambda: sender.failures)
    assignments = _assignments(settings)
    return Gateway(settings, rules, tokens,
                   RateLimiter(settings.gateway_rate_per_second, settings.gateway_rate_burst),
                   journal, sender, metrics, clock or (lambda: dt.datetime.now(dt.UTC)),
                   assignments, registry, StationDirectory(rules.stations),
                   Placements(placements_path(settings.data_dir), assignments),
                   MediaStore(settings.media_path, allowed_types(settings.media_types),
                              settings.media_max_bytes))


def _assignments(settings: Settings) -> dict[str, str]:
    """observer_id -> assigned station, from the public part of the stored roster."""
    from saylau.geo.roster import PUBLIC_FILE

    path = settings.data_dir / "roster" / PUBLIC_FILE
    if not path.is_file():
        return {}
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {row.observer_id: row.assigned_station for row in frame.itertuples()
            if row.assigned_station}


def create_app(settings: Settings, **options: Any) -> FastAPI:
    """The gateway app. ``options`` go to :func:`build_gateway` (registry, clock, …)."""
    gateway = build_gateway(settings, **options)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        undelivered = gateway.journal.open()
        gateway.sender.submit(undelivered)
        gateway.sender.start()
        gateway.committer = GroupCommitter(gateway.journal, gateway.sender.submit)
        gateway.committer.start()
        try:
            yield
        finally:
            await gateway.committer.stop()
            gateway.sender.stop(timeout=5.0)
            gateway.journal.close()
            gateway.tokens.close()
            gateway.placements.close()

    app = FastAPI(title="Saylau ingest gateway", version="1", lifespan=lifespan,
                  description="Observer reports in; each is journaled to disk before it is "
                              "acknowledged and then delivered to Kafka.")
    app.state.gateway = gateway
    app.add_middleware(BodyLimit, max_bytes=settings.gateway_max_body_bytes,
                       per_path={"/v1/media": settings.media_max_bytes,
                                 "/v1/citizen-reports": settings.citizen_max_body_bytes})
    _error_handlers(app)
    from saylau.ingest.gateway.citizen import add_citizen_routes
    from saylau.ingest.gateway.fieldapp import add_fieldapp_routes
    from saylau.ingest.gateway.routes import add_routes

    add_routes(app, gateway)
    add_fieldapp_routes(app, gateway)
    add_citizen_routes(app, gateway)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        reason = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code,
                                                                  "http_error")
        return error_response(error.status_code, reason, str(error.detail),
                              headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def request_error(request: Request, error: RequestValidationError) -> Response:
        problems = [{"field": ".".join(str(p) for p in item["loc"]), "problem": item["msg"]}
                    for item in error.errors()]
        return error_response(422, "invalid_request", "the request is malformed", problems)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, error: BodyTooLarge) -> Response:
        return error_response(413, "body_too_large",
                              f"the body is larger than {error.limit} bytes")


def error_response(status: int, reason: str, detail: str,
                   errors: list[dict[str, str]] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"reason": reason, "detail": detail, "errors": errors or []},
                        status_code=status, headers=headers)


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the event contract's schemas for the raw request bodies."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(title=app.title, version=app.version,
                           description=app.description, routes=app.routes)
    event = EVENT_ADAPTER.json_schema(by_alias=True,
                                      ref_template="#/components/schemas/{model}")
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(event.pop("$defs", {}))
    components["Event"] = event
    components.update(schemas.extra_components())
    from saylau.ingest.gateway.citizen import citizen_components

    components.update(citizen_components())
    app.openapi_schema = document
    return document


def metrics_response(gateway: Gateway) -> Response:
    return PlainTextResponse(generate_latest(gateway.metrics.registry).decode("utf-8"),
                             media_type="text/plain; version=0.0.4")


def load_json(body: bytes) -> Any:
    """The decoded body; ValueError if it is not JSON (the message names no value)."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ValueError("the body is not valid JSON") from error


def elapsed_since(start: float) -> float:
    return time.perf_counter() - start
