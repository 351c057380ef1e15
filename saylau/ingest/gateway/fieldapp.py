"""The field app, served by the gateway: its static shell at /app/, its texts and its settings.

Everything the phone needs comes from here (no CDN): a phone in a polling station may reach
the gateway and nothing else. The texts are the ``fieldapp`` gettext domain
(``saylau/locale/<lang>/LC_MESSAGES/fieldapp.po``), read with ``saylau.core.i18n`` and sent
as one JSON object per language, English text -> translation.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.gzip import GZipMiddleware

from saylau.core.contract import INCIDENT_CATEGORIES
from saylau.core.election import AGAINST_ALL, NON_VOTE_ANSWERS
from saylau.core.i18n import LOCALE_DIR, available_languages, translator
from saylau.core.settings import Settings
from saylau.ingest.gateway.app import Gateway, error_response

APP_DIR = Path(__file__).resolve().parents[1] / "fieldapp"
DOMAIN = "fieldapp"
# The service worker is fetched often and must never be stale; the rest is versioned by it.
NO_CACHE = {"Cache-Control": "no-cache"}


def add_fieldapp_routes(app: FastAPI, gateway: Gateway) -> None:
    settings = gateway.settings

    @app.get("/app", include_in_schema=False)
    async def app_root() -> Response:
        return RedirectResponse("/app/")

    @app.get("/app/sw.js", include_in_schema=False)
    async def service_worker() -> Response:
        # served from /app/ so its scope is the app; Service-Worker-Allowed is not needed
        return FileResponse(APP_DIR / "sw.js", media_type="text/javascript", headers=NO_CACHE)

    @app.get("/app/i18n/{language}.json", include_in_schema=False)
    async def texts(language: str) -> Response:
        if language not in available_languages(domain=DOMAIN):
            return error_response(404, "not_found", "no catalog for this language")
        return JSONResponse(messages(language), headers=NO_CACHE)

    @app.get("/app/config.json", include_in_schema=False)
    async def config() -> Response:
        return JSONResponse(app_config(settings), headers=NO_CACHE)

    # gzip: on a slow link the shell's bytes are most of the first load's time
    app.mount("/app", GZipMiddleware(StaticFiles(directory=APP_DIR, html=True),
                                     minimum_size=500), name="fieldapp")


@functools.lru_cache(maxsize=8)
def messages(language: str, locale_dir: Path = LOCALE_DIR) -> dict[str, str]:
    """Every text of the app in `language` (untranslated ones as their English text)."""
    catalog = translator(language, DOMAIN, locale_dir)
    return {msgid: catalog.gettext(msgid) for msgid in message_ids(locale_dir)}


def message_ids(locale_dir: Path = LOCALE_DIR) -> list[str]:
    """The texts of the app: the msgids of the English catalog (it lists them all)."""
    with (locale_dir / "en" / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as source:
        catalog = read_po(source, domain=DOMAIN)
    return [str(message.id) for message in catalog if message.id and
            isinstance(message.id, str)]


def app_config(settings: Settings) -> dict[str, Any]:
    """What the app shows and checks, from the settings and the election definition
    (public facts only: the ballot, the day, the reporting times)."""
    election = settings.election()
    return {
        "languages": list(available_languages(domain=DOMAIN)),
        "election": {"name": election.name, "date": election.date.isoformat(),
                     "timezone": election.timezone,
                     "opens_at": election.opens_at.isoformat(),
                     "closes_at": election.closes_at.isoformat(),
                     "reporting_times": [election.local(at).isoformat()
                                         for at in election.reporting_times]},
        "parties": [{"code": code, "name": name} for code, name in election.options.items()
                    if code != AGAINST_ALL],
        "against_all": AGAINST_ALL,
        "non_vote_answers": list(NON_VOTE_ANSWERS),
        "incident_categories": list(INCIDENT_CATEGORIES),
        "geofence_m": settings.fieldapp_geofence_m,
        "exitpoll_window_minutes": settings.fieldapp_exitpoll_window_minutes,
        "sms_number": settings.fieldapp_sms_number,
        "media_types": sorted(part.strip() for part in settings.media_types.split(",")
                              if part.strip()),
        "media_max_bytes": settings.media_max_bytes,
    }
