"""Incident review: filter by region, category, severity and status; verify or reject.

A verdict is sent as a `review` event to Kafka (the worker stores it like any report), so
the table shows the new status once the worker has it. A regional lead sees and reviews
the incidents of their own region only.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import dash
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from werkzeug.exceptions import Forbidden

from saylau.core.contract import INCIDENT_CATEGORIES
from saylau.core.i18n import DEFAULT_LANGUAGE, N_
from saylau.dashboard.actions import ActionError, review_event
from saylau.dashboard.app import current_context
from saylau.dashboard.auth import (
    allowed_regions,
    current_user,
    logout_button,
    require_page,
    require_region,
    require_station,
)
from saylau.dashboard.incident_list import SEVERITIES, STATUSES, filter_incidents
from saylau.dashboard.language import current_language, t
from saylau.dashboard.names import category_name, region_name, status_name
from saylau.dashboard.regional import version_of
from saylau.dashboard.snapshot import current_snapshot
from saylau.dashboard.timetravel import TimeTravel, parse_as_of
from saylau.warehouse.queries import incident_descriptions, incidents

dash.register_page(__name__, path="/incidents",
                   title=lambda **_path: t("Saylau — incidents"), name="Incidents")

PAGE = "incidents"
TIME = TimeTravel(PAGE)
VERDICTS = {"verified": N_("Verify"), "rejected": N_("Reject")}
MAX_ROWS = 500


def layout(as_of: str | None = None, **query: str) -> html.Div:
    require_page(PAGE)  # the guard judged the request; the page checks again
    user = current_user()
    regions = sorted(allowed_regions(user))
    names = current_context().region_names
    chosen = query.get("region")
    if chosen is not None:
        require_region(chosen)
    elif len(regions) == 1:
        chosen = regions[0]
    return html.Div(className="incidents-page", children=[
        html.H1(t("Incidents")),
        logout_button(),
        html.Div(className="incidents-filters", children=[
            dcc.Dropdown(id=f"{PAGE}-region", value=chosen, clearable=len(regions) > 1,
                         placeholder=t("every region"),
                         options=[{"label": f"{region_name(c, names.get(c, c))} ({c})", "value": c}
                                  for c in regions]),
            dcc.Dropdown(id=f"{PAGE}-category", multi=True, placeholder=t("every category"),
                         options=[{"label": category_name(c), "value": c}
                                  for c in INCIDENT_CATEGORIES],
                         value=_listed(query, "category", INCIDENT_CATEGORIES)),
            dcc.Dropdown(id=f"{PAGE}-severity", multi=True, placeholder=t("every severity"),
                         options=[{"label": t("severity {level}").format(level=s), "value": s}
                                  for s in SEVERITIES],
                         value=[int(s) for s in _listed(query, "severity",
                                                        tuple(map(str, SEVERITIES)))]),
            dcc.Dropdown(id=f"{PAGE}-status", multi=True, placeholder=t("every status"),
                         options=[{"label": status_name(s), "value": s} for s in STATUSES],
                         value=_listed(query, "status", STATUSES)),
        ]),
        TIME.control(as_of),
        html.Div(id=f"{PAGE}-review-result", className="incidents-review-result"),
        html.Div(id=f"{PAGE}-count", className="incidents-count"),
        html.Div(id=f"{PAGE}-table"),
        dcc.Store(id=f"{PAGE}-table-shown"),  # the version of the table on screen
        dcc.Interval(id=f"{PAGE}-tick", interval=current_context().refresh_ms, n_intervals=0),
    ])


def _listed(query: dict[str, str], name: str, known: tuple[str, ...]) -> list[str]:
    """A filter given in the address (`?severity=2,3`), known values only."""
    return [v for v in query.get(name, "").split(",") if v in known]


def _regions(region: str | None) -> set[str]:
    """The regions a request may list: the one chosen (if the user may), else all theirs."""
    if region is not None:
        return {require_region(region)}
    return set(allowed_regions(current_user()))


@callback(Output(f"{PAGE}-table", "children"), Output(f"{PAGE}-count", "children"),
          Output(f"{PAGE}-table-shown", "data"),
          Input(f"{PAGE}-tick", "n_intervals"), Input(f"{PAGE}-region", "value"),
          Input(f"{PAGE}-category", "value"), Input(f"{PAGE}-severity", "value"),
          Input(f"{PAGE}-status", "value"), Input(TIME.store, "data"),
          State(f"{PAGE}-table-shown", "data"))
def refresh(_n: int, region: str | None, categories: list[str] | None,
            severities: list[int] | None, statuses: list[str] | None,
            as_of_text: str | None, table_shown: str | None) -> tuple:
    regions = _regions(region)
    as_of = parse_as_of(as_of_text, ZoneInfo(current_context().timezone))
    # The dashboard's shared snapshot: the same incidents the wall counts at this moment.
    shown = filter_incidents(current_snapshot(as_of).incidents, regions,
                             list(categories or []), list(severities or []),
                             list(statuses or []))
    count = html.Span(f"{len(shown):,}", id=f"{PAGE}-matching")  # a count tests read
    matching = [count, " ", t("incidents match")]
    shown = shown.head(MAX_ROWS)
    # Redrawn only when it changes: a redrawn button resets its clicks, and Dash would
    # then drop the answer to a click still on its way.
    version = version_of(shown)
    if version == table_shown:
        return dash.no_update, matching, version
    descriptions = incident_descriptions(current_context().warehouse, shown)
    return _table(shown, descriptions), matching, version


@callback(Output(f"{PAGE}-review-result", "children"),
          Input({"type": f"{PAGE}-review", "incident": ALL, "verdict": ALL}, "n_clicks"),
          State(f"{PAGE}-region", "value"), State(TIME.store, "data"),
          prevent_initial_call=True)
def review(clicks: list[int | None], region: str | None, as_of_text: str | None) -> Any:
    clicked = ctx.triggered_id
    if not isinstance(clicked, dict) or not any(clicks):
        return dash.no_update  # the table was redrawn; nobody clicked
    _regions(region)
    if as_of_text:
        return t("This is the day as it was earlier: go live to review; nothing sent.")
    verdict, incident_id = str(clicked["verdict"]), str(clicked["incident"])
    known = incidents(current_context().warehouse).set_index("incident_id")
    if incident_id not in known.index:
        raise Forbidden("no such incident")  # the same answer as another region's
    station = require_station(str(known.at[incident_id, "station_id"]))
    if verdict not in VERDICTS:
        return t("Unknown verdict; nothing sent.")
    user = current_user()
    assert user is not None  # the guard lets no anonymous callback through
    event = review_event(incident_id, station, verdict, reviewer_id=user.username)
    try:
        current_context().actions.send(event)
    except ActionError as error:
        return t("Not sent: {error}. Try again.").format(error=error)
    return html.Span(t("Sent: {verdict} for incident {incident} at {station}.").format(
                         verdict=status_name(verdict), incident=incident_id, station=station),
                     id=f"{PAGE}-review-sent")


def _table(shown: pd.DataFrame, descriptions: dict[str, str]) -> html.Table | html.P:
    if shown.empty:
        return html.P(t("No incident matches."), className="empty")
    zone = ZoneInfo(current_context().timezone)
    header = [t(h) if h else h for h in (N_("Time"), N_("Station"), N_("Region"),
                                          N_("Category"), N_("Severity"), N_("Status"), "",
                                          N_("Report"))]
    rows = [html.Tr([
        html.Td(_local(row.occurred_at, zone)), html.Td(row.station_id),
        html.Td(row.region_code), html.Td(_category(row.category)),
        html.Td(str(row.severity)),
        html.Td(status_name(row.status), className=f"status-{row.status}"),
        html.Td([html.Button(t(label), n_clicks=0, id={"type": f"{PAGE}-review",
                                                    "incident": row.incident_id,
                                                    "verdict": verdict})
                 for verdict, label in VERDICTS.items()]),
        html.Td(descriptions.get(row.incident_id, ""), className="incident-description")],
        id=f"{PAGE}-row-{row.incident_id}") for row in shown.itertuples(index=False)]
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
                      className="region-table")


def _category(code: str) -> str:
    """The category's name in Kazakh or Russian; in English the code itself, as this table
    has always shown it (tests/dashboard/test_incidents_page.py reads it)."""
    return code if current_language() == DEFAULT_LANGUAGE else category_name(code)


def _local(moment: Any, zone: ZoneInfo) -> str:
    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert(zone).strftime("%H:%M")
