"""Bulk CSV uploads by headquarters, validated row by row.

``results``: official per-station results as the election commission publishes them;
``protocols``: observers' copies of the protocols, one row per copy with its observer_id.
Columns: ``station_id, registered, ballots_received, ballots_issued, ballots_cast, invalid``,
then one column per ballot option (``amanat, …, against_all``), optionally ``published_at``
(ISO 8601 with offset; default: when the gateway received the file); ``protocols`` also
needs ``observer_id``. Valid rows are accepted, the others refused with their line number
and the fields at fault. A row's event_id is derived from its content, so uploading the
same file twice counts each row once.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from typing import TYPE_CHECKING, Any

from fastapi.responses import JSONResponse
from pydantic import ValidationError

from saylau.core.contract import Event, Protocol
from saylau.ingest.gateway.intake import FieldProblem, Refusal, field_problems, rule_refusal

if TYPE_CHECKING:
    from saylau.ingest.gateway.app import Gateway
    from saylau.ingest.gateway.tokens import Identity

COUNT_COLUMNS = ("registered", "ballots_received", "ballots_issued", "ballots_cast", "invalid")
KINDS = {"results": "official", "protocols": "observer_copy"}
BULK_NAMESPACE = uuid.UUID("6c1d2f8e-2a7b-4f0e-8b1a-3d5c7e9f1a20")
MAX_ROWS = 100_000


def parse_csv(text: str, source: str, uploader: str, now: dt.datetime, options: set[str]
              ) -> tuple[list[tuple[int, Event]], list[tuple[int, Refusal]]] | Refusal:
    """(line, event) for each valid row and (line, refusal) for the others; or a refusal
    of the whole file when its header is wrong or it is not a readable CSV."""
    try:
        return _parse_rows(text, source, uploader, now, options)
    except (csv.Error, ValueError):  # a row parser that missed a case must still be a 4xx
        return Refusal("invalid_csv", "the body is not a readable CSV",
                       [FieldProblem("body", "is not CSV (e.g. a stray quote or line break)")])


def _parse_rows(text: str, source: str, uploader: str, now: dt.datetime, options: set[str]
                ) -> tuple[list[tuple[int, Event]], list[tuple[int, Refusal]]] | Refusal:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    problem = _header_problem(header, source, options)
    if problem is not None:
        return problem
    reader.fieldnames = header
    good: list[tuple[int, Event]] = []
    bad: list[tuple[int, Refusal]] = []
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            bad.append((number, Refusal("too_many_rows", f"at most {MAX_ROWS} rows")))
            break
        outcome = _row_event(row, source, uploader, now, options)
        if isinstance(outcome, Refusal):
            bad.append((number, outcome))
        else:
            good.append((number, outcome))
    return good, bad


def _header_problem(header: list[str], source: str, options: set[str]) -> Refusal | None:
    required = {"station_id", *COUNT_COLUMNS} | ({"observer_id"} if source == "observer_copy"
                                                 else set())
    allowed = required | options | {"published_at"}
    missing = sorted(required - set(header))
    unknown = [name for name in header if name not in allowed]
    if not header or missing or unknown or len(set(header)) != len(header):
        errors = [FieldProblem(name, "column is missing") for name in missing]
        if unknown:
            errors.append(FieldProblem("header", f"{len(unknown)} column(s) are neither "
                                                 "counts nor ballot options"))
        if len(set(header)) != len(header):
            errors.append(FieldProblem("header", "a column appears twice"))
        return Refusal("invalid_header", "line 1: the header does not match the format",
                       errors or [FieldProblem("header", "is empty")])
    return None


def _row_event(row: dict[str | Any, Any], source: str, uploader: str, now: dt.datetime,
               options: set[str]) -> Event | Refusal:
    if None in row or any(value is None for value in row.values()):
        return Refusal("invalid_row", "the row has a different number of fields than the "
                       "header", [FieldProblem("row", "wrong number of fields")])
    errors: list[FieldProblem] = []
    counts = {name: _count(row[name], name, errors) for name in COUNT_COLUMNS}
    votes = {name: _count(row[name], name, errors) for name in options if name in row}
    occurred = _time(row.get("published_at", ""), now, errors)
    if errors:
        return Refusal("invalid_row", "; ".join(f"{e.field}: {e.problem}" for e in errors),
                       errors)
    observer_id = row["observer_id"].strip() if source == "observer_copy" else uploader
    content = "\x1f".join(f"{k}={row[k]}" for k in sorted(row))
    fields = {"event_id": uuid.uuid5(BULK_NAMESPACE, f"{source}\x1f{content}"),
              "station_id": row["station_id"].strip(), "observer_id": observer_id,
              "occurred_at": occurred, "kind": "protocol", "source": source,
              **counts, "votes": votes}
    try:
        return Protocol.model_validate(fields)
    except ValidationError as error:
        problems = field_problems(error)
        return Refusal("invalid_row", "; ".join(f"{p.field}: {p.problem}" for p in problems),
                       problems)


def _count(text: str, name: str, errors: list[FieldProblem]) -> int:
    value = text.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        errors.append(FieldProblem(name, "is not a whole number from 0 to 999999999"))
        return 0
    return int(value)


def _time(text: str, now: dt.datetime, errors: list[FieldProblem]) -> dt.datetime:
    if not text.strip():
        return now
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        errors.append(FieldProblem("published_at", "is not an ISO 8601 time"))
        return now
    if moment.tzinfo is None:
        errors.append(FieldProblem("published_at", "has no UTC offset"))
    return moment


async def handle(gateway: Gateway, who: Identity, kind: str, body: bytes) -> JSONResponse:
    from saylau.ingest.gateway.app import error_response

    if kind not in KINDS:
        return error_response(404, "not_found", "upload kinds are results and protocols")
    if who.role != "hq":
        return error_response(403, "role_not_allowed", "only headquarters tokens may upload")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return error_response(400, "invalid_encoding", "the CSV must be UTF-8")
    now = gateway.clock()
    parsed = parse_csv(text, KINDS[kind], who.observer_id, now,
                       set(gateway.rules.ballot.vote_options))
    if isinstance(parsed, Refusal):
        return error_response(422, parsed.reason, parsed.detail,
                              [vars(problem) for problem in parsed.errors])
    good, bad = parsed
    ready: list[tuple[int, Event]] = []
    for line, event in good:
        refusal = rule_refusal(event, gateway.rules)
        if refusal is None:
            ready.append((line, event))
        else:
            bad.append((line, refusal))
    for _, refusal in bad:
        gateway.metrics.refused.labels(refusal.reason).inc()
    accepted = await gateway.journal_events(ready, now)
    return JSONResponse({
        "accepted": len(accepted), "event_ids": [item["event_id"] for item in accepted],
        "refused": [{"line": line, "reason": r.reason, "errors": [vars(e) for e in r.errors]}
                    for line, r in sorted(bad, key=lambda pair: pair[0])]})
