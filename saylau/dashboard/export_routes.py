"""Serving the bundles' files from the dashboard's Flask server.

Everything the media receive goes through the one view function below, so an
authorisation check (the media role) can wrap it in one place.
"""

from __future__ import annotations

from pathlib import Path

import flask
from werkzeug.exceptions import NotFound

from saylau.exports.publish import BUNDLE_NAME, LATEST

EXPORT_URL = "/exports"
CONFIG_KEY = "SAYLAU_EXPORT_DIR"


def file_url(bundle: str, name: str) -> str:
    return f"{EXPORT_URL}/{bundle}/{name}"


def register_export_routes(server: flask.Flask, export_dir: Path) -> None:
    """``GET /exports/<bundle>/<file>``: a file of a published bundle (``latest`` works
    as a bundle name). The media page finds the folder in ``server.config``."""
    server.config[CONFIG_KEY] = Path(export_dir)

    @server.route(f"{EXPORT_URL}/<path:rest>")
    def export_file(rest: str) -> flask.Response:
        # Everything under /exports ends here (not in Dash's catch-all page): exactly
        # <bundle>/<file>, the bundle a published name or `latest`.
        bundle, _slash, name = rest.partition("/")
        if (bundle != LATEST and not BUNDLE_NAME.match(bundle)) or not name or "/" in name:
            raise NotFound()
        # send_from_directory refuses names that leave the folder (.., absolute paths).
        return flask.send_from_directory(Path(export_dir).resolve() / bundle, name,
                                         as_attachment=name != "report.html", max_age=60)


def export_dir_of(app: flask.Flask) -> Path | None:
    return app.config.get(CONFIG_KEY)
