"""Released protocol photos, by hash: ``GET /photos/<sha256>`` (docs/comparison.md).

A protocol photo can show a face or a signature, so none is published before headquarters
looked at it and released it (a ``photo_release`` event). The route serves a photo from the
media store only while its latest release event released it; otherwise, or for a hash the
store does not hold, 404 (the same answer: a hash that was never released is not
confirmed to exist). The comparison page and its export files name a photo by this hash
and only once released.

Who may fetch: the page is ``photos``, which the access guard opens to the media and
headquarters (saylau/dashboard/auth.py), as the comparison page and the bundles. The
dashboard serves nothing to anonymous visitors; the media publish a released photo with
its hash, and anyone can check the file against the hash in the export.
"""

from __future__ import annotations

import re
from pathlib import Path

import flask
from werkzeug.exceptions import NotFound

from saylau.ingest.media import MediaStore
from saylau.warehouse.comparison_queries import photo_released

PHOTOS_URL = "/photos"
SHA256 = re.compile(r"^[0-9a-f]{64}$")


def photo_url(sha256: str) -> str:
    return f"{PHOTOS_URL}/{sha256}"


def register_photo_routes(server: flask.Flask, media_dir: Path) -> None:
    store = MediaStore(media_dir, frozenset(), 0)  # read only: find() by hash

    @server.route(f"{PHOTOS_URL}/<sha256>")
    def released_photo(sha256: str) -> flask.Response:
        from saylau.dashboard.app import current_context  # the app imports this module

        if not SHA256.match(sha256) or not photo_released(current_context().warehouse,
                                                          sha256):
            raise NotFound()
        path = store.find(sha256)
        if path is None:
            raise NotFound()
        # no-store: a withdrawal must take effect at the next request, not after a cache.
        response = flask.send_file(path, max_age=0, conditional=False)
        response.headers["Cache-Control"] = "no-store"
        return response
