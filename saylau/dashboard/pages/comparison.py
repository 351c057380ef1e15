"""The public station-by-station comparison (docs/comparison.md): every station's official
figures beside the observers' verified copy, the difference per party and "Against all",
the released protocol photo by hash, and a summary per region.

The numbers are ``saylau.exports.comparison.comparison_tables`` (the bundles' files), kept
per process until a tabulation row is written (`_tables`), so a page turn at a million
stations costs a slice, not a query. The station table pages on the server: the browser
receives one page of rows at a time.

Headquarters also see a release control: clicking a station's row shows its photo's hash
(released or not: they decide) and sends a ``photo_release`` event to release or withdraw
it. Its callbacks refuse every other role, though the media may open the page: until it is
released, a photo's hash is on no page but theirs.

No embargo holds here: the exit-poll embargo (saylau/dashboard/embargo.py) is the project's
only one, and this page has no exit-poll figure; as on the analysis page, official and
verified figures show as they arrive. The bundles carry the files after polls close.
"""

from __future__ import annotations

import threading
from typing import Any

import dash
import numpy as np
import pandas as pd
from dash import Input, Output, State, callback, dash_table, dcc, html
from werkzeug.exceptions import Forbidden

from saylau.core.i18n import N_
from saylau.dashboard.actions import ActionError, photo_release_event
from saylau.dashboard.app import current_context
from saylau.dashboard.auth import current_user, logout_button, require_page
from saylau.dashboard.language import current_language, t
from saylau.dashboard.names import region_name
from saylau.dashboard.photo_routes import photo_url
from saylau.dashboard.snapshot import current_settings
from saylau.dashboard.tabulation_routes import photo_url as tabulation_photo_url
from saylau.dashboard.users import HEADQUARTERS
from saylau.exports.comparison import ComparisonTables, comparison_tables
from saylau.warehouse.comparison_queries import (
    photo_released,
    station_photo,
    tabulation_version,
)

dash.register_page(__name__, path="/comparison", name="Comparison",
                   title=lambda **_path: t("Saylau — official results and verified copies"))

PAGE = "comparison"
PAGE_SIZE = 50
ALL_REGIONS = "all"
SIDES = {"official": N_("official"), "verified": N_("verified"),
         "difference": N_("difference")}
SUMMARY_COLUMNS = {"stations_official": N_("stations with official results"),
                   "stations_compared": N_("stations compared"),
                   "stations_matching": N_("stations matching"),
                   "votes_moved": N_("votes moved")}
ABOUT = N_("Every polling station's official result beside the copy of its protocol that "
           "observers photographed and volunteers typed in twice, independently. A "
           "difference is official minus verified. Votes moved counts, per station, the "
           "votes the official figures give a party (or Against all) beyond the verified "
           "copy. A protocol photo is published, by its SHA-256 hash, only once "
           "headquarters released it.")


def layout(**_query: str) -> html.Div:
    require_page(PAGE)
    tables = _tables()
    return html.Div(className="comparison", children=[
        html.H1(t("Official results and verified copies")),
        logout_button(),
        html.P(t(ABOUT), id=f"{PAGE}-about"),
        html.H2(t("By region")),
        _summary(tables),
        html.H2(t("By station")),
        dcc.Dropdown(id=f"{PAGE}-region", value=ALL_REGIONS, clearable=False,
                     options=_region_options(tables)),
        html.P(id=f"{PAGE}-count"),
        _station_table(tables),
        *(_release_control() if _is_headquarters() else []),
        dcc.Store(id=f"{PAGE}-released", data=0),  # bumped by a release: reload the rows
    ])


# --- The numbers, once per change of the tabulation table ---------------------------------

_cache: dict[int, tuple[Any, ComparisonTables]] = {}
_cache_lock = threading.Lock()


def _tables() -> ComparisonTables:
    """The comparison as of now, computed again only when a tabulation row was written
    since (a release, a copy, a publication): the count and newest time of the table."""
    warehouse = current_context().warehouse
    election = current_settings().election()
    with _cache_lock:
        version = (tabulation_version(warehouse), election)
        cached = _cache.get(id(warehouse))
        if cached is None or cached[0] != version:
            cached = (version, comparison_tables(warehouse, election))
            _cache[id(warehouse)] = cached
        return cached[1]


# --- The region summary --------------------------------------------------------------------

def _summary(tables: ComparisonTables) -> html.Div:
    if tables.regions.empty:
        return html.Div(html.P(t("No official results yet."), id=f"{PAGE}-none"))
    header = html.Tr([html.Th(t("Region")),
                      *[html.Th(t(name)) for name in SUMMARY_COLUMNS.values()]])
    rows = [html.Tr([html.Td(region_name(row["region_code"]), className="region"),
                     *[html.Td(str(int(row[column])), className=column)
                       for column in SUMMARY_COLUMNS]],
                    id=f"{PAGE}-region-{row['region_code']}", className="comparison-region")
            for row in _by_region_name(tables.regions).to_dict("records")]
    return html.Div(html.Table([html.Thead(header), html.Tbody(rows)],
                               id=f"{PAGE}-regions", className="comparison-table"))


def _by_region_name(regions: pd.DataFrame) -> pd.DataFrame:
    return regions.assign(_name=regions["region_code"].map(region_name)).sort_values(
        ["_name", "region_code"]).drop(columns="_name")


def _region_options(tables: ComparisonTables) -> list[dict[str, str]]:
    codes = _by_region_name(tables.regions)["region_code"].tolist()
    return [{"label": t("every region"), "value": ALL_REGIONS},
            *[{"label": region_name(code), "value": code} for code in codes]]


# --- The station table, one page at a time -------------------------------------------------

def _station_table(tables: ComparisonTables) -> Any:  # a generated component class
    options = current_settings().election().option_names(current_language())
    station = t("Station")
    columns = [{"id": "station_id", "name": [station, t("number")]},
               {"id": "station_name", "name": [station, t("name")]},
               {"id": "region", "name": [station, t("region")]}]
    for code in tables.options:
        columns += [{"id": f"{side}_{code}", "name": [options.get(code, code), t(label)],
                     "type": "numeric"} for side, label in SIDES.items()]
    columns += [{"id": "matches", "name": [t("Compared"), t("matches")]},
                {"id": "votes_moved", "name": [t("Compared"), t("votes moved")],
                 "type": "numeric"},
                {"id": "photo", "name": [t("Protocol photo"), t("SHA-256")],
                 "presentation": "markdown"}]
    return dash_table.DataTable(  # type: ignore[attr-defined]  # generated component
        id=f"{PAGE}-stations", columns=columns, data=[], page_action="custom",
        page_current=0, page_size=PAGE_SIZE, page_count=1, merge_duplicate_headers=True,
        cell_selectable=_is_headquarters(), markdown_options={"link_target": "_blank"},
        style_table={"overflowX": "auto"},
        # the dashboard's dark background: light text on dark cells, as the other tables
        style_header={"backgroundColor": "#2a2a2a", "color": "#eee", "fontWeight": "bold"},
        style_cell={"backgroundColor": "#1b1b1b", "color": "#eee", "border": "1px solid #444"},
        style_data_conditional=[{"if": {"filter_query": f"{{difference_{code}}} > 0 || "
                                                        f"{{difference_{code}}} < 0",
                                        "column_id": f"difference_{code}"},
                                 "fontWeight": "bold", "color": "#ff8c8c"}
                                for code in tables.options])


@callback(Output(f"{PAGE}-stations", "data"), Output(f"{PAGE}-stations", "page_count"),
          Output(f"{PAGE}-count", "children"),
          Input(f"{PAGE}-stations", "page_current"), Input(f"{PAGE}-stations", "page_size"),
          Input(f"{PAGE}-region", "value"), Input(f"{PAGE}-released", "data"))
def station_page(page: int | None, size: int | None, region: str | None,
                 _released: int | None) -> tuple[list[dict], int, str]:
    require_page(PAGE)
    stations = _tables().stations
    if region and region != ALL_REGIONS:
        stations = stations[stations["region_code"] == region]
    size = max(1, min(int(size or PAGE_SIZE), 500))
    pages = max(1, -(-len(stations) // size))
    page = min(max(0, int(page or 0)), pages - 1)
    shown = stations.iloc[page * size:(page + 1) * size]
    return _rows(shown), pages, t("{count} stations").format(count=len(stations))


def _rows(stations: pd.DataFrame) -> list[dict]:
    """Table rows: integers as integers, empty cells where there is no verified copy."""
    rows = []
    yes, no = t("yes"), t("no")
    for record in stations.astype(object).where(stations.notna(), None).to_dict("records"):
        photo = record.pop("photo_sha256") or ""
        record["region"] = region_name(record.pop("region_code"))
        record["matches"] = None if record["matches"] is None else (
            yes if record["matches"] else no)
        record["photo"] = f"[{photo[:16]}…]({photo_url(photo)})" if photo else ""
        rows.append({key: int(value) if isinstance(value, int | np.integer) else value
                     for key, value in record.items()})
    return rows


# --- Headquarters: release or withdraw a photo ------------------------------------------

def _is_headquarters() -> bool:
    user = current_user()
    return user is not None and user.role == HEADQUARTERS


def _require_headquarters() -> str:
    user = current_user()
    if user is None or user.role != HEADQUARTERS:
        raise Forbidden("only headquarters release photos")
    return user.username


def _release_control() -> list:
    return [html.H2(t("Release protocol photos")),
            html.P(t("Click a station's row to see its photo's hash, then release the "
                     "photo for publication or withdraw it."), id=f"{PAGE}-release-about"),
            html.Div(id=f"{PAGE}-release-photo", className="comparison-release-photo"),
            html.Button(t("Release"), id=f"{PAGE}-release", n_clicks=0),
            html.Button(t("Withdraw"), id=f"{PAGE}-withdraw", n_clicks=0),
            html.Div(id=f"{PAGE}-release-result", className="comparison-release-result"),
            dcc.Store(id=f"{PAGE}-release-station")]


@callback(Output(f"{PAGE}-release-station", "data"),
          Output(f"{PAGE}-release-photo", "children"),
          Input(f"{PAGE}-stations", "active_cell"), State(f"{PAGE}-stations", "data"),
          prevent_initial_call=True)
def choose_station(cell: dict | None, rows: list[dict] | None) -> tuple[dict | None, Any]:
    _require_headquarters()
    if not cell or not rows or not 0 <= int(cell.get("row", -1)) < len(rows):
        return None, ""
    station = str(rows[int(cell["row"])]["station_id"])
    warehouse = current_context().warehouse
    photo = station_photo(warehouse, station)
    if not photo:
        return None, html.P(t("Station {station} has no verified copy.").format(
            station=station), id=f"{PAGE}-release-none")
    state = t("released") if photo_released(warehouse, photo) else t("not released")
    # The photo itself, to decide on (a face, a signature?): served by the tabulation
    # page's route, which headquarters may open; never by the public route before release.
    return {"station": station, "photo": photo}, html.Div([html.P([
        t("Station {station}, photo").format(station=station), " ",
        html.Code(photo, id=f"{PAGE}-release-hash"), " ",
        html.Span(f"({state})", id=f"{PAGE}-release-state")]),
        html.Img(src=tabulation_photo_url(photo), id=f"{PAGE}-release-image",
                 alt=t("Protocol photo"), className="comparison-release-image")])


@callback(Output(f"{PAGE}-release-result", "children"), Output(f"{PAGE}-released", "data"),
          Input(f"{PAGE}-release", "n_clicks"), Input(f"{PAGE}-withdraw", "n_clicks"),
          State(f"{PAGE}-release-station", "data"), State(f"{PAGE}-released", "data"),
          prevent_initial_call=True)
def release(_release: int, _withdraw: int, chosen: dict | None, bumped: int | None
            ) -> tuple[str, int]:
    actor = _require_headquarters()
    if not isinstance(chosen, dict) or not chosen.get("photo"):
        return t("Choose a station with a verified copy first."), bumped or 0
    warehouse = current_context().warehouse
    station, photo = str(chosen["station"]), str(chosen["photo"])
    if station_photo(warehouse, station) != photo:  # sent from the browser: check it
        raise Forbidden("not this station's photo")
    released = dash.ctx.triggered_id == f"{PAGE}-release"
    try:
        current_context().actions.send(photo_release_event(photo, station, released, actor))
    except ActionError as error:
        return t("Not sent: {error}").format(error=str(error)), bumped or 0
    done = t("Sent: photo released.") if released else t("Sent: photo withdrawn.")
    return done, (bumped or 0) + 1
