"""Create the Dash app. Pages live in ``saylau/dashboard/pages``; data comes from the warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash
import flask
from dash import Dash, html
from werkzeug.middleware.proxy_fix import ProxyFix

from saylau.core.settings import Settings
from saylau.dashboard.actions import ActionSender
from saylau.dashboard.analysis_downloads import register_analysis_downloads
from saylau.dashboard.auth import Auth, Regions, check_dashboard_secret, install_auth
from saylau.dashboard.evidence_routes import register_evidence_routes
from saylau.dashboard.export_routes import register_export_routes
from saylau.dashboard.language import install_language, language_switch
from saylau.dashboard.metrics import register_metrics
from saylau.dashboard.photo_routes import register_photo_routes
from saylau.dashboard.screen_updates import install_answer_cache, register_version_routes
from saylau.dashboard.tabulation_routes import register_tabulation_routes
from saylau.dashboard.throttle import LoginThrottle
from saylau.dashboard.users import UserDirectory
from saylau.geo.regions import load_regions, regions_geojson, simplified_for_browser
from saylau.warehouse.client import Warehouse
from saylau.warehouse.queries import stations

PAGES_FOLDER = Path(__file__).with_name("pages")


@dataclass(frozen=True)
class DashboardContext:
    """What pages need, built once per app (never at import time)."""

    warehouse: Warehouse
    regions_geojson: dict[str, Any]
    region_names: dict[str, str]
    refresh_ms: int
    poll_ms: int
    timezone: str
    actions: ActionSender
    roster_folder: Path


def create_dashboard(settings: Settings, warehouse: Warehouse) -> Dash:
    """The dashboard app; AuthSetupError if it has no real session secret."""
    secret = check_dashboard_secret(settings)
    regions = load_regions()
    context = DashboardContext(
        warehouse=warehouse,
        regions_geojson=regions_geojson(simplified_for_browser(regions)),
        region_names=dict(zip(regions["region_code"], regions["region_name"], strict=True)),
        refresh_ms=int(settings.dashboard_refresh_seconds * 1000),
        poll_ms=int(settings.dashboard_poll_seconds * 1000),
        timezone=settings.election_timezone,
        actions=ActionSender(settings.kafka_address, settings.topic_prefix),
        roster_folder=settings.data_dir / "roster")
    # serve_locally: every script comes from this server, none from a CDN.
    app = Dash(__name__, use_pages=True, pages_folder=str(PAGES_FOLDER), serve_locally=True,
               title="Saylau", update_title="", suppress_callback_exceptions=True)
    app.server.config["SAYLAU"] = context
    codes = frozenset(regions["region_code"])
    auth = Auth(users=UserDirectory(settings.dashboard_users_path),
                regions=Regions(lambda: _station_regions(warehouse, codes)),
                session_seconds=settings.dashboard_session_minutes * 60,
                callbacks=lambda: app.callback_map,
                throttle=LoginThrottle(settings.dashboard_login_attempts,
                                       settings.dashboard_login_lockout_minutes * 60),
                origins=own_origins(settings.dashboard_origins))
    # The status page asks Kafka for the lag; the wall, station and time-travel pages read
    # the election day and refresh settings.
    app.server.config["SAYLAU_SETTINGS"] = settings
    # Metrics first: their clock starts before the access check, so refusals count too.
    # Prometheus /metrics: requests per page and per callback of this app (no other label).
    register_metrics(app.server, lambda: app.callback_map)
    # Before the guard: a ``?lang=`` reaches the session even when the guard redirects to
    # the login page, which is then in that language.
    install_language(app.server)
    install_auth(app.server, auth, secret)
    # After the guard: a wall screen is sent the answer already made for what it shows.
    install_answer_cache(app.server)
    app.layout = _layout
    _trust_proxies(app.server, settings.dashboard_trusted_proxies)
    register_export_routes(app.server, settings.export_path)
    register_evidence_routes(app.server, settings.media_path)
    register_photo_routes(app.server, settings.media_path)
    register_tabulation_routes(app.server, settings.media_path)
    register_analysis_downloads(app.server)
    register_version_routes(app.server)  # what screens poll (saylau/dashboard/screen_updates.py)
    return app


def _layout() -> html.Div:
    """Laid out again for every page load: the language switch shows this request's."""
    return html.Div([language_switch(), dash.page_container], className="saylau")


def _trust_proxies(server: flask.Flask, proxies: int) -> None:
    """Take the client's address from the X-Forwarded-For that the last `proxies` proxies
    added (none: the header is anyone's to forge). Behind a proxy without this, every user
    has the proxy's address, and the login throttle counts them all as one."""
    if proxies > 0:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=proxies)  # type: ignore[method-assign]


def own_origins(text: str) -> tuple[str, ...]:
    """SAYLAU_DASHBOARD_ORIGINS: comma-separated addresses, without a trailing slash."""
    return tuple(part.strip().rstrip("/") for part in text.split(",") if part.strip())


def _station_regions(warehouse: Warehouse, codes: frozenset[str]
                     ) -> tuple[frozenset[str], dict[str, str]]:
    registry = stations(warehouse)
    return codes, dict(zip(registry["station_id"], registry["region_code"], strict=True))


def current_context() -> DashboardContext:
    """The context of the app serving this request (callbacks run inside Flask requests)."""
    return flask.current_app.config["SAYLAU"]  # type: ignore[no-any-return]
