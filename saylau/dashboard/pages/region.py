"""A regional lead's page: the region's stations by coverage, the free observers, the
suggested redeployment, and "assign", which sends an `assignment` event to Kafka.

`/region/KAZ011` (or `/region?region=KAZ011`). Everything shown comes from one snapshot
of the warehouse per refresh. Observers appear by id and organisation only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import dash
import pandas as pd
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html

from saylau.core.i18n import N_
from saylau.dashboard.actions import ActionError, assignment_event
from saylau.dashboard.app import current_context
from saylau.dashboard.auth import (
    current_user,
    logout_button,
    require_page,
    require_region,
    require_station,
)
from saylau.dashboard.language import current_language, number, percent_of, t
from saylau.dashboard.names import coverage_name, free_reason_name, region_name
from saylau.dashboard.regional import (
    coverage_counts,
    free_observers,
    region_map,
    suggestions,
    version_of,
)
from saylau.dashboard.screen_updates import (
    FIGURE,
    PANEL,
    changed_only,
    held_parts,
    parts_of,
    region_version,
    shown_store,
    version_poll,
)
from saylau.dashboard.snapshot import current_snapshot
from saylau.dashboard.timetravel import TimeTravel, parse_as_of
from saylau.geo.roster import PUBLIC_COLUMNS, PUBLIC_FILE
from saylau.warehouse.queries import incidents, observer_whereabouts
from saylau.warehouse.state import COVERAGE_STATES, station_state, turnout_percent

dash.register_page(__name__, path_template="/region/<code>", path="/region",
                   title=lambda **_path: t("Saylau — region"), name="Region")

PAGE = "region"
TIME = TimeTravel(PAGE)
MAX_ROWS = 300  # a region's table beyond this is cut (the map and counts show all)


def layout(code: str | None = None, as_of: str | None = None, **query: str) -> html.Div:
    require_page(PAGE)  # the guard judged the request; the page checks again
    code = require_region(code or query.get("region"))
    context = current_context()
    return html.Div(className="region-page", children=[
        html.H1(f"{region_name(code, context.region_names.get(code, code))} ({code})",
                id=f"{PAGE}-title"),
        logout_button(),
        dcc.Store(id=f"{PAGE}-code", data=code),
        TIME.control(as_of),
        dcc.Store(id=f"{PAGE}-plan-shown"),  # the version of the suggestions on screen
        html.Div(id=f"{PAGE}-counts", className="region-counts"),
        html.Div(className="region-body", children=[
            dcc.Graph(id=f"{PAGE}-map", config={"displayModeBar": False},
                      style={"height": "60vh"}, className="region-map"),
            html.Div(className="region-side", children=[
                html.H2(t("Suggested redeployment")),
                html.Div(id=f"{PAGE}-assign-result", className="region-assign-result"),
                html.Div(id=f"{PAGE}-suggestions"),
                html.H2(t("Free observers")),
                html.Div(id=f"{PAGE}-free"),
            ]),
        ]),
        html.H2(t("Stations without an observer")),
        html.Div(id=f"{PAGE}-uncovered"),
        # The free observers are read every refresh interval; the rest comes as soon as
        # the region's version changes (saylau/dashboard/screen_updates.py).
        dcc.Interval(id=f"{PAGE}-tick", interval=context.refresh_ms, n_intervals=0),
        dcc.Interval(id=f"{PAGE}-poll", interval=context.poll_ms, n_intervals=0),
        dcc.Store(id=f"{PAGE}-latest"),  # the newest version the poll heard of
        dcc.Store(id=f"{PAGE}-shown"),  # the version and parts this screen shows
    ])


def _roster() -> pd.DataFrame:
    """The roster's public part (no names, no phones); empty if none was imported."""
    path = current_context().roster_folder / PUBLIC_FILE
    if not path.exists():
        return pd.DataFrame({column: pd.Series(dtype=object) for column in PUBLIC_COLUMNS})
    return pd.read_csv(path, dtype=str, keep_default_na=False)[PUBLIC_COLUMNS]


def snapshot(code: str, as_of: dt.datetime | None = None, fresh: bool = False
             ) -> dict[str, Any]:
    """Everything the page shows, as of one moment: the stations and incidents from the
    dashboard's shared snapshot (one set of queries per refresh interval for every page
    and screen), or read afresh (`fresh`, before an action)."""
    warehouse = current_context().warehouse
    shared = None if fresh else current_snapshot(as_of)
    state = station_state(warehouse, as_of) if shared is None else shared.state
    stations = state[state["region_code"] == code].reset_index(drop=True)
    roster = _roster()
    home = roster.loc[roster["home_region"] == code, "observer_id"].tolist()
    free = free_observers(roster, observer_whereabouts(warehouse, home, as_of), code)
    in_region = incidents(warehouse, as_of) if shared is None else shared.incidents
    in_region = in_region[in_region["region_code"] == code]
    plan = suggestions(free, stations, state, in_region["station_id"])
    return {"stations": stations, "free": free, "plan": plan}


# The version poll runs in the browser: it wakes ``refresh`` when the region's numbers
# change, between its ticks.
clientside_callback(
    version_poll("'/region/' + encodeURIComponent(code) + '/version'"),
    Output(f"{PAGE}-latest", "data"),
    Input(f"{PAGE}-poll", "n_intervals"), State(TIME.store, "data"),
    State(f"{PAGE}-latest", "data"), State(f"{PAGE}-shown", "data"),
    State(f"{PAGE}-code", "data"),
)

# What ``refresh`` returns before its two stores: each output's kind.
OUTPUTS = (("map", FIGURE), ("counts", PANEL), ("suggestions", PANEL), ("free", PANEL),
           ("uncovered", PANEL))


@callback(Output(f"{PAGE}-map", "figure"), Output(f"{PAGE}-counts", "children"),
          Output(f"{PAGE}-suggestions", "children"), Output(f"{PAGE}-free", "children"),
          Output(f"{PAGE}-uncovered", "children"), Output(f"{PAGE}-plan-shown", "data"),
          Output(f"{PAGE}-shown", "data"),
          Input(f"{PAGE}-tick", "n_intervals"), Input(f"{PAGE}-latest", "data"),
          Input(f"{PAGE}-code", "data"), Input(TIME.store, "data"),
          State(f"{PAGE}-plan-shown", "data"), State(f"{PAGE}-shown", "data"))
def refresh(_n: int, _latest: str | None, code: str, as_of_text: str | None,
            plan_shown: str | None, shown: Any) -> tuple:
    code = require_region(code)
    as_of = parse_as_of(as_of_text, ZoneInfo(current_context().timezone))
    version = region_version(current_snapshot(as_of), code)
    data = snapshot(code, as_of)
    stations = data["stations"]
    # The Assign buttons are redrawn only when the plan changes: a redrawn button resets
    # its clicks, and Dash would then drop the answer to a click still on its way.
    plan = version_of(data["plan"])
    suggestions = dash.no_update if plan == plan_shown else _suggestion_table(data["plan"])
    panels = (region_map(stations, _outline(code)), _counts(stations), suggestions,
              _free_table(data["free"]), _uncovered_table(stations))
    # Fingerprints of what is drawn; the suggestions' own version decides for them.
    parts = parts_of(OUTPUTS, (*panels[:2], plan, *panels[3:]))
    language = current_language()
    _version, held = held_parts(shown, language)
    sent = changed_only(OUTPUTS, panels, parts, held)
    sent[2] = suggestions
    return (*sent, plan, shown_store(version, language, parts))


@callback(Output(f"{PAGE}-assign-result", "children"),
          Input({"type": f"{PAGE}-assign", "observer": ALL, "station": ALL}, "n_clicks"),
          State(f"{PAGE}-code", "data"), State(TIME.store, "data"), prevent_initial_call=True)
def assign(clicks: list[int | None], code: str, as_of_text: str | None) -> Any:
    clicked = ctx.triggered_id
    if not isinstance(clicked, dict) or not any(clicks):
        return dash.no_update  # the table was redrawn; nobody clicked
    code = require_region(code)
    target = require_station(clicked["station"])
    observer = str(clicked["observer"])
    if as_of_text:
        return t("This is the day as it was earlier: go live to assign; nothing sent.")
    data = snapshot(code, fresh=True)
    free = data["free"].set_index("observer_id")
    stations = data["stations"].set_index("station_id")
    if observer not in free.index:
        return t("{observer} is no longer free; nothing sent.").format(observer=observer)
    if target not in stations.index or stations.at[target, "coverage"] in ("present",
                                                                            "en_route"):
        return t("{station} is covered or somebody is on the way; nothing sent.").format(
            station=target)
    user = current_user()
    assert user is not None  # the guard lets no anonymous callback through
    event = assignment_event(observer, free.at[observer, "position_station"] or target,
                             target, assigned_by=user.username)
    try:
        current_context().actions.send(event)
    except ActionError as error:
        return t("Not sent: {error}. Try again.").format(error=error)
    return html.Span(t("Sent: {observer} → {station} (event {event}).").format(
                         observer=observer, station=target, event=event.event_id),
                     id=f"{PAGE}-assign-sent")


def _outline(code: str) -> dict[str, Any] | None:
    features = current_context().regions_geojson["features"]
    return next((f for f in features if f["properties"]["region_code"] == code), None)


def _counts(stations: pd.DataFrame) -> list[html.Div]:
    counts = coverage_counts(stations)
    ballots, registered = int(stations["ballots"].sum()), int(stations["registered_voters"].sum())
    turnout = float(turnout_percent(pd.Series([ballots]), pd.Series([registered]))[0])
    figures = [("stations", number(len(stations)), t("stations")),
               *((state, number(counts[state]), coverage_name(state))
                 for state in COVERAGE_STATES),
               ("turnout", percent_of(turnout), t("{ballots} of {registered} voters").format(
                   ballots=number(ballots), registered=number(registered)))]
    return [html.Div(className="headline-figure", children=[
        html.Div(value, className="headline-value", id=f"{PAGE}-count-{key}"),
        html.Div(caption, className="headline-caption")]) for key, value, caption in figures]


def _table(header: list[str], rows: list[html.Tr], empty: str) -> html.Table | html.P:
    if not rows:
        return html.P(empty, className="empty")
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
                      className="region-table")


def _suggestion_table(plan: pd.DataFrame) -> html.Table | html.P:
    rows = [html.Tr([
        html.Td(row.observer_id), html.Td(row.station_id), html.Td(f"{row.distance_km:.1f}"),
        html.Td(html.Button(t("Assign"), id={"type": f"{PAGE}-assign", "observer": row.observer_id,
                                          "station": row.station_id}, n_clicks=0))],
        id=f"{PAGE}-suggestion-{row.station_id}")
        for row in plan.head(MAX_ROWS).itertuples(index=False)]
    return _table([t("Observer"), t("To station"), t("km"), ""], rows,
                  t("No suggestion: no free observer within reach of an uncovered station."))


def _free_table(free: pd.DataFrame) -> html.Table | html.P:
    rows = [html.Tr([html.Td(row.observer_id), html.Td(row.organisation),
                     html.Td(free_reason_name(row.reason)),
                     html.Td(row.position_station or "—")], id=f"{PAGE}-free-{row.observer_id}")
            for row in free.head(MAX_ROWS).itertuples(index=False)]
    return _table([t(h) for h in (N_("Observer"), N_("Organisation"), N_("Why free"),
                                  N_("Last seen at"))], rows,
                  t("No free observer in this region."))


def _uncovered_table(stations: pd.DataFrame) -> html.Table | html.P:
    uncovered = stations[stations["coverage"] != "present"].sort_values(
        ["registered_voters", "station_id"], ascending=[False, True])
    rows = [html.Tr([html.Td(row.station_id), html.Td(number(row.registered_voters)),
                     html.Td(coverage_name(row.coverage), className=f"coverage-{row.coverage}")],
                    id=f"{PAGE}-station-{row.station_id}")
            for row in uncovered.head(MAX_ROWS).itertuples(index=False)]
    return _table([t(h) for h in (N_("Station"), N_("Voters"), N_("State"))], rows,
                  t("Every station has an observer."))
