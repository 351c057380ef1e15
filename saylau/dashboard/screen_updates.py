"""How an open screen learns of new numbers, and is then sent only what changed.

1. **A version poll.** Every ``SAYLAU_DASHBOARD_POLL_SECONDS`` a clientside callback
   (``version_poll``) asks a tiny route for the version of the snapshot the screen's page
   would show now, for the screen's as-of time: ``/wall/version`` for the wall,
   ``/region/CODE/version`` for a region page (``?as_of=…`` in time travel). The routes sit
   under their page's path, so the guard (``saylau/dashboard/auth.py``) judges them as the
   page itself: the wall's for headquarters only, a region's for headquarters and that
   region's lead (a request naming another region is refused), anyone else is sent to the
   login page. A region's version is a fingerprint of that region's stations and incidents
   alone: a lead learns nothing of another region, not even that it changed. Only when the
   version differs from the one on screen does the poll write it into the page's
   ``…-latest`` store, which is the input of the page's server callback. A screen showing
   the latest numbers therefore costs one small GET per poll and no callback at all.
   The version comes from the shared snapshot cache (``saylau/dashboard/snapshot.py``): a
   hundred screens polling take one snapshot per interval together, not one each.
2. **Only what changed.** The server callback keeps, in the screen's ``…-shown`` store, a
   fingerprint of every part it drew (``parts``: each HTML panel, and each trace property and
   the layout of each figure). Comparing them with the new snapshot's, it answers
   ``no_update`` for a panel that is the same, and a ``dash.Patch`` for a figure whose
   traces kept their shape: only the changed trace properties (a choropleth's ``z``, the
   markers' colours …) travel, never the region outlines or the layout. A figure whose
   layout or traces changed shape is sent whole. The store is written by the same answer
   that draws the panels, so it always describes what the screen shows.
3. **One answer for every screen.** Screens showing the same version ask the same question
   when the next one comes, and get the same answer. The wall's answer is encoded once per
   (version shown, new version, language) and kept (``AnswerCache``): the next screens are
   sent those bytes after the guard judged their request, without the callback running
   again (encoding a patch of ten thousand markers is most of a callback's cost).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import dash
import flask
from plotly.io.json import to_json_plotly
from werkzeug.exceptions import BadRequest

from saylau.dashboard.auth import CALLBACK_PATH, require_page, require_region
from saylau.dashboard.request_check import json_body
from saylau.dashboard.snapshot import Snapshot, content_version, current_settings, current_snapshot
from saylau.dashboard.timetravel import BadAsOf, parse_as_of

WALL_VERSION_PATH = "/wall/version"
REGION_VERSION_PATH = "/region/<code>/version"
FIGURE, PANEL = "figure", "panel"

# The browser side of the poll: ``path`` is a JavaScript expression of the route's path
# (it may use the callback's arguments). Failures (logged out, the dashboard restarting)
# change nothing on screen; the next poll tries again.
_POLL = """function (_n, asOf, latest, shown, code) {
    const path = %s;
    const url = new URL(path, window.location.origin);
    if (asOf) { url.searchParams.set('as_of', asOf); }
    const none = window.dash_clientside.no_update;
    return fetch(url, {credentials: 'same-origin', cache: 'no-store',
                       headers: {'Accept': 'application/json'}})
        .then(answer => answer.ok ? answer.json() : null)
        .then(answer => {
            const version = answer && answer.version;
            const onScreen = shown && shown.version;
            return (!version || version === latest || version === onScreen) ? none : version;
        })
        .catch(() => none);
}"""


def version_poll(path_expression: str) -> str:
    """The clientside poll function; its inputs: the poll interval's ``n_intervals``, the
    as-of store, the ``…-latest`` store, the ``…-shown`` store and (for a region) the code."""
    return _POLL % path_expression


# --- The routes ------------------------------------------------------------------------------

def register_version_routes(server: flask.Flask) -> None:
    server.add_url_rule(WALL_VERSION_PATH, "saylau_wall_version", _wall_version)
    server.add_url_rule(REGION_VERSION_PATH, "saylau_region_version", _region_version)


def _as_of() -> dt.datetime | None:
    try:
        return parse_as_of(flask.request.args.get("as_of"), current_settings().tz)
    except BadAsOf as error:
        raise BadRequest(str(error)) from error


def _answer(version: str) -> flask.Response:
    answer = flask.jsonify({"version": version})
    answer.headers["Cache-Control"] = "no-store"
    return answer


def _wall_version() -> flask.Response:
    require_page("wall")  # the guard judged the path as the wall's; checked again here
    return _answer(current_snapshot(_as_of()).version)


def _region_version(code: str) -> flask.Response:
    require_page("region")
    code = require_region(code)
    return _answer(region_version(current_snapshot(_as_of()), code))


def region_version(snap: Snapshot, code: str) -> str:
    """The fingerprint of what a region's page shows of the snapshot: that region's
    stations and incidents (and the as-of time asked for), made once per snapshot."""
    def made() -> str:
        # The state comes in no particular order: sorted, equal content hashes alike.
        stations = snap.state[snap.state["region_code"] == code].sort_values("station_id")
        incidents = snap.incidents.loc[snap.incidents["region_code"] == code,
                                       ["incident_id", "station_id", "status"]]
        return content_version(snap.as_of, [stations, incidents], 0)

    return str(snap.built(f"region-version.{code}", made))


# --- Fingerprints and patches ------------------------------------------------------------------

def fingerprint(value: Any) -> str:
    """A short hash of a value as Dash would send it (figures, components, arrays)."""
    text = to_json_plotly(value)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:16]


def _figure_json(figure: Any) -> dict[str, Any]:
    return figure.to_plotly_json() if hasattr(figure, "to_plotly_json") else dict(figure)


def parts_of(kinds: Sequence[tuple[str, str]], values: Sequence[Any]) -> dict[str, str]:
    """The fingerprints of the outputs ``values``, named and typed by ``kinds`` (name,
    FIGURE or PANEL): one per panel; per figure its layout, its traces' types and each
    property of each trace (``name.3.marker``)."""
    return drawn(kinds, values)[0]


def drawn(kinds: Sequence[tuple[str, str]], values: Sequence[Any]
          ) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """``parts_of``, and each figure as plain data (made once, for ``changed_only``)."""
    parts: dict[str, str] = {}
    figures: dict[str, dict[str, Any]] = {}
    for (name, kind), value in zip(kinds, values, strict=True):
        if kind == PANEL:
            parts[name] = fingerprint(value)
            continue
        figure = figures[name] = _figure_json(value)
        traces = list(figure.get("data", []))
        parts[f"{name}.layout"] = fingerprint(figure.get("layout", {}))
        parts[f"{name}.traces"] = fingerprint([(t.get("type"), sorted(t)) for t in traces])
        for number, trace in enumerate(traces):
            for key, item in trace.items():
                parts[f"{name}.{number}.{key}"] = fingerprint(item)
    return parts, figures


def changed_only(kinds: Sequence[tuple[str, str]], values: Sequence[Any],
                 parts: dict[str, str], shown: dict[str, str] | None,
                 figures: dict[str, dict[str, Any]] | None = None) -> list[Any]:
    """Each output as it must be sent to a screen that shows ``shown`` (its parts, None
    if unknown): ``no_update`` if the same, a ``Patch`` of the changed trace properties
    for a figure of the same shape, else the whole value (``figures``: the figures as
    plain data, from ``drawn``)."""
    if not shown:
        return list(values)
    answer: list[Any] = []
    for (name, kind), value in zip(kinds, values, strict=True):
        if kind == PANEL:
            answer.append(dash.no_update if shown.get(name) == parts[name] else value)
        else:
            plain = figures[name] if figures and name in figures else _figure_json(value)
            answer.append(_figure_update(name, value, plain, parts, shown))
    return answer


def _figure_update(name: str, figure: Any, plain: dict[str, Any], parts: dict[str, str],
                   shown: dict[str, str]) -> Any:
    prefix = f"{name}."
    mine = {key: part for key, part in parts.items() if key.startswith(prefix)}
    theirs = {key: part for key, part in shown.items() if key.startswith(prefix)}
    if mine.keys() != theirs.keys() or any(mine[f"{prefix}{key}"] != theirs[f"{prefix}{key}"]
                                           for key in ("layout", "traces")):
        return figure  # another shape: drawn anew
    changed = [key for key, part in mine.items() if theirs[key] != part]
    if not changed:
        return dash.no_update
    traces = plain["data"]
    patch = dash.Patch()
    for key in changed:
        number, prop = key[len(prefix):].split(".", 1)
        patch["data"][int(number)][prop] = traces[int(number)][prop]
    return patch


def held_parts(shown: Any, language: str) -> tuple[str | None, dict[str, str] | None]:
    """The version and parts a screen's ``…-shown`` store says it shows (drawn in
    ``language``), or (None, None) for a screen that shows nothing yet."""
    if not isinstance(shown, dict):
        return None, None
    version = shown.get("version") if isinstance(shown.get("version"), str) else None
    parts = shown.get("parts")
    if shown.get("language") != language or not isinstance(parts, dict):
        return version, None
    return version, {str(k): str(v) for k, v in parts.items()}


def held_key(version: str | None, parts: dict[str, str] | None) -> tuple[str | None, str]:
    """What an answer depends on of what a screen holds: the version and its parts."""
    return version, "" if parts is None else fingerprint(sorted(parts.items()))


def shown_store(version: str, language: str, parts: dict[str, str]) -> dict[str, Any]:
    return {"version": version, "language": language, "parts": parts}


# --- One encoded answer for every screen --------------------------------------------------------

# Callbacks whose answer depends only on a key their request gives (see ``answer_key``):
# output property that marks the callback -> the function from its request's body to the key.
_ANSWER_KEYS: dict[str, Callable[[dict[str, Any]], tuple[Any, ...] | None]] = {}
_G_KEY = "saylau_answer_key"
_CACHE = "SAYLAU_ANSWERS"


def answer_key(marker: str) -> Callable[[Callable[[dict[str, Any]], tuple[Any, ...] | None]],
                                         Callable[[dict[str, Any]], tuple[Any, ...] | None]]:
    """Register the key of a callback's answers (the callback with output ``marker``,
    ``id.property``): a function from its request's body to a key such that equal keys
    mean equal answers, or None when it cannot tell. The callback itself says which key
    its answer was made for with ``answered_for``."""
    def register(key_of: Callable[[dict[str, Any]], tuple[Any, ...] | None]
                 ) -> Callable[[dict[str, Any]], tuple[Any, ...] | None]:
        _ANSWER_KEYS[marker] = key_of
        return key_of
    return register


def answered_for(key: tuple[Any, ...]) -> None:
    """The answer of the callback now running is the one for ``key`` (kept after it is
    encoded)."""
    flask.g.setdefault(_G_KEY, key)


def input_value(body: dict[str, Any], component: str, prop: str) -> Any:
    for slot in [*body.get("inputs", []), *body.get("state", [])]:
        if isinstance(slot, dict) and slot.get("id") == component and \
                slot.get("property") == prop:
            return slot.get("value")
    return None


class AnswerCache:
    """The newest ``keep`` encoded answers, by (callback, key)."""

    def __init__(self, keep: int = 64) -> None:
        self._answers: OrderedDict[tuple[Any, ...], tuple[int, bytes]] = OrderedDict()
        self._making: dict[tuple[Any, ...], threading.Event] = {}
        self._keep, self._lock = keep, threading.Lock()
        self.hits = self.misses = 0

    def claim(self, key: tuple[Any, ...], wait_s: float = 30.0) -> tuple[int, bytes] | None:
        """The kept answer for ``key``; if another request is making it, that one once made
        (screens asking together wait for one answer instead of each making their own);
        else None, and this request makes it (``put`` or ``release`` it afterwards)."""
        with self._lock:
            found = self._answers.get(key)
            making = self._making.get(key)
            if found is None and making is None:
                self._making[key] = threading.Event()
                self.misses += 1
                return None
        if found is None and making is not None:
            making.wait(wait_s)
            with self._lock:
                found = self._answers.get(key)
            if found is None:  # it failed: this one makes its own (without a claim)
                return None
        with self._lock:
            self.hits += 1
        return found

    def put(self, key: tuple[Any, ...], status: int, body: bytes) -> None:
        with self._lock:
            self._answers[key] = (status, body)
            self._answers.move_to_end(key)
            while len(self._answers) > self._keep:
                self._answers.popitem(last=False)
        self.release(key)

    def release(self, key: tuple[Any, ...]) -> None:
        with self._lock:
            making = self._making.pop(key, None)
        if making is not None:
            making.set()


def answer_cache(server: flask.Flask) -> AnswerCache:
    return server.config[_CACHE]  # type: ignore[no-any-return]


def install_answer_cache(server: flask.Flask) -> None:
    """After the guard (installed before this): a callback request whose answer is kept is
    sent it; a new answer is kept once encoded."""
    server.config[_CACHE] = AnswerCache()
    server.before_request(_kept_answer)
    server.after_request(_keep_answer)
    server.teardown_request(_release_claim)


def _callback_key(body: Any) -> tuple[Any, ...] | None:
    output = body.get("output") if isinstance(body, dict) else None
    if not isinstance(output, str):
        return None
    outputs = set(output.strip(".").split("..."))
    for marker, key_of in _ANSWER_KEYS.items():
        if marker in outputs:
            key = key_of(body)
            return None if key is None else (marker, *key)
    return None


def _kept_answer() -> flask.Response | None:
    request = flask.request
    if request.path != CALLBACK_PATH or request.method != "POST":
        return None
    key = _callback_key(json_body(request))
    kept = answer_cache(flask.current_app).claim(key) if key is not None else None
    if kept is None:
        flask.g.saylau_claimed = key  # released when this request ends, whatever happens
        return None
    status, body = kept
    return flask.Response(body, status=status, mimetype="application/json")


def _keep_answer(response: flask.Response) -> flask.Response:
    key = flask.g.pop(_G_KEY, None)
    if key is not None and response.status_code in (200, 204) and not response.direct_passthrough:
        marker = next((m for m in _ANSWER_KEYS
                       if m in set(str(json_body(flask.request).get("output", ""))
                                   .strip(".").split("..."))), None)
        if marker is not None:
            answer_cache(flask.current_app).put((marker, *key), response.status_code,
                                                response.get_data())
    return response


def _release_claim(_error: BaseException | None) -> None:
    key = flask.g.pop("saylau_claimed", None)
    if key is not None:
        answer_cache(flask.current_app).release(key)
