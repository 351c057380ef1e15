"""Two facts about a request that the guard (saylau/dashboard/auth.py) decides on.

- `decoded_texts`: every text of a request as the code behind it will read it. A check
  that scans the raw request misses ``\\u004bAZ001`` in JSON and ``%4BAZ001`` in a query,
  which Flask, Dash and the pages all read as ``KAZ001``.
- `from_another_site`: whether a browser sent the request from a page that is not the
  dashboard's. The session cookie is SameSite=Lax, which a sibling subdomain's page passes
  (same site), so a state-changing POST also needs its Origin (or Referer) to be ours.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import flask

MAX_UNQUOTE = 3  # %254B -> %4B -> K: decoded until it no longer changes, a few times at most


def json_body(request: flask.Request) -> Any:
    """The request's JSON, or None if it has none or none that parses. A body nested
    thousands deep makes the parser itself fail (RecursionError): that too is None, so
    the answer is a 400, never a 500."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def decoded_texts(request: flask.Request) -> Iterator[str]:
    """The path, the query's names and values, form fields and every text in a JSON body
    (ids and ``changedPropIds`` parsed as Dash parses them), each also percent-decoded."""
    found: list[str] = [request.path]
    for name, values in request.args.lists():
        found.extend([name, *values])
    if request.mimetype == "application/x-www-form-urlencoded":
        for name, values in request.form.lists():
            found.extend([name, *values])
    found.extend(_texts(json_body(request)))
    for text in found:
        yield from _unquoted(text)


def _texts(value: Any) -> Iterator[str]:
    """Every text in a parsed JSON value, keys included; a loop, not recursion, so a
    deeply nested body is read to the end instead of failing with a 500."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
            pending.append(_embedded_json(item))
        elif isinstance(item, dict):
            for key, inner in item.items():
                yield str(key)
                pending.append(inner)
        elif isinstance(item, list):
            pending.extend(item)


def _embedded_json(text: str) -> Any:
    """A pattern id inside a text (``{"station": "…"}.n_clicks`` in changedPropIds)."""
    if not text.startswith("{"):
        return None
    for candidate in (text, text.rpartition(".")[0]):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def _unquoted(text: str) -> Iterator[str]:
    yield text
    for _ in range(MAX_UNQUOTE):
        decoded = unquote_plus(text)
        if decoded == text:
            return
        yield decoded
        text = decoded


def from_another_site(request: flask.Request, own_origins: tuple[str, ...]) -> bool:
    """Whether the request's Origin (else Referer) is not the dashboard's own address.

    `own_origins`: the addresses browsers reach the dashboard at (``https://host:port``);
    none given, the request's own Host is the address. A request with neither header is
    no browser's (browsers send Origin with every cross-site POST) and is not refused here:
    it still needs the session cookie, which only a browser holds for another site.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        if not referer:
            return False
        origin = _origin_of(referer)
    if own_origins:
        return _normalised(origin) not in {_normalised(o) for o in own_origins}
    return urlsplit(origin).netloc.lower() != request.host.lower() or not origin.startswith(
        ("http://", "https://"))


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _normalised(origin: str) -> str:
    return origin.strip().rstrip("/").lower()
