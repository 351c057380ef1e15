"""One polling station: registry data and commission, every event, the turnout curve
against the official reporting times, incidents with their verification, exit poll, and
the observer's protocol copy against the official protocol. Time travel shows it as of
any moment of the day."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import dash
import pandas as pd
from dash import Input, Output, State, callback, dcc, html

from saylau.core.i18n import N_
from saylau.dashboard.app import current_context
from saylau.dashboard.auth import require_page, require_station
from saylau.dashboard.embargo import embargo_text, embargoed_until
from saylau.dashboard.figures import (
    describe_event,
    exitpoll_shares,
    protocol_comparison,
    turnout_curve,
)
from saylau.dashboard.language import current_language, number, percent_of, t
from saylau.dashboard.names import (
    category_name,
    protocol_field_name,
    region_name,
    role_name,
    status_name,
)
from saylau.dashboard.snapshot import current_settings, reporting_moments
from saylau.dashboard.timetravel import TimeTravel, parse_as_of
from saylau.geo.commission import commission_path, read_commission_csv
from saylau.warehouse import queries

dash.register_page(__name__, path_template="/station/<station_id>",
                   title=lambda **_path: t("Saylau — station"), name="Station")

PAGE = "station"
TIME = TimeTravel(PAGE)


def layout(station_id: str = "", as_of: str | None = None, **_query: str) -> html.Div:
    require_page(PAGE)
    record = queries.station_record(current_context().warehouse, station_id)
    if record.empty:
        return html.Div(className="station", children=[
            html.H1(t("Station not found")),
            html.P(t("No station {station} in the registry.").format(
                       station=repr(station_id[:40])), id=f"{PAGE}-error",
                   className="station-error"),
            dcc.Link(t("back to the wall"), href="/")])
    row = record.iloc[0]
    require_station(str(row["station_id"]))  # a regional lead: their region's stations only
    return html.Div(className="station", children=[
        dcc.Link("← " + t("wall"), href="/"),
        html.H1(f"{row['name']} — {row['station_id']}", id=f"{PAGE}-title"),
        _registry(row),
        html.H2(t("Commission")), _commission(str(row["station_id"])),
        TIME.control(as_of),
        html.Div(className="station-grid", children=[
            html.Div([html.H2(t("Turnout")), dcc.Graph(id=f"{PAGE}-turnout",
                                                    config={"displayModeBar": False})]),
            html.Div([html.H2(t("Incidents")), html.Div(id=f"{PAGE}-incidents")]),
            html.Div([html.H2(t("Exit poll")), html.Div(id=f"{PAGE}-exitpoll")]),
            html.Div([html.H2(t("Protocol: observer copy and official")),
                      html.Div(id=f"{PAGE}-protocols")]),
        ]),
        html.H2(t("Timeline")), html.Div(id=f"{PAGE}-timeline"),
        dcc.Store(id=f"{PAGE}-id", data=str(row["station_id"])),
        dcc.Interval(id=f"{PAGE}-tick", interval=current_context().refresh_ms, n_intervals=0),
    ])


def _registry(row: pd.Series) -> html.Table:
    code = row["region_code"]
    # (id, label, value): the ids stay English, the labels are in the page's language.
    fields = (("region", N_("Region"),
               region_name(code, current_context().region_names.get(code, code))),
              ("district", N_("District"), row["district"]),
              ("settlement", N_("Settlement"), row["settlement"]),
              ("address", N_("Address"), row["address"]),
              ("registered", N_("Registered voters"), number(int(row["registered_voters"]))),
              ("position", N_("Position"), f"{row['lat']:.4f}, {row['lon']:.4f}"))
    return html.Table(className="station-table", id=f"{PAGE}-registry", children=[
        html.Tr([html.Th(t(label)), html.Td(value, id=f"{PAGE}-registry-{key}")])
        for key, label, value in fields])


def _commission(station_id: str) -> html.Table | html.P:
    members = commission_members(current_settings().registry_path, station_id)
    if members.empty:
        return html.P(t("No commission members in the registry."), id=f"{PAGE}-commission")
    parties = current_settings().election().option_names(current_language())
    header = html.Tr([html.Th(t(h)) for h in (N_("Name"), N_("Role"), N_("Party"))])
    rows = [html.Tr([html.Td(m.name), html.Td(role_name(m.role)),
                     html.Td(parties.get(m.party, m.party) if m.party else t("self-nominated"))])
            for m in members.itertuples(index=False)]
    return html.Table([header, *rows], className="station-table", id=f"{PAGE}-commission")


def commission_members(registry_path: Path, station_id: str) -> pd.DataFrame:
    members = _commission_file(str(commission_path(registry_path)),
                               _mtime(commission_path(registry_path)))
    return members[members["station_id"] == station_id]


@functools.lru_cache(maxsize=2)
def _commission_file(path: str, _mtime: float) -> pd.DataFrame:
    """Read once per version of the file (the mtime is part of the cache key)."""
    return read_commission_csv(path)


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


@callback(Output(f"{PAGE}-turnout", "figure"), Output(f"{PAGE}-incidents", "children"),
          Output(f"{PAGE}-exitpoll", "children"), Output(f"{PAGE}-protocols", "children"),
          Output(f"{PAGE}-timeline", "children"),
          Input(f"{PAGE}-tick", "n_intervals"), Input(TIME.store, "data"),
          State(f"{PAGE}-id", "data"))
def refresh(_n: int, as_of_text: str | None, station_id: str) -> tuple[Any, ...]:
    station_id = require_station(station_id)
    context = current_context()
    tz = ZoneInfo(context.timezone)
    as_of = parse_as_of(as_of_text, tz)
    wh = context.warehouse
    record = queries.station_record(wh, station_id)
    voters = int(record["registered_voters"].iloc[0]) if not record.empty else 0
    history = queries.turnout_history(wh, [station_id], as_of)
    history["occurred_at"] = _local(history["occurred_at"], tz)
    moments = reporting_moments(current_settings())
    return (turnout_curve(history, moments, voters),
            _incidents(queries.station_incidents(wh, station_id, as_of), tz),
            _exitpoll(queries.station_exitpoll(wh, station_id, as_of),
                      embargoed_until(wh, current_settings().election(), as_of),
                      context.timezone),
            _protocols(queries.latest_protocols(wh, as_of, [station_id])),
            _timeline(queries.station_events(wh, station_id, as_of), tz))


def _local(times: pd.Series, tz: ZoneInfo) -> pd.Series:
    stamps = pd.to_datetime(times)
    stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps
    return stamps.dt.tz_convert(tz)


def _incidents(incidents: pd.DataFrame, tz: ZoneInfo) -> html.Table | html.P:
    if incidents.empty:
        return html.P(t("No incidents."), id=f"{PAGE}-no-incidents")
    incidents = incidents.assign(occurred_at=_local(incidents["occurred_at"], tz))
    header = html.Tr([html.Th(t(h)) for h in (N_("Time"), N_("Category"), N_("Severity"),
                                              N_("Status"))])
    rows = [html.Tr([html.Td(f"{i.occurred_at:%H:%M}"), html.Td(category_name(i.category)),
                     html.Td(str(i.severity)),
                     html.Td(status_name(i.status), className=f"status-{i.status}")],
                    id=f"{PAGE}-incident-{i.incident_id}")
            for i in incidents.itertuples(index=False)]
    return html.Table([header, *rows], className="station-table")


def _exitpoll(tally: pd.DataFrame, embargo_ends: dt.datetime | None,
              timezone: str) -> html.Table | html.P:
    if tally.empty:
        return html.P(t("No exit-poll interviews."), id=f"{PAGE}-no-exitpoll")
    if embargo_ends is not None:  # as in the media exports (saylau/dashboard/embargo.py)
        return html.P(embargo_text(embargo_ends, timezone), id=f"{PAGE}-exitpoll-embargo")
    shares = exitpoll_shares(tally)
    header = html.Tr([html.Th(t(h)) for h in (N_("Answer"), N_("Interviews"), N_("Share"))])
    rows = [html.Tr([html.Td(r.option), html.Td(number(r.answers)),
                     html.Td(percent_of(r.share_pct))], id=f"{PAGE}-exitpoll-{r.option}")
            for r in shares.itertuples(index=False)]
    total = html.Tr([html.Th(t("all")), html.Th(number(int(tally["answers"].sum())),
                                             id=f"{PAGE}-exitpoll-total"), html.Th("")])
    return html.Table([header, *rows, total], className="station-table")


def _protocols(protocols: pd.DataFrame) -> html.Table | html.P:
    if protocols.empty:
        return html.P(t("No protocol yet."), id=f"{PAGE}-no-protocol")
    table = protocol_comparison(protocols)
    header = html.Tr([html.Th(""), html.Th(t("Observer copy")), html.Th(t("Official"))])
    rows = [html.Tr([html.Td(_figure_label(r.figure)), html.Td(_number(r.observer_copy)),
                     html.Td(_number(r.official))],
                    className="differs" if r.differs else "",
                    id=f"{PAGE}-protocol-{r.figure.replace('votes: ', 'votes-')}")
            for r in table.itertuples(index=False)]
    return html.Table([header, *rows], className="station-table")


def _number(value: int | None) -> str:
    return "—" if value is None else number(value)


def _figure_label(figure: str) -> str:
    """A protocol row's label: its figure's name, or "votes: <option>"."""
    if figure.startswith("votes: "):
        return t("votes: {option}").format(option=figure.removeprefix("votes: "))
    return protocol_field_name(figure)


def _timeline(events: pd.DataFrame, tz: ZoneInfo) -> html.Table | html.P:
    if events.empty:
        return html.P(t("No events."), id=f"{PAGE}-no-events")
    events = events.assign(occurred_at=_local(events["occurred_at"], tz))
    rows = [html.Tr([html.Td(f"{e['occurred_at']:%H:%M:%S}"), html.Td(e["kind"]),
                     html.Td(describe_event(e))], id=f"{PAGE}-event-{e['event_id']}")
            for e in events.to_dict("records")]
    return html.Table(rows, className="station-table", id=f"{PAGE}-events")
