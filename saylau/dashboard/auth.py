"""Who may see what: login, sessions and a check on the server before every request.

Every request passes `_guard` (a Flask ``before_request``) before Dash or a route sees it:
pages, every Dash callback (``/_dash-update-component``) and every download. It decides
from two facts, so a new page, callback or route is covered without being listed:

1. The page. A path's first segment names its page (``/region/KAZ011`` -> ``region``,
   ``/`` -> ``wall``); a callback belongs to the page its output ids start with
   (``region-map`` -> ``region``; the page router's callback to the page it routes to).
   `PAGE_ROLES` says which roles may use a page besides headquarters; a page it does not
   name is for headquarters only.
2. The region. For a regional lead, every region code and station id anywhere in the
   request (path, query, callback body: inputs, states, ids) must be of their region.

Pages and callbacks also call `require_region` / `require_station` for what they read,
and filter with `allowed_regions`, so a request that names no region sees only the
user's own.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import flask
from werkzeug.exceptions import Forbidden
from werkzeug.wrappers import Response

from saylau.core.settings import PLACEHOLDER_SECRETS, Settings
from saylau.dashboard.throttle import LoginThrottle, minutes_text
from saylau.dashboard.users import HEADQUARTERS, MEDIA, REGIONAL_LEAD, ROLES, User, UserDirectory

log = logging.getLogger("saylau.dashboard")

MIN_SECRET_CHARS = 16
CALLBACK_PATH = "/_dash-update-component"
LOGIN_PATH, LOGIN_POST, LOGOUT_PATH = "/login", "/auth/login", "/auth/logout"
# Served to anyone: the scripts and styles of the page, and what the login page needs.
# None carries data: the layout is the empty page container, the dependencies the list
# of callbacks.
PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
PUBLIC_PATHS = frozenset({LOGIN_PATH, LOGIN_POST, LOGOUT_PATH, "/_favicon.ico",
                          "/_dash-layout", "/_dash-dependencies", "/_reload-hash",
                          # Prometheus scrapes it without a login: request counts per
                          # page path and callback output, no election data.
                          "/metrics"})
# dash.page_container's components: its routing callback writes _pages_content and
# _pages_store from _pages_location's pathname.
ROUTER_PREFIX, ROUTER_PATHNAME = "_pages_", "_pages_location"
# The pages each role may use besides headquarters (which may use every page).
ANYONE = frozenset({"login"})
PAGE_ROLES: dict[str, frozenset[str]] = {
    "login": frozenset(ROLES),
    "region": frozenset({REGIONAL_LEAD}),
    "station": frozenset({REGIONAL_LEAD}),
    "incidents": frozenset({REGIONAL_LEAD}),
    "media": frozenset({MEDIA}),
    "exports": frozenset({MEDIA}),  # the media bundles' files (saylau/dashboard/export_routes.py)
}
# Region codes and station ids are words of these characters (see saylau/core/contract.py).
WORD = re.compile(r"[A-Za-z0-9_-]+")


class AuthSetupError(RuntimeError):
    """The dashboard cannot start safely (no real secret)."""


def check_dashboard_secret(settings: Settings) -> str:
    """The session-signing secret; refuses an empty, short or placeholder one."""
    secret = settings.dashboard_secret.get_secret_value()
    if len(secret) < MIN_SECRET_CHARS or secret.strip().lower() in PLACEHOLDER_SECRETS:
        raise AuthSetupError(
            f"SAYLAU_DASHBOARD_SECRET must be set to a random value of {MIN_SECRET_CHARS}+ "
            "characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'")
    return secret


@dataclass
class Regions:
    """Region codes and the region of every station, loaded on first use."""

    load: Callable[[], tuple[frozenset[str], dict[str, str]]]
    _codes: frozenset[str] | None = None
    _station_region: dict[str, str] | None = None

    def _loaded(self) -> tuple[frozenset[str], dict[str, str]]:
        if self._codes is None or self._station_region is None:
            self._codes, self._station_region = self.load()
        return self._codes, self._station_region

    @property
    def codes(self) -> frozenset[str]:
        return self._loaded()[0]

    def of_station(self, station_id: str) -> str | None:
        return self._loaded()[1].get(station_id)

    def mentioned(self, text: str) -> set[str]:
        """Regions named in `text`, by code or through one of their stations."""
        codes, station_region = self._loaded()
        found = set()
        for word in set(WORD.findall(text)):
            region = word if word in codes else station_region.get(word)
            if region is not None:
                found.add(region)
        return found


@dataclass(frozen=True)
class Auth:
    users: UserDirectory
    regions: Regions
    session_seconds: float
    callbacks: Callable[[], dict[str, dict[str, Any]]]  # the Dash app's callback_map
    throttle: LoginThrottle


def install_auth(server: flask.Flask, auth: Auth, secret: str) -> None:
    server.secret_key = secret
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                         PERMANENT_SESSION_LIFETIME=dt.timedelta(seconds=auth.session_seconds))
    server.config["SAYLAU_AUTH"] = auth
    server.before_request(_guard)
    server.add_url_rule(LOGIN_POST, "saylau_login", _login, methods=["POST"])
    server.add_url_rule(LOGOUT_PATH, "saylau_logout", _logout, methods=["GET", "POST"])


def _auth() -> Auth:
    return flask.current_app.config["SAYLAU_AUTH"]  # type: ignore[no-any-return]


# --- The API pages use -------------------------------------------------------------------

def current_user() -> User | None:
    """The logged-in user of this request (None before login)."""
    return flask.g.get("saylau_user")


def allowed_regions(user: User | None) -> frozenset[str]:
    if user is None:
        return frozenset()
    if user.role == REGIONAL_LEAD:
        return frozenset({user.region}) if user.region else frozenset()
    return _auth().regions.codes


def require_region(region_code: str | None) -> str:
    """`region_code` if this request's user may see it, else 403."""
    if region_code is None or region_code not in allowed_regions(current_user()):
        raise Forbidden("this region is not yours to see")
    return region_code


def require_station(station_id: str | None) -> str:
    """`station_id` if its region may be seen by this request's user, else 403."""
    region = _auth().regions.of_station(station_id) if station_id else None
    require_region(region)
    return str(station_id)


def may_open(user: User | None, page: str) -> bool:
    if page in ANYONE:
        return True
    if user is None:
        return False
    return user.role == HEADQUARTERS or user.role in PAGE_ROLES.get(page, frozenset())


# --- The check before every request ------------------------------------------------------

def _guard() -> Response | None:
    request = flask.request
    if request.path.startswith(PUBLIC_PREFIXES) or request.path in PUBLIC_PATHS:
        return None
    user = _session_user()
    flask.g.saylau_user = user
    callback_output = None
    if request.path == CALLBACK_PATH:
        body: Any = request.get_json(silent=True)
        pages = _callback_pages(body)
        if pages is None:
            return _refuse(400, "not a Dash callback request")
        callback_output = body.get("output")
    elif user is None:
        return _to_login(request)
    else:
        pages = [page_of_path(request.path)]
    if user is not None and user.role == REGIONAL_LEAD and not _only_own_region(user):
        return _refuse(403, "another region's data")
    if all(may_open(user, page) for page in pages):
        if request.path == CALLBACK_PATH and not _served_by_server(callback_output):
            return _refuse(404, "no such callback")  # clientside, or made up
        return None
    if user is not None and request.path == "/":
        return flask.redirect(user.home_path)  # the wall is for headquarters
    return _refuse(401 if user is None else 403, "not for this user")


def _only_own_region(user: User) -> bool:
    request = flask.request
    text = " ".join([request.path, request.query_string.decode("utf-8", "replace"),
                     request.get_data(as_text=True)])
    return _auth().regions.mentioned(text) <= {user.region}


def _served_by_server(output: Any) -> bool:
    """Whether the app runs a server-side callback for `output` (not a clientside one)."""
    spec = _auth().callbacks().get(output) if isinstance(output, str) else None
    return spec is not None and spec.get("callback") is not None


def page_of_path(path: str) -> str:
    first = path.strip("/").split("/", 1)[0]
    return first or "wall"


def _page_of_id(component_id: Any) -> str:
    if isinstance(component_id, dict):  # pattern-matching ids: {"type": "page-…", …}
        component_id = component_id.get("type", "")
    return str(component_id).split("-", 1)[0].split(".", 1)[0]


def _callback_pages(body: Any) -> list[str] | None:
    """The pages a callback request serves (its outputs'), or None if it is no callback."""
    if not isinstance(body, dict) or "outputs" not in body:
        return None
    outputs = body["outputs"] if isinstance(body["outputs"], list) else [body["outputs"]]
    pages = []
    for output in _flatten(outputs):
        if not isinstance(output, dict):
            return None
        if str(output.get("id")).startswith(ROUTER_PREFIX):
            pages.append(page_of_path(_routed_path(body)))
        else:
            pages.append(_page_of_id(output.get("id")))
    return pages or None


def _flatten(items: list[Any]) -> Iterator[Any]:
    for item in items:  # wildcard outputs arrive as a list of lists
        if isinstance(item, list):
            yield from _flatten(item)
        else:
            yield item


def _routed_path(body: dict[str, Any]) -> str:
    for item in _flatten(list(body.get("inputs") or [])):
        if isinstance(item, dict) and item.get("id") == ROUTER_PATHNAME \
                and item.get("property") == "pathname":
            return str(item.get("value") or "/")
    return "/"


def _session_user() -> User | None:
    session = flask.session
    username, since = session.get("user"), session.get("since")
    if not isinstance(username, str) or not isinstance(since, int | float):
        return None
    if time.time() - since > _auth().session_seconds:
        session.clear()
        return None
    return _auth().users.get(username)  # a removed user is logged out at once


def _refuse(status: int, reason: str) -> Response:
    return Response(json.dumps({"reason": reason}), status=status,
                          mimetype="application/json")


def _to_login(request: flask.Request) -> Response:
    if request.method != "GET":
        return _refuse(401, "log in first")
    target = request.full_path if request.query_string else request.path
    return flask.redirect(f"{LOGIN_PATH}?next={_quoted(target)}")


def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


# --- Login and logout --------------------------------------------------------------------

def _login() -> Response:
    form = flask.request.form
    username, address = form.get("username", ""), flask.request.remote_addr or "unknown"
    throttle = _auth().throttle
    # Checked before the password: a refused guess costs no scrypt work and tells nothing.
    wait = throttle.wait_seconds(address, username)
    if wait > 0:
        log.warning("dashboard: a login from %s refused: too many failures", address)
        return flask.redirect(f"{LOGIN_PATH}?wait={math.ceil(wait)}")
    user = _auth().users.authenticate(username, form.get("password", ""))
    if user is None:
        throttle.failed(address, username)
        log.warning("dashboard: a login failed")  # no name: people type passwords there
        return flask.redirect(f"{LOGIN_PATH}?error=1")
    throttle.succeeded(address, username)
    flask.session.clear()
    flask.session.permanent = True
    flask.session["user"], flask.session["since"] = user.username, time.time()
    log.info("dashboard: %s logged in (%s)", user.username, user.role)
    return flask.redirect(_safe_next(form.get("next", ""), user))


def login_message(query: dict[str, str]) -> str:
    """What the login page says after a failed or refused login (``_login``'s redirect)."""
    wait = query.get("wait", "")
    if wait.isdigit():
        return f"Too many failed logins from here. Try again in {minutes_text(int(wait))}."
    return "Wrong user name or password." if query.get("error") else ""


def _safe_next(target: str, user: User) -> str:
    """Back to the page asked for, if it is a page of this site the user may open."""
    local = target.startswith("/") and not target.startswith(("//", "/\\"))
    if local and target not in ("/", LOGIN_PATH) and may_open(user, page_of_path(target)):
        return target
    return user.home_path


def _logout() -> Response:
    flask.session.clear()
    return flask.redirect(LOGIN_PATH)
