"""Protocol photos for the tabulation page, served from the media store.

``GET /tabulation_photo/<sha256>``: the page is ``tabulation_photo``, which the access guard
opens to tabulators and headquarters only (saylau/dashboard/auth.py). Only a hash that an
observer sent as a protocol photo is served (the media store also holds incident photos and
citizens' evidence), and a tabulator limited to a region gets 403 for another region's.
"""

from __future__ import annotations

from pathlib import Path

import flask
from werkzeug.exceptions import Forbidden, NotFound

from saylau.dashboard.auth import current_user
from saylau.dashboard.tabulation_recent import RecentEntries
from saylau.dashboard.tabulation_service import RECENT_KEY, may_see_region
from saylau.ingest.media import MediaStore
from saylau.warehouse.tabulation_queries import photo_region

PHOTO_URL = "/tabulation_photo"
MEDIA_KEY = "SAYLAU_TABULATION_MEDIA"


def photo_url(sha256: str) -> str:
    return f"{PHOTO_URL}/{sha256}"


def tabulation_media() -> MediaStore:
    return flask.current_app.config[MEDIA_KEY]  # type: ignore[no-any-return]


def register_tabulation_routes(server: flask.Flask, media_dir: Path) -> None:
    """The photo route, and the process's memory of recent entries (tabulation_recent.py)."""
    server.config[MEDIA_KEY] = MediaStore(media_dir, frozenset(), 0)  # read only: find()
    server.config[RECENT_KEY] = RecentEntries()

    @server.route(f"{PHOTO_URL}/<sha256>")
    def tabulation_photo(sha256: str) -> flask.Response:
        from saylau.dashboard.app import current_context  # app.py imports this module

        region = photo_region(current_context().warehouse, sha256)
        if region is None:
            raise NotFound()  # not a protocol photo: none of this page's business
        if not may_see_region(current_user(), region):
            raise Forbidden("another region's photo")
        path = tabulation_media().find(sha256)
        if path is None:
            raise NotFound()
        return flask.send_file(path, max_age=0, conditional=False)
