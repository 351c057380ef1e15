"""The language of this request's pages: ``?lang=``, else the session's choice, else the
user's default, else the browser's Accept-Language, else English.

Pages write every text a person reads as ``t("…")`` (or ``t_n`` for counted forms); the
catalogs are saylau/locale/<lang>/LC_MESSAGES/saylau.po (saylau/core/i18n.py). Texts
defined where no request is under way (module constants) are marked with ``N_`` and
passed through ``t`` where they are shown.

``?lang=ru`` in any address is remembered in the session: Dash's callbacks are posted
without the page's query, and a wall screen set up once with ``?lang=ru`` keeps it.
"""

from __future__ import annotations

import functools
from urllib.parse import parse_qs, urlsplit

import flask
from babel import Locale
from dash import html

from saylau.core import i18n
from saylau.core.i18n import available_languages, choose_language

SESSION_KEY = "lang"


@functools.cache
def offered() -> tuple[str, ...]:
    """The languages with a catalog (a new catalog folder adds one, no code change; read
    once per process, as the catalogs are)."""
    return available_languages()


def current_language() -> str:
    if not flask.has_request_context():
        return choose_language([], offered())
    request = flask.request
    browser = [item for item, _quality in request.accept_languages]
    user = flask.g.get("saylau_user")
    wanted = [request.args.get("lang"), _page_language(request), flask.session.get(SESSION_KEY),
              getattr(user, "language", None), *browser]
    return choose_language(wanted, offered())


def _page_language(request: flask.Request) -> str | None:
    """The ``?lang=`` of the page a callback comes from (its Referer): a callback posted by
    a page opened with ``?lang=kk`` answers in Kazakh even if another tab's request has
    just rewritten the session cookie (a permanent session is re-sent with every answer)."""
    referer = request.headers.get("Referer")
    if not referer:
        return None
    values = parse_qs(urlsplit(referer).query).get("lang")
    return values[0] if values else None


def remember_asked_language() -> None:
    """Before every request: a ``?lang=`` the dashboard offers becomes the session's."""
    asked = flask.request.args.get("lang")
    if asked and asked in offered() and flask.session.get(SESSION_KEY) != asked:
        flask.session[SESSION_KEY] = asked


def install_language(server: flask.Flask) -> None:
    server.before_request(remember_asked_language)


def t(message: str) -> str:
    """`message` in this request's language."""
    return i18n.gettext(message, current_language())


def t_n(singular: str, plural: str, n: int) -> str:
    return i18n.ngettext(singular, plural, n, current_language())


def number(value: float | int, digits: int = 0) -> str:
    return i18n.number(value, current_language(), digits)


def percent_of(value_pct: float, digits: int = 1) -> str:
    """A percentage given as 0-100 (as the warehouse computes them)."""
    return i18n.percent_of(value_pct, current_language(), digits)


def language_name(code: str) -> str:
    """A language's name in that language (CLDR data through Babel, not a literal)."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (ValueError, LookupError):
        return code
    return name[:1].upper() + name[1:]


def language_switch() -> html.Nav:
    """Links to this page in every offered language; a full load, so the server lays the
    page out again in the new language."""
    shown = current_language()
    return html.Nav(className="language-switch", id="language-switch", children=[
        html.A(language_name(code), href=f"?lang={code}", lang=code,
               id=f"language-{code}",
               className="language-choice" + (" active" if code == shown else ""))
        for code in offered()])
