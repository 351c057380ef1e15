"""Create the Dash app. Pages live in ``dashboard/pages``; data comes from the warehouse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash
import flask
from dash import Dash, html

from dashboard.export.routes import register_export_routes
from dashboard.metrics import register_metrics
from geo.regions import load_regions, regions_geojson, simplified_for_browser
from saylau.settings import Settings
from warehouse.client import Warehouse

PAGES_FOLDER = Path(__file__).with_name("pages")


@dataclass(frozen=True)
class DashboardContext:
    """What pages need, built once per app (never at import time)."""

    warehouse: Warehouse
    regions_geojson: dict[str, Any]
    region_names: dict[str, str]
    refresh_ms: int
    timezone: str


def create_dashboard(settings: Settings, warehouse: Warehouse) -> Dash:
    regions = load_regions()
    context = DashboardContext(
        warehouse=warehouse,
        regions_geojson=regions_geojson(simplified_for_browser(regions)),
        region_names=dict(zip(regions["region_code"], regions["region_name"], strict=True)),
        refresh_ms=int(settings.dashboard_refresh_seconds * 1000),
        timezone=settings.election_timezone)
    # serve_locally: every script comes from this server, none from a CDN.
    app = Dash(__name__, use_pages=True, pages_folder=str(PAGES_FOLDER), serve_locally=True,
               title="Saylau", update_title="", suppress_callback_exceptions=True)
    app.server.config["SAYLAU"] = context
    # The status page asks Kafka for the lag; the wall, station and time-travel pages read
    # the election day and refresh settings.
    app.server.config["SAYLAU_SETTINGS"] = settings
    register_metrics(app.server)  # Prometheus /metrics: requests per page and callback
    app.layout = html.Div([dash.page_container], className="saylau")
    register_export_routes(app.server, settings.export_path)
    return app


def current_context() -> DashboardContext:
    """The context of the app serving this request (callbacks run inside Flask requests)."""
    return flask.current_app.config["SAYLAU"]  # type: ignore[no-any-return]
