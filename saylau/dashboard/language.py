"""The language of this request's pages: ``?lang=``, else the session's choice, else the
user's default, else the browser's Accept-Language, else English.

Pages write every text a person reads as ``t("…")`` (or ``t_n`` for counted forms); the
catalogs are saylau/locale/<lang>/LC_MESSAGES/saylau.po (saylau/core/i18n.py).
"""

from __future__ import annotations

import flask

from saylau.core.i18n import LANGUAGES, choose_language, gettext, ngettext

SESSION_KEY = "lang"


def current_language() -> str:
    if not flask.has_request_context():
        return choose_language([])
    request = flask.request
    browser = [item for item, _quality in request.accept_languages]
    user = flask.g.get("saylau_user")
    wanted = [request.args.get("lang"), flask.session.get(SESSION_KEY),
              getattr(user, "language", None), *browser]
    return choose_language(wanted, LANGUAGES)


def t(message: str) -> str:
    """`message` in this request's language."""
    return gettext(message, current_language())


def t_n(singular: str, plural: str, n: int) -> str:
    return ngettext(singular, plural, n, current_language())
