"""After the polls close: estimates with margins of error, and forensics on official results.

Every number here comes from ``saylau.analysis.report.analysis_tables`` (the tables the media
exports carry), computed once per page load; figures are drawn from the same tables.
"""

from __future__ import annotations

import datetime as dt

import dash
import pandas as pd
from dash import Input, Output, callback, dash_table, dcc, html

from saylau.analysis.figures import (
    discrepancy_figure,
    integer_test_figure,
    shpilkin_figure,
    turnout_share_heatmap,
)
from saylau.analysis.report import analysis_tables
from saylau.dashboard.app import current_context
from saylau.dashboard.auth import require_page
from saylau.dashboard.embargo import embargo_text, embargoed_until
from saylau.dashboard.language import current_language, t
from saylau.dashboard.names import region_name, source_name
from saylau.dashboard.snapshot import current_settings

dash.register_page(__name__, path="/analysis", name="Analysis",
                   title=lambda **_path: t("Saylau — analysis"))

PAGE = "analysis"
DISCREPANCIES_SHOWN = 50
SUSPICIOUS_SHOWN = 50  # rows per page of the suspicious stations


def layout(region: str | None = None, **_query: str) -> html.Div:
    require_page(PAGE)
    warehouse = current_context().warehouse
    tables = analysis_tables(warehouse, threshold=current_settings().forensics_threshold)
    embargo_ends = embargoed_until(warehouse, current_settings().election())
    histogram = tables["turnout_share_histogram"]
    scopes = ["national", *sorted(set(histogram["scope"]) - {"national"})] \
        if len(histogram) else []
    return html.Div(className="analysis", children=[
        html.H1(t("Saylau — analysis")),
        html.H2(t("Estimates (95 % and 99 % margins of error)")),
        *_estimates(tables["estimates"], embargo_ends),
        html.H2(t("Turnout against the leader's share")),
        dcc.Dropdown(id=f"{PAGE}-scope", options=scopes, value="national" if scopes else None,
                     clearable=False),
        dcc.Store(id=f"{PAGE}-histogram", data=histogram.to_dict("records")),
        dcc.Graph(id=f"{PAGE}-heatmap"),
        html.H2(t("Whole-number percentages")),
        _integer_test(tables["integer_test"]),
        *_figure_if(tables["integer_test"], integer_test_figure, "integer"),
        html.H2(t("Excess votes (Shpilkin)")),
        _shpilkin(tables["shpilkin_summary"]),
        *_shpilkin_figure(tables),
        html.H2(t("Official protocols against observers' copies")),
        _discrepancies(tables["discrepancies"]),
        *_figure_if(tables["discrepancies"].assign(discrepant=True), discrepancy_figure,
                    "discrepancy-chart"),
        html.H2(t("Suspicious stations")),
        *_suspicious(tables["suspicious_stations"], region),
    ])


def _suspicious(table: pd.DataFrame, region: str | None) -> list:
    """The flagged stations, highest score first, sortable, with a region filter (also
    ``?region=`` in the address); each station links to its page."""
    regions = sorted(set(table["region_code"]))
    chosen = region if region in regions else None
    records = [{"station": f"[{r.station_id}](/station/{r.station_id})",
                "station_id": r.station_id, "region_code": r.region_code,
                "score": round(float(r.score), 2), "turnout": _pct(r.turnout),
                "leader_share": _pct(r.leader_share),
                "reasons": str(r.reasons).replace(";", ", "), "top_reason": r.top_reason}
               for r in table.itertuples(index=False)]
    columns = [{"id": "station", "name": t("Station"), "presentation": "markdown"},
               {"id": "region_code", "name": t("Region")},
               {"id": "score", "name": t("Score"), "type": "numeric"},
               {"id": "turnout", "name": t("Turnout, %")},
               {"id": "leader_share", "name": t("Leader's share, %")},
               {"id": "reasons", "name": t("Reasons")},
               {"id": "top_reason", "name": t("Strongest reason")}]
    return [
        html.P([html.Span(f"{len(table)}", id=f"{PAGE}-suspicious-count"),
                html.Span(" " + t("stations whose official result is suspicious: the score "
                                  "adds up how unlikely each finding is at an honest station "
                                  "(−log10 of its chance)."))]),
        dcc.Dropdown(id=f"{PAGE}-suspicious-region", options=regions, value=chosen,
                     placeholder=t("All regions")),
        dcc.Store(id=f"{PAGE}-suspicious-data", data=records),
        dash_table.DataTable(  # type: ignore[attr-defined]  # generated component
            id=f"{PAGE}-suspicious", columns=columns, data=records, sort_action="native",
            page_size=SUSPICIOUS_SHOWN, markdown_options={"link_target": "_self"},
            style_cell={"whiteSpace": "normal", "textAlign": "left"}),
    ]


@callback(Output(f"{PAGE}-suspicious", "data"), Input(f"{PAGE}-suspicious-region", "value"),
          Input(f"{PAGE}-suspicious-data", "data"))
def suspicious_in_region(region: str | None, records: list[dict]) -> list[dict]:
    return [r for r in records if region is None or r["region_code"] == region]


@callback(Output(f"{PAGE}-heatmap", "figure"), Input(f"{PAGE}-scope", "value"),
          Input(f"{PAGE}-histogram", "data"))
def heatmap(scope: str | None, records: list[dict]) -> dict:
    histogram = pd.DataFrame(records, columns=["scope", "turnout_pct", "leader_share_pct",
                                               "stations", "voters"])
    return turnout_share_heatmap(histogram, scope or "national",
                                 language=current_language()).to_dict()


def _pct(value: float) -> str:
    return "—" if pd.isna(value) else f"{100 * value:.2f}"


def _estimates(table: pd.DataFrame, embargo_ends: dt.datetime | None) -> list:
    """The estimates table; before the embargo ends, without the exit-poll rows."""
    if embargo_ends is None:
        return [_estimate_table(table)]
    notice = html.P(embargo_text(embargo_ends, current_context().timezone),
                    id=f"{PAGE}-exitpoll-embargo")
    return [_estimate_table(table[table["source"] != "exitpoll"]), notice]


def _estimate_table(table: pd.DataFrame) -> html.Table:
    header = [t("Source"), t("Scope"), t("Quantity"), t("Estimate, %"), "± 95 %", "± 99 %",
              t("Stations")]
    options = current_settings().election().option_names(current_language())
    rows = [html.Tr([html.Td(source_name(r.source)),
                     html.Td(t("national") if r.scope == "national" else region_name(r.scope)),
                     html.Td(t("turnout") if r.quantity == "turnout"
                             else options.get(r.quantity, r.quantity)),
                     html.Td(_pct(r.estimate), className="estimate"),
                     html.Td(_pct(r.margin_95), className="margin-95"),
                     html.Td(_pct(r.margin_99), className="margin-99"),
                     html.Td(t("{stations} of {population}").format(
                         stations=r.stations, population=r.population))],
                    id=f"{PAGE}-estimate-{r.source}-{r.scope}-{r.quantity}")
            for r in table.itertuples(index=False)]
    return _table(header, rows, "estimates")


def _integer_test(table: pd.DataFrame) -> html.Div | html.Table:
    if table.empty:
        return html.Div(t("No official results yet."), id=f"{PAGE}-integer")
    header = [t("Quantity"), t("Stations"), t("Observed"), t("Expected (null mean)"),
              t("99.9th percentile"), t("Excess"), t("Significant")]
    rows = [html.Tr([html.Td(r.quantity), html.Td(f"{r.stations}"),
                     html.Td(f"{r.observed}", className="observed"),
                     html.Td(f"{r.null_mean:.1f}", className="null-mean"),
                     html.Td(f"{r.threshold:.1f}", className="threshold"),
                     html.Td(f"{r.excess:+.1f}", className="excess"),
                     html.Td(t("yes") if r.significant else t("no"),
                             className="significant")],
                    id=f"{PAGE}-integer-{r.quantity}")
            for r in table.itertuples(index=False)]
    return _table(header, rows, "integer")


def _shpilkin(summary: pd.DataFrame) -> html.Div:
    if summary.empty:
        return html.Div(t("No official results yet."), id=f"{PAGE}-shpilkin")
    s = summary.iloc[0]
    return html.Div(id=f"{PAGE}-shpilkin", children=[
        html.Span(f"{s['excess_votes']:,.0f}", id=f"{PAGE}-shpilkin-excess"),
        html.Span(" " + t("votes for the leader above the honest expectation") + " ("),
        html.Span(f"{100 * s['excess_share']:.2f}", id=f"{PAGE}-shpilkin-share"),
        html.Span(" % " + t("of valid votes") + "); " + t("clean turnout peak at") + " "),
        html.Span(f"{s['peak_pct']:.0f}", id=f"{PAGE}-shpilkin-peak"),
        html.Span(" %, " + t("leader's share there") + " "),
        html.Span(f"{100 * s['clean_share']:.2f}", id=f"{PAGE}-shpilkin-clean"),
        html.Span(" %."),
    ])


def _shpilkin_figure(tables: dict[str, pd.DataFrame]) -> list:
    if tables["shpilkin_summary"].empty:
        return []
    summary = tables["shpilkin_summary"].iloc[0].to_dict()
    return [dcc.Graph(id=f"{PAGE}-shpilkin-chart",
                      figure=shpilkin_figure(tables["shpilkin_bins"], summary,
                                             language=current_language()))]


def _discrepancies(table: pd.DataFrame) -> html.Div:
    header = [t("Station"), t("Region"), t("Fields that differ"), t("Largest difference"),
              t("Ballots issued (official − copy)"), t("Votes (official − copy)")]
    rows = [html.Tr([html.Td(r.station_id), html.Td(r.region_code), html.Td(r.fields),
                     html.Td(f"{r.largest}", className="largest"),
                     html.Td(f"{r.ballots_issued_diff:+d}", className="issued-diff"),
                     html.Td(r.votes_diff, className="votes-diff")],
                    id=f"{PAGE}-discrepancy-{r.station_id}")
            for r in table.head(DISCREPANCIES_SHOWN).itertuples(index=False)]
    return html.Div([
        html.P(t("{count} stations differ").format(count=len(table)),
               id=f"{PAGE}-discrepancy-count"),
        _table(header, rows, "discrepancies")])


def _table(header: list[str], rows: list, name: str) -> html.Table:
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
                      id=f"{PAGE}-{name}", className="analysis-table")


def _figure_if(table: pd.DataFrame, build, name: str) -> list:  # type: ignore[no-untyped-def]
    return [] if table.empty else [dcc.Graph(id=f"{PAGE}-{name}-chart",
                                          figure=build(table, language=current_language()))]
