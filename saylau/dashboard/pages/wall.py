"""Headquarters wall screen (kiosk): dark, large type, no interaction needed.

It rotates every ``SAYLAU_DASHBOARD_ROTATE_SECONDS`` between three maps (turnout, incident
density, coverage gaps) and shows headline numbers, national turnout at each official
reporting time, incidents by category, the regions and an alert ticker. Every panel is
drawn from the same snapshot (``saylau.dashboard.snapshot``), so all figures agree; the time
travel bar shows the wall as of any moment of the day.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import dash
import pandas as pd
from dash import Input, Output, State, callback, clientside_callback, dcc, html

from saylau.core.i18n import N_
from saylau.dashboard.aggregate import POINT_LIMIT
from saylau.dashboard.app import current_context
from saylau.dashboard.auth import require_page
from saylau.dashboard.figures import coverage_gap_map, incident_density_map, turnout_map
from saylau.dashboard.language import current_language, number, percent_of, t
from saylau.dashboard.names import alert_kind_name, category_name, region_name
from saylau.dashboard.screen_updates import (
    FIGURE,
    PANEL,
    WALL_VERSION_PATH,
    answer_key,
    answered_for,
    changed_only,
    drawn,
    held_key,
    held_parts,
    input_value,
    shown_store,
    version_poll,
)
from saylau.dashboard.snapshot import Snapshot, current_settings, current_snapshot
from saylau.dashboard.timetravel import BadAsOf, TimeTravel, parse_as_of

dash.register_page(__name__, path="/", title=lambda **_path: t("Saylau — wall"), name="Wall")

PAGE = "wall"
PANELS = (("turnout", N_("Turnout by region"), "map"),
          ("density", N_("Incidents per 10,000 voters — verified and unverified"), "map-density"),
          ("gaps", N_("Coverage gaps — stations without an observer, by voters"), "map-gaps"))
TIME = TimeTravel(PAGE)
TICKER_ALERTS = 20


def layout(as_of: str | None = None, **_query: str) -> html.Div:
    require_page(PAGE)  # the guard judged the request; the page checks again
    poll_ms = current_context().poll_ms
    rotate_ms = int(current_settings().dashboard_rotate_seconds * 1000)
    return html.Div(className="wall", children=[
        html.Div(className="wall-top", children=[
            html.H1(t("Saylau — election day"), className="wall-title"),
            html.H2(t(PANELS[0][1]), id=f"{PAGE}-panel-title", className="wall-panel-title")]),
        html.Div(id=f"{PAGE}-headline", className="wall-headline"),
        html.Div(id=f"{PAGE}-reporting", className="wall-reporting"),
        html.Div(className="wall-body", children=[
            html.Div(className="wall-panels", children=[_panel(*p, first=i == 0)
                                                       for i, p in enumerate(PANELS)]),
            html.Div(className="wall-side", children=[
                html.Div(id=f"{PAGE}-categories", className="wall-categories"),
                html.Div(id=f"{PAGE}-regions", className="wall-regions")]),
        ]),
        html.Div(html.Div(id=f"{PAGE}-ticker", className="ticker-track"), className="ticker"),
        TIME.control(as_of),
        # Asks for the snapshot's version every poll; the numbers come only when it changed
        # (saylau/dashboard/screen_updates.py).
        dcc.Interval(id=f"{PAGE}-poll", interval=poll_ms, n_intervals=0),
        dcc.Interval(id=f"{PAGE}-rotate", interval=rotate_ms, n_intervals=0),
        dcc.Store(id=f"{PAGE}-latest"),  # the newest version the poll heard of
        dcc.Store(id=f"{PAGE}-shown"),  # the version and parts this screen shows
        dcc.Store(id=f"{PAGE}-titles", data=[t(title) for _key, title, _graph in PANELS]),
    ])


def _panel(key: str, _title: str, graph_id: str, first: bool) -> html.Div:
    return html.Div(id=f"{PAGE}-panel-{key}", className="wall-panel" + (" active" if first else ""),
                    children=dcc.Graph(id=f"{PAGE}-{graph_id}", className="wall-map",
                                       config={"displayModeBar": False},
                                       style={"height": "100%"}))


# Rotation happens in the browser: showing another panel needs no query.
clientside_callback(
    """function (n, titles) {
        const shown = (n || 0) % titles.length;
        const classes = titles.map((_, i) => i === shown ? 'wall-panel active' : 'wall-panel');
        return [...classes, titles[shown]];
    }""",
    *[Output(f"{PAGE}-panel-{key}", "className") for key, _title, _graph in PANELS],
    Output(f"{PAGE}-panel-title", "children"),
    Input(f"{PAGE}-rotate", "n_intervals"), State(f"{PAGE}-titles", "data"),
)


# The version poll runs in the browser: it wakes the server callback only for new numbers.
clientside_callback(
    version_poll(repr(WALL_VERSION_PATH)),
    Output(f"{PAGE}-latest", "data"),
    Input(f"{PAGE}-poll", "n_intervals"), State(TIME.store, "data"),
    State(f"{PAGE}-latest", "data"), State(f"{PAGE}-shown", "data"),
)

# What ``refresh`` returns, in order (the shown store last): each output's kind.
OUTPUTS = (("map", FIGURE), ("density", FIGURE), ("gaps", FIGURE), ("headline", PANEL),
           ("reporting", PANEL), ("categories", PANEL), ("regions", PANEL), ("ticker", PANEL))


@callback(Output(f"{PAGE}-map", "figure"), Output(f"{PAGE}-map-density", "figure"),
          Output(f"{PAGE}-map-gaps", "figure"), Output(f"{PAGE}-headline", "children"),
          Output(f"{PAGE}-reporting", "children"), Output(f"{PAGE}-categories", "children"),
          Output(f"{PAGE}-regions", "children"), Output(f"{PAGE}-ticker", "children"),
          Output(f"{PAGE}-shown", "data"),
          Input(f"{PAGE}-latest", "data"), Input(TIME.store, "data"),
          State(f"{PAGE}-shown", "data"))
def refresh(_latest: str | None, as_of: str | None, shown: Any) -> tuple[Any, ...]:
    context = current_context()
    snap = current_snapshot(parse_as_of(as_of, ZoneInfo(context.timezone)))
    language = current_language()
    version, held = held_parts(shown, language)
    answered_for((snap.version, language, *held_key(version, held)))  # kept for the next
    if snap.version == version:  # this screen already shows these very numbers
        return (dash.no_update,) * (len(OUTPUTS) + 1)
    # One snapshot feeds every panel; its panels and their fingerprints are built once for
    # every screen (once per language: the figures' texts are in the screen's language).
    panels = snap.built(f"{PAGE}.{language}", lambda: _panels(snap))
    parts, figures = snap.built(f"{PAGE}.{language}.parts", lambda: drawn(OUTPUTS, panels))
    # Each screen is sent what differs from what it shows: nothing, a patch, or all.
    return (*changed_only(OUTPUTS, panels, parts, held, figures),
            shown_store(snap.version, language, parts))


@answer_key(f"{PAGE}-shown.data")
def _answer_key(body: dict[str, Any]) -> tuple[Any, ...] | None:
    """``refresh``'s answer depends on the snapshot, the language and what the screen
    shows, nothing else: screens that show the same are sent the same bytes."""
    try:
        as_of = parse_as_of(input_value(body, TIME.store, "data"),
                            ZoneInfo(current_context().timezone))
    except (BadAsOf, TypeError):
        return None
    language = current_language()
    version, held = held_parts(input_value(body, f"{PAGE}-shown", "data"), language)
    return (current_snapshot(as_of).version, language, *held_key(version, held))


def _in_station_order(stations: pd.DataFrame) -> pd.DataFrame:
    """Stations drawn one by one, in the order of their ids: the snapshot reads them in no
    particular order, and a map's markers in another order would be sent again whole
    (``changed_only``) though nothing changed. Above ``POINT_LIMIT`` the maps draw grid
    cells, whose order is their own: no sorting of a million ids."""
    if len(stations) > POINT_LIMIT:
        return stations
    return stations.sort_values("station_id", kind="stable", ignore_index=True)


def _panels(snap: Snapshot) -> tuple[Any, ...]:
    context = current_context()
    tz, names = ZoneInfo(context.timezone), context.region_names
    state = _in_station_order(snap.state)
    return (turnout_map(context.regions_geojson, snap.summary, state),
            incident_density_map(context.regions_geojson, snap.density,
                                 _in_station_order(snap.incident_stations), names),
            coverage_gap_map(context.regions_geojson, snap.gaps, state, names),
            _headline(snap, tz), _reporting(snap.reporting, tz),
            _categories(snap.incidents_by_category), _region_table(snap.summary),
            _ticker(snap.alerts, names, tz))


def _local_time(moment: dt.datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M") if moment else "—"


def _headline(snap: Snapshot, tz: ZoneInfo) -> list[html.Div]:
    numbers = snap.headline
    caption = t("as of (local time)") if snap.as_of else t("latest report (local time)")
    verified = int(snap.incidents_by_category["verified"].sum())
    return [
        _figure("as-of", _local_time(snap.latest, tz), caption),
        _figure("turnout", percent_of(numbers.turnout_pct),
                t("turnout now: {ballots} of {registered}").format(
                    ballots=number(numbers.ballots), registered=number(numbers.registered))),
        _figure("covered", f"{number(numbers.covered)} / {number(numbers.stations)}",
                t("stations with an observer")),
        _figure("incidents", number(snap.counted_incidents),
                t("incidents ({verified} verified)").format(verified=number(verified))),
        _figure("alerts", number(len(snap.alerts)), t("alerts")),
        _figure("rejected", number(snap.rejected), t("reports rejected (all day)")),
    ]


def _figure(key: str, value: str, caption: str) -> html.Div:
    return html.Div(className="headline-figure", id=f"{PAGE}-figure-{key}", children=[
        html.Div(value, className="headline-value", id=f"{PAGE}-value-{key}"),
        html.Div(caption, className="headline-caption")])


def _reporting(table: pd.DataFrame, tz: ZoneInfo) -> list[html.Div]:
    """National turnout at each official reporting time: observers' count and official."""
    cells = [html.Div(t("Turnout at the reporting times"), className="reporting-caption")]
    for row in table.itertuples(index=False):
        key = row.moment.astimezone(tz).strftime("%H%M")
        observer = percent_of(row.observer_pct) if row.reached else "—"
        official = (t("official {share}").format(share=percent_of(row.official_pct))
                    if row.reached else t("not yet"))
        cells.append(html.Div(id=f"{PAGE}-reporting-{key}", className="reporting-time", children=[
            html.Span(row.moment.astimezone(tz).strftime("%H:%M"), className="reporting-at"),
            html.Span(observer, className="reporting-observer"),
            html.Span(official, className="reporting-official")]))
    return cells


def _categories(table: pd.DataFrame) -> html.Table:
    header = html.Tr([html.Th(t(h)) for h in (N_("Incidents"), N_("Verified"),
                                              N_("Unverified"))])
    rows = [html.Tr([html.Td(category_name(category)), html.Td(number(row.verified)),
                     html.Td(number(row.unverified))], id=f"{PAGE}-category-{category}")
            for category, row in table[table["counted"] > 0].iterrows()]
    return html.Table([html.Thead(header), html.Tbody(rows)], className="region-table")


def _region_table(summary: pd.DataFrame) -> html.Table:
    header = html.Tr([html.Th(t(h)) for h in (N_("Region"), N_("Turnout"), N_("Covered"))])
    rows = [html.Tr([html.Td(region_name(r.region_code, r.region_name)),
                     html.Td(percent_of(r.turnout_pct)),
                     html.Td(f"{number(r.covered)}/{number(r.stations)}")],
                    id=f"{PAGE}-region-{r.region_code}")
            for r in summary.itertuples(index=False)]
    return html.Table([html.Thead(header), html.Tbody(rows)], className="region-table")


def _ticker(alerts: pd.DataFrame, names: dict[str, str], tz: ZoneInfo) -> list[html.Span]:
    """Alerts by kind, then the newest ``TICKER_ALERTS`` one by one (a day can hold
    thousands of uncovered-station alerts; the count says how many)."""
    if alerts.empty:
        return [html.Span(t("no alerts"), className="ticker-item")]
    kinds = alerts["kind"].value_counts()
    summary = ", ".join(f"{number(count)} {alert_kind_name(str(kind))}"
                        for kind, count in kinds.items())
    newest = alerts.sort_values(["occurred_at", "alert_id"], ascending=False).head(TICKER_ALERTS)
    heading = t("{count} alerts: {summary}").format(count=number(len(alerts)), summary=summary)
    return [html.Span(heading, className="ticker-item"),
            *[html.Span(_alert_text(a, names, tz), className="ticker-item",
                        **{"data-alert": a.kind})
              for a in newest.itertuples(index=False)]]


def _alert_text(alert: Any, names: dict[str, str], tz: ZoneInfo) -> str:
    moment = pd.Timestamp(alert.occurred_at)
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment
    where = alert.station_id or region_name(alert.region_code,
                                            names.get(alert.region_code, alert.region_code))
    detail = f" — {alert.detail}" if alert.detail else ""
    return f"{moment.astimezone(tz):%H:%M} {alert_kind_name(str(alert.kind))}: {where}{detail}"
