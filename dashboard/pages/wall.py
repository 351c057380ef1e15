"""Headquarters wall screen: turnout by region, stations by coverage, headline numbers."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import dash
from dash import Input, Output, callback, dcc, html

from dashboard.app import current_context
from dashboard.figures import headline, region_summary, turnout_map
from warehouse.queries import latest_event_time, rejected_counts
from warehouse.state import station_state

dash.register_page(__name__, path="/", title="Saylau — wall", name="Wall")

PAGE = "wall"


def layout(**_query: str) -> html.Div:
    refresh_ms = current_context().refresh_ms
    return html.Div(className="wall", children=[
        html.H1("Saylau — election day", className="wall-title"),
        html.Div(id=f"{PAGE}-headline", className="wall-headline"),
        html.Div(className="wall-body", children=[
            dcc.Graph(id=f"{PAGE}-map", className="wall-map", config={"displayModeBar": False},
                      style={"height": "78vh"}),
            html.Div(id=f"{PAGE}-regions", className="wall-regions"),
        ]),
        dcc.Interval(id=f"{PAGE}-tick", interval=refresh_ms, n_intervals=0),
    ])


@callback(Output(f"{PAGE}-map", "figure"), Output(f"{PAGE}-headline", "children"),
          Output(f"{PAGE}-regions", "children"), Input(f"{PAGE}-tick", "n_intervals"))
def refresh(_n: int) -> tuple:
    context = current_context()
    state = station_state(context.warehouse)  # one snapshot feeds every panel below
    summary = region_summary(state, context.region_names)
    numbers = headline(state)
    rejected = sum(rejected_counts(context.warehouse).values())
    as_of = latest_event_time(context.warehouse)
    return (turnout_map(context.regions_geojson, summary, state),
            _headline(numbers, rejected, _local_time(as_of, context.timezone)),
            _region_table(summary))


def _local_time(moment: dt.datetime | None, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%H:%M") if moment else "—"


def _headline(numbers, rejected: int, as_of: str) -> list:
    return [
        _figure("as-of", as_of, "latest report (local time)", "as-of"),
        _figure("turnout", f"{numbers.turnout_pct:.1f}%", f"{numbers.ballots:,} of "
                f"{numbers.registered:,}", "turnout"),
        _figure("covered", f"{numbers.covered:,} / {numbers.stations:,}",
                "stations with an observer", "covered"),
        _figure("rejected", f"{rejected:,}", "reports rejected", "rejected"),
    ]


def _figure(key: str, value: str, caption: str, test_id: str) -> html.Div:
    return html.Div(className="headline-figure", id=f"{PAGE}-figure-{key}", children=[
        html.Div(value, className="headline-value", id=f"{PAGE}-value-{test_id}"),
        html.Div(caption, className="headline-caption")])


def _region_table(summary) -> html.Table:
    header = html.Tr([html.Th(h) for h in ("Region", "Turnout", "Covered")])
    rows = [html.Tr([html.Td(r.region_name), html.Td(f"{r.turnout_pct:.1f}%"),
                     html.Td(f"{r.covered}/{r.stations}")],
                    id=f"{PAGE}-region-{r.region_code}")
            for r in summary.itertuples(index=False)]
    return html.Table([html.Thead(header), html.Tbody(rows)], className="region-table")
