"""Evidence files of citizen reports, served from the media store to the legal team.

``GET /evidence/<sha256>``: the page is ``evidence``, which the access guard opens to the
``legal`` role and headquarters only (saylau/dashboard/auth.py), so a regional lead or the
media never receive a file. The files are the media store's (already without metadata).
"""

from __future__ import annotations

from pathlib import Path

import flask
from werkzeug.exceptions import NotFound

from saylau.ingest.media import MediaStore

EVIDENCE_URL = "/evidence"


def evidence_url(sha256: str) -> str:
    return f"{EVIDENCE_URL}/{sha256}"


def register_evidence_routes(server: flask.Flask, media_dir: Path) -> None:
    store = MediaStore(media_dir, frozenset(), 0)  # read only: find() by hash

    @server.route(f"{EVIDENCE_URL}/<sha256>")
    def evidence_file(sha256: str) -> flask.Response:
        path = store.find(sha256)
        if path is None:
            raise NotFound()
        return flask.send_file(path, max_age=0, conditional=False)
