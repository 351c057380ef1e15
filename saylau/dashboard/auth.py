"""Who may see what: login, sessions and a check on the server before every request.

Every request passes `_guard` (a Flask ``before_request``) before Dash or a route sees it:
pages, every Dash callback (``/_dash-update-component``) and every download. It decides
from two facts, so a new page, callback or route is covered without being listed:

1. The page. A path's first segment names its page (``/region/KAZ011`` -> ``region``,
   ``/`` -> ``wall``); a callback belongs to the page its registered output ids start
   with (``region-map`` -> ``region``; the page router's callback to the page of the
   pathname at the router's own input position). A callback request whose outputs,
   inputs and states are not exactly its registration's is refused first (400,
   saylau/dashboard/callback_check.py): Dash passes values by position, so ids that were not
   checked would say nothing. `PAGE_ROLES` says which roles may use a page besides
   headquarters; a page it does not name is for headquarters only.
2. The region. For a regional lead, every region code and station id anywhere in the
   request (path, query, callback body: inputs, states, ids), raw and decoded
   (saylau/dashboard/request_check.py), must be of their region.

A callback POST whose Origin (or Referer) is not the dashboard's own address is refused
(403): SameSite=Lax cookies still come with a request from a sibling subdomain.

Pages and callbacks also call `require_region` / `require_station` for what they read,
and filter with `allowed_regions`, so a request that names no region sees only the
user's own; every page's layout() calls `require_page`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask
from dash import html
from werkzeug.exceptions import Forbidden, MethodNotAllowed
from werkzeug.wrappers import Response

from saylau.core.settings import PLACEHOLDER_SECRETS, Settings
from saylau.dashboard.callback_check import CallbackMismatch, CheckedCallback, check_callback
from saylau.dashboard.language import SESSION_KEY as LANGUAGE_KEY
from saylau.dashboard.language import t, t_n
from saylau.dashboard.request_check import decoded_texts, from_another_site, json_body
from saylau.dashboard.throttle import LoginThrottle
from saylau.dashboard.users import (
    HEADQUARTERS,
    LEGAL,
    MEDIA,
    REGIONAL_LEAD,
    ROLES,
    TABULATOR,
    User,
    UserDirectory,
    UsersError,
)

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
    # citizen report cases: lawyers moderate; a regional lead reads the region's verified
    "cases": frozenset({LEGAL, REGIONAL_LEAD}),
    "evidence": frozenset({LEGAL}),  # evidence files (saylau/dashboard/evidence_routes.py)
    # double-entry digitisation of protocol photos, and the photos it shows (docs/tabulation.md)
    "tabulation": frozenset({TABULATOR}),
    "tabulation_photo": frozenset({TABULATOR}),
    # the public station-by-station comparison of official results with verified copies
    "comparison": frozenset({MEDIA}),
    # protocol photos headquarters released, by hash (saylau/dashboard/photo_routes.py)
    "photos": frozenset({MEDIA}),
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
    # The addresses browsers reach the dashboard at (SAYLAU_DASHBOARD_ORIGINS); empty:
    # the request's own Host. A callback POST from any other Origin is refused.
    origins: tuple[str, ...] = ()


def install_auth(server: flask.Flask, auth: Auth, secret: str) -> None:
    server.secret_key = secret
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                         PERMANENT_SESSION_LIFETIME=dt.timedelta(seconds=auth.session_seconds))
    server.config["SAYLAU_AUTH"] = auth
    server.before_request(_guard)
    server.add_url_rule(LOGIN_POST, "saylau_login", _login, methods=["POST"])
    # GET is routed here only to be refused (else Dash's catch-all page would answer it).
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

def require_page(page: str) -> None:
    """403 unless this request's user may open `page`. Every page's layout() calls it: the
    guard judged the router's request, and the page checks again for itself."""
    if not may_open(current_user(), page):
        raise Forbidden("this page is not for this user")


def _guard() -> Response | None:
    request = flask.request
    if request.path.startswith(PUBLIC_PREFIXES) or request.path in PUBLIC_PATHS:
        return None
    user = _session_user()
    flask.g.saylau_user = user
    if request.path == CALLBACK_PATH:
        return _guard_callback(request, user)
    if user is None:
        return _to_login(request)
    return _judge(request, user, [page_of_path(request.path)])


def _guard_callback(request: flask.Request, user: User | None) -> Response | None:
    """A callback is judged by its registration, never by the ids it was sent with."""
    if request.method == "POST" and from_another_site(request, _auth().origins):
        log.warning("dashboard: a callback sent from another site was refused")
        return _refuse(403, "sent from another site")
    body: Any = json_body(request)
    if not isinstance(body, dict) or "outputs" not in body:
        return _refuse(400, "not a Dash callback request")
    output = body.get("output")
    registration = _auth().callbacks().get(output) if isinstance(output, str) else None
    if registration is None:
        return _refuse(401, "log in first") if user is None else \
            _refuse(404, "no such callback")
    try:
        checked = check_callback(body, registration)
        pages = _callback_pages(checked)
    except CallbackMismatch as error:
        return _refuse(400, f"not the registered callback: {error}")
    refused = _judge(request, user, pages)
    if refused is None and registration.get("callback") is None:
        return _refuse(404, "no such callback")  # clientside: the browser runs it
    return refused


def _judge(request: flask.Request, user: User | None, pages: list[str]) -> Response | None:
    """None if `user` may open every one of `pages` with this request, else the refusal."""
    if user is not None and user.role == REGIONAL_LEAD and not _only_own_region(user):
        return _refuse(403, "another region's data")
    if all(may_open(user, page) for page in pages):
        return None
    if user is not None and request.path == "/":
        return flask.redirect(user.home_path)  # the wall is for headquarters
    return _refuse(401 if user is None else 403, "not for this user")


def _only_own_region(user: User) -> bool:
    """No region but the lead's named anywhere in the request: in its raw text and in
    every value as the code behind it reads it (percent- and JSON-decoded)."""
    request = flask.request
    text = " ".join([request.path, request.query_string.decode("utf-8", "replace"),
                     request.get_data(as_text=True), *decoded_texts(request)])
    return _auth().regions.mentioned(text) <= {user.region}


def page_of_path(path: str) -> str:
    first = path.strip("/").split("/", 1)[0]
    return first or "wall"


def _page_of_id(component_id: Any) -> str:
    if isinstance(component_id, dict):  # pattern-matching ids: {"type": "page-…", …}
        component_id = component_id.get("type", "")
    return str(component_id).split("-", 1)[0].split(".", 1)[0]


def _callback_pages(checked: CheckedCallback) -> list[str]:
    """The pages a checked callback serves: its registered outputs' pages; for the page
    router, the page of the pathname at the router's own input position (the value its
    function receives)."""
    pages = []
    # A callback without outputs belongs to its inputs' page; one with neither is
    # headquarters' (no page of that name is given to another role).
    ids = checked.output_ids() or [d.id for d in checked.inputs] or ["no page"]
    for component_id in ids:
        if isinstance(component_id, str) and component_id.startswith(ROUTER_PREFIX) \
                and _is_router(checked):
            pages.append(page_of_path(_routed_path(checked)))
        else:
            pages.append(_page_of_id(component_id))
    return pages


def _is_router(checked: CheckedCallback) -> bool:
    return any(d.id == ROUTER_PATHNAME and d.property == "pathname" for d in checked.inputs)


def _routed_path(checked: CheckedCallback) -> str:
    pathname = checked.input_value(ROUTER_PATHNAME, "pathname")
    if pathname is not None and not isinstance(pathname, str):
        raise CallbackMismatch("the router's pathname is not a path")
    return pathname or "/"


def _session_user() -> User | None:
    session = flask.session
    username, since = session.get("user"), session.get("since")
    if not isinstance(username, str) or not isinstance(since, int | float):
        return None
    if time.time() - since > _auth().session_seconds:
        session.clear()
        return None
    user = _auth().users.get(username)  # a removed user is logged out at once
    # The cookie is signed but lives on in copies: it counts only while its version is
    # the user's (a logout, a new password or a removal gives them a new one).
    if user is None or session.get("version") != user.session_version:
        return None
    return user


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
    if from_another_site(flask.request, _auth().origins):
        # Login CSRF: another site's form would sign the browser into an account of its
        # choosing, and what the victim then reports would go to it.
        log.warning("dashboard: a login sent from another site was refused")
        return _refuse(403, "sent from another site")
    form = flask.request.form
    # remote_addr is the client's own address behind a trusted proxy (ProxyFix, app.py).
    username, address = form.get("username", ""), flask.request.remote_addr or "unknown"
    throttle = _auth().throttle
    # Checked before the password: a refused guess costs no scrypt work and tells nothing.
    wait = throttle.wait_seconds(address, username)
    if wait > 0:
        log.warning("dashboard: a login from %s refused: too many failures", address)
        return flask.redirect(f"{LOGIN_PATH}?wait={math.ceil(wait)}")
    delay = throttle.delay_seconds(address)
    if delay > 0:  # many names failed from there: slowed down, but not refused
        log.warning("dashboard: a login from %s held %.2f s: many failures", address, delay)
        time.sleep(delay)
    user = _auth().users.authenticate(username, form.get("password", ""))
    if user is None:
        throttle.failed(address, username)
        log.warning("dashboard: a login failed")  # no name: people type passwords there
        return flask.redirect(f"{LOGIN_PATH}?error=1")
    throttle.succeeded(address, username)
    chosen = flask.session.get(LANGUAGE_KEY)  # a language chosen on the login page stays
    flask.session.clear()
    if chosen:
        flask.session[LANGUAGE_KEY] = chosen
    flask.session.permanent = True
    flask.session["user"], flask.session["since"] = user.username, time.time()
    flask.session["version"] = user.session_version
    log.info("dashboard: %s logged in (%s)", user.username, user.role)
    return flask.redirect(_safe_next(form.get("next", ""), user))


def login_message(query: dict[str, str]) -> str:
    """What the login page says after a failed or refused login (``_login``'s redirect)."""
    wait = query.get("wait", "")
    if wait.isdigit():
        minutes = max(1, math.ceil(int(wait) / 60))  # as throttle.minutes_text counts
        return t_n("Too many failed logins from here. Try again in {n} minute.",
                   "Too many failed logins from here. Try again in {n} minutes.",
                   minutes).format(n=minutes)
    return t("Wrong user name or password.") if query.get("error") else ""


def _safe_next(target: str, user: User) -> str:
    """Back to the page asked for, if it is a page of this site the user may open."""
    local = target.startswith("/") and not target.startswith(("//", "/\\"))
    if local and target not in ("/", LOGIN_PATH) and may_open(user, page_of_path(target)):
        return target
    return user.home_path


def _logout() -> Response:
    # POST only: a link, an image or a redirect (all GETs) on any page must not log anyone
    # out. Another site's form cannot either: the session cookie is SameSite=Lax (a sibling
    # subdomain is the same site for it), and its Origin is refused.
    if flask.request.method != "POST":
        raise MethodNotAllowed(valid_methods=["POST"])
    if from_another_site(flask.request, _auth().origins):  # as every other POST
        return _refuse(403, "sent from another site")
    user = _session_user()
    if user is not None:
        try:  # ends this session and its copies, in every dashboard process
            _auth().users.end_sessions(user.username)
        except (OSError, UsersError):
            log.exception("dashboard: a logout could not be written to the users file")
            # The cookie is kept, so that the user sees it failed and can try again.
            return _refuse(503, "the logout could not be recorded; try again")
        log.info("dashboard: %s logged out", user.username)
    flask.session.clear()
    return flask.redirect(LOGIN_PATH)


def logout_button() -> html.Form:
    """The "log out" control of a page: a form that posts to the logout route."""
    return html.Form(action=LOGOUT_PATH, method="post", className="logout",
                     children=[html.Button(t("log out"), type="submit")])
