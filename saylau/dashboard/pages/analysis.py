"""After the polls close, read as a report: each option's share (official result beside the
estimates from observers' copies and the exit poll, with margins of error), turnout, the
forensic figures each with a sentence on how to read it, the suspicious stations, and every
table as a CSV download.

Every number here comes from ``saylau.analysis.report.analysis_tables`` (the tables the media
exports carry), computed once per page load through
``saylau.dashboard.analysis_downloads.shown_tables``, which also serves the downloads and holds
back the exit-poll rows while the embargo holds; figures are drawn from the same tables.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping

import dash
import pandas as pd
from dash import Input, Output, callback, dash_table, dcc, html

from saylau.analysis.figures import (
    INTEGER_QUANTITY_NAMES,
    comparison_figure,
    discrepancy_figure,
    integer_test_figure,
    shpilkin_figure,
    turnout_share_heatmap,
)
from saylau.analysis.report import SIDE_BY_SIDE_COLUMNS, side_by_side
from saylau.core.i18n import N_
from saylau.dashboard.analysis_downloads import file_name, shown_tables, table_url
from saylau.dashboard.app import current_context
from saylau.dashboard.auth import require_page
from saylau.dashboard.embargo import embargo_text
from saylau.dashboard.language import current_language, t
from saylau.dashboard.names import (
    protocol_field_name,
    region_name,
    source_name,
    suspicion_reason_name,
)
from saylau.dashboard.snapshot import current_settings

dash.register_page(__name__, path="/analysis", name="Analysis",
                   title=lambda **_path: t("Saylau — analysis"))

PAGE = "analysis"
NATIONAL = "national"
TURNOUT = "turnout"
DISCREPANCIES_SHOWN = 50
SUSPICIOUS_SHOWN = 50  # rows per page of the suspicious stations

# What each downloadable table holds (tables not named here are offered without a line).
TABLE_DESCRIPTIONS = {
    "official_results": N_("the official result: each share and turnout as the protocols "
                           "count them"),
    "estimates": N_("estimates of each share and of turnout, with margins of error, from "
                    "observers' copies and the exit poll"),
    "estimates_stratified": N_("national shares estimated with regions as strata"),
    "turnout_share_histogram": N_("stations per cell of turnout and leader's share (the "
                                  "heatmap)"),
    "integer_test": N_("the whole-number percentage test"),
    "round_stations": N_("stations whose turnout and leader's share are both round"),
    "shpilkin_bins": N_("Shpilkin's estimate: votes per turnout bin"),
    "shpilkin_summary": N_("Shpilkin's estimate: the excess votes"),
    "discrepancies": N_("official protocols that differ from the observers' copies"),
    "suspicious_stations": N_("suspicious stations and their scores"),
    "suspicion_reasons": N_("every reason of each suspicious station"),
}


def layout(region: str | None = None, **_query: str) -> html.Div:
    """``?region=CODE`` opens the report on that region (shares, heatmap and suspicious
    stations); each has its own dropdown."""
    require_page(PAGE)
    tables, embargo_ends = shown_tables()
    compared = side_by_side(tables["official_results"], tables["estimates"])
    return html.Div(className="analysis", children=[
        html.H1(t("Saylau — analysis")),
        html.P(t("The day's result as a report: the official result beside the observers' "
                 "and the exit poll's estimates, turnout, the statistical tests of the "
                 "official figures and the stations they single out. Every table behind it "
                 "is at the end, as CSV."), id=f"{PAGE}-intro"),
        *_shares_section(compared, embargo_ends, region),
        *_turnout_section(compared),
        *_heatmap_section(tables["turnout_share_histogram"], region),
        *_integer_section(tables["integer_test"]),
        *_shpilkin_section(tables),
        *_discrepancy_section(tables["discrepancies"]),
        html.H2(t("Suspicious stations")),
        *_suspicious(tables["suspicious_stations"], region),
        *_downloads_section(tables, embargo_ends),
    ])


# --- Names ------------------------------------------------------------------------------------

def _scope_name(scope: str) -> str:
    return t("whole country") if scope == NATIONAL else region_name(scope)


def _scope_labels(scopes: set[str]) -> dict[str, str]:
    """Code -> name: the whole country first, then the regions by name."""
    regions = sorted(scopes - {NATIONAL}, key=region_name)
    return {scope: _scope_name(scope) for scope in [NATIONAL, *regions]
            if scope in scopes}


def _option_labels(quantities: list[str]) -> dict[str, str]:
    """Ballot options in ballot order, named in this request's language; an option the
    election does not list keeps its code (it is data, so it is shown)."""
    options = current_settings().election().option_names(current_language())
    return {**{code: name for code, name in options.items() if code in quantities},
            **{code: code for code in quantities if code not in options}}


def _chosen_scope(scopes: Mapping[str, str], region: str | None) -> str:
    """The region of the address if it has figures here, else the whole country."""
    return region if region is not None and region in scopes else NATIONAL


def _records(table: pd.DataFrame) -> list[dict]:
    """Rows for a dcc.Store: NaN (an estimate without a margin) as null."""
    return table.astype(object).where(table.notna(), None).to_dict("records")


def _control(dropdown: dcc.Dropdown) -> html.Div:
    return html.Div(dropdown, className="analysis-control")


def _explained(text: str, name: str) -> html.P:
    """The sentence before a figure: what it shows and how to read it."""
    return html.P(text, id=f"{PAGE}-{name}-about", className="analysis-about")


# --- Shares and turnout -----------------------------------------------------------------------

def _shares_section(compared: pd.DataFrame, embargo_ends: dt.datetime | None,
                    region: str | None) -> list:
    shares = compared[compared["quantity"] != TURNOUT]
    scopes = _scope_labels(set(shares["scope"]))
    notice = [] if embargo_ends is None else [
        html.P(embargo_text(embargo_ends, current_context().timezone),
               id=f"{PAGE}-exitpoll-embargo")]
    if shares.empty:
        notice.append(html.P(t("No official results or estimates yet."),
                             id=f"{PAGE}-shares-none"))
    return [
        html.H2(t("Vote shares")),
        _explained(t("The share of valid votes of each party and of “Against all”: the official "
                     "result beside the estimates from the observers' copies of the "
                     "protocols and from the exit poll, with their 95% margin of error as "
                     "whiskers. An official share outside the whiskers of an estimate is "
                     "unlikely to be chance."), "shares"),
        *notice,
        _scope_dropdown(f"{PAGE}-shares-scope", scopes, region),
        dcc.Store(id=f"{PAGE}-shares-data", data=_records(shares)),
        dcc.Graph(id=f"{PAGE}-shares-chart"),
    ]


@callback(Output(f"{PAGE}-shares-chart", "figure"), Input(f"{PAGE}-shares-scope", "value"),
          Input(f"{PAGE}-shares-data", "data"))
def shares_chart(scope: str | None, records: list[dict]) -> dict:
    rows = pd.DataFrame(records, columns=SIDE_BY_SIDE_COLUMNS)
    rows = rows[rows["scope"] == (scope or NATIONAL)]
    labels = _option_labels(list(dict.fromkeys(rows["quantity"])))
    title = t("Shares of valid votes: {scope}").format(scope=_scope_name(scope or NATIONAL))
    return comparison_figure(rows, "quantity", labels, title,
                             language=current_language()).to_dict()


def _turnout_section(compared: pd.DataFrame) -> list:
    turnout = compared[compared["quantity"] == TURNOUT]
    figure = comparison_figure(turnout, "scope", _scope_labels(set(turnout["scope"])),
                               t("Turnout"), language=current_language())
    return [
        html.H2(t("Turnout")),
        _explained(t("Turnout (ballots issued over registered voters) as the official "
                     "protocols count it, beside the estimate from the observers' copies "
                     "with its 95% margin of error, for the whole country and each region."),
                   "turnout"),
        dcc.Graph(id=f"{PAGE}-turnout-chart", figure=figure),
    ]


def _scope_dropdown(component_id: str, scopes: dict[str, str], region: str | None) -> html.Div:
    """Nationally or one region (by name), the address's ``?region=`` chosen first."""
    return _control(dcc.Dropdown(
        id=component_id,
        options=[{"label": name, "value": code} for code, name in scopes.items()],
        value=_chosen_scope(scopes, region) if scopes else None, clearable=False))


# --- Forensics ----------------------------------------------------------------------------------

def _heatmap_section(histogram: pd.DataFrame, region: str | None) -> list:
    scopes = _scope_labels(set(histogram["scope"])) if len(histogram) else {}
    return [
        html.H2(t("Turnout against the leader's share")),
        _explained(t("Each cell counts the stations with that turnout and that share for the "
                     "leader. Honest results form one compact cloud; a tail stretching up and "
                     "to the right (more turnout, more for the leader) or bright dots on "
                     "round numbers are the marks of ballots added or of figures written to "
                     "order."), "heatmap"),
        _scope_dropdown(f"{PAGE}-scope", scopes, region),
        dcc.Store(id=f"{PAGE}-histogram", data=histogram.to_dict("records")),
        dcc.Graph(id=f"{PAGE}-heatmap"),
    ]


@callback(Output(f"{PAGE}-heatmap", "figure"), Input(f"{PAGE}-scope", "value"),
          Input(f"{PAGE}-histogram", "data"))
def heatmap(scope: str | None, records: list[dict]) -> dict:
    histogram = pd.DataFrame(records, columns=["scope", "turnout_pct", "leader_share_pct",
                                               "stations", "voters"])
    scope = scope or NATIONAL
    return turnout_share_heatmap(histogram, scope, language=current_language(),
                                 scope_name=_scope_name(scope)).to_dict()


def _integer_section(table: pd.DataFrame) -> list:
    return [
        html.H2(t("Whole-number percentages")),
        _explained(t("At honest stations a turnout or a leader's share of a whole number of "
                     "percent is no more common than chance allows. Far more of them than "
                     "the 99.9th percentile of that chance (significant: yes) means figures "
                     "were written to order, not counted."), "integer"),
        _integer_test(table),
        *_figure_if(table, integer_test_figure, "integer"),
    ]


def _shpilkin_section(tables: dict[str, pd.DataFrame]) -> list:
    return [
        html.H2(t("Excess votes (Shpilkin)")),
        _explained(t("At honest stations the leader's share hardly depends on turnout. "
                     "Shpilkin's estimate takes the share at the most common turnout as the "
                     "honest one, and counts the leader's votes above it at higher turnouts "
                     "as added."), "shpilkin"),
        _shpilkin(tables["shpilkin_summary"]),
        *_shpilkin_figure(tables),
    ]


def _discrepancy_section(table: pd.DataFrame) -> list:
    return [
        html.H2(t("Official protocols against observers' copies")),
        _explained(t("Stations whose official protocol differs from the copy the observer "
                     "took at the count, and by how much; the chart shows the votes the "
                     "leader gained at each."), "discrepancies"),
        _discrepancies(table),
        *_figure_if(table.assign(discrepant=True), discrepancy_figure, "discrepancy-chart"),
    ]


# --- Suspicious stations ------------------------------------------------------------------------

def _suspicious(table: pd.DataFrame, region: str | None) -> list:
    """The flagged stations, highest score first, sortable, with a region filter (also
    ``?region=`` in the address); each station links to its page."""
    regions = _scope_labels(set(table["region_code"]))
    chosen = region if region in regions else None
    records = [{"station": f"[{r.station_id}](/station/{r.station_id})",
                "station_id": r.station_id, "region_code": r.region_code,
                "region": region_name(r.region_code),
                "score": round(float(r.score), 2), "turnout": _pct(r.turnout),
                "leader_share": _pct(r.leader_share),
                "reasons": _reason_names(str(r.reasons)), "top_reason": r.top_reason}
               for r in table.itertuples(index=False)]
    columns = [{"id": "station", "name": t("Station"), "presentation": "markdown"},
               {"id": "region", "name": t("Region")},
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
        _control(dcc.Dropdown(
            id=f"{PAGE}-suspicious-region",
            options=[{"label": name, "value": code} for code, name in regions.items()],
            value=chosen, placeholder=t("All regions"))),
        dcc.Store(id=f"{PAGE}-suspicious-data", data=records),
        dash_table.DataTable(  # type: ignore[attr-defined]  # generated component
            id=f"{PAGE}-suspicious", columns=columns, data=records, sort_action="native",
            page_size=SUSPICIOUS_SHOWN, markdown_options={"link_target": "_self"},
            style_cell={"whiteSpace": "normal", "textAlign": "left"}),
    ]


def _reason_names(reasons: str) -> str:
    return ", ".join(suspicion_reason_name(code) for code in reasons.split(";") if code)


@callback(Output(f"{PAGE}-suspicious", "data"), Input(f"{PAGE}-suspicious-region", "value"),
          Input(f"{PAGE}-suspicious-data", "data"))
def suspicious_in_region(region: str | None, records: list[dict]) -> list[dict]:
    return [r for r in records if region is None or r["region_code"] == region]


# --- Downloads and the raw estimates ------------------------------------------------------------

def _downloads_section(tables: dict[str, pd.DataFrame], embargo_ends: dt.datetime | None
                       ) -> list:
    held_back = [] if embargo_ends is None else [
        " " + t("The exit-poll rows are held back until the embargo ends.")]
    return [
        html.H2(t("Full tables")),
        html.P([t("Every table behind this page as CSV: the files the media export writes "
                  "after the polls close."), *held_back]),
        html.Ul([_download(name) for name in tables], id=f"{PAGE}-downloads"),
        html.Details([html.Summary(t("Estimates table")),
                      _estimate_table(tables["estimates"])], id=f"{PAGE}-estimates-details"),
    ]


def _download(name: str) -> html.Li:
    shown = file_name(name)
    description = TABLE_DESCRIPTIONS.get(name)
    return html.Li([html.A(shown, href=table_url(name), download=shown,
                           id=f"{PAGE}-download-{name}"),
                    *([" — " + t(description)] if description else [])])


def _pct(value: float) -> str:
    return "—" if pd.isna(value) else f"{100 * value:.2f}"


def _estimate_table(table: pd.DataFrame) -> html.Table:
    header = [t("Source"), t("Scope"), t("Quantity"), t("Estimate, %"), "± 95 %", "± 99 %",
              t("Stations")]
    options = current_settings().election().option_names(current_language())
    rows = [html.Tr([html.Td(source_name(r.source)),
                     html.Td(t("national") if r.scope == NATIONAL else region_name(r.scope)),
                     html.Td(t("turnout") if r.quantity == TURNOUT
                             else options.get(r.quantity, r.quantity)),
                     html.Td(_pct(r.estimate), className="estimate"),
                     html.Td(_pct(r.margin_95), className="margin-95"),
                     html.Td(_pct(r.margin_99), className="margin-99"),
                     html.Td(t("{stations} of {population}").format(
                         stations=r.stations, population=r.population))],
                    id=f"{PAGE}-estimate-{r.source}-{r.scope}-{r.quantity}")
            for r in table.itertuples(index=False)]
    return _table(header, rows, "estimates")


# --- Forensic tables ----------------------------------------------------------------------------

def _integer_test(table: pd.DataFrame) -> html.Div | html.Table:
    if table.empty:
        return html.Div(t("No official results yet."), id=f"{PAGE}-integer")
    header = [t("Quantity"), t("Stations"), t("Observed"), t("Expected (null mean)"),
              t("99.9th percentile"), t("Excess"), t("Significant")]
    rows = [html.Tr([html.Td(t(INTEGER_QUANTITY_NAMES.get(r.quantity, r.quantity))),
                     html.Td(f"{r.stations}"),
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
    options = current_settings().election().option_names(current_language())
    rows = [html.Tr([html.Td(r.station_id), html.Td(region_name(r.region_code)),
                     html.Td(_field_names(r.fields, options)),
                     html.Td(f"{r.largest}", className="largest"),
                     html.Td(f"{r.ballots_issued_diff:+d}", className="issued-diff"),
                     html.Td(_vote_changes(r.votes_diff, options), className="votes-diff")],
                    id=f"{PAGE}-discrepancy-{r.station_id}")
            for r in table.head(DISCREPANCIES_SHOWN).itertuples(index=False)]
    return html.Div([
        html.P(t("{count} stations differ").format(count=len(table)),
               id=f"{PAGE}-discrepancy-count"),
        _table(header, rows, "discrepancies")])


def _field_names(fields: str, options: Mapping[str, str]) -> str:
    """``ballots_issued,votes.amanat`` -> "ballots issued, votes: AMANAT"."""
    def name(field: str) -> str:
        if field.startswith("votes."):
            option = field.removeprefix("votes.")
            return t("votes: {option}").format(option=options.get(option, option))
        return protocol_field_name(field)
    return ", ".join(name(field) for field in fields.split(",") if field)


def _vote_changes(votes_diff: str, options: Mapping[str, str]) -> str:
    """The votes moved (``{"amanat": 12, "auyl": -12}``, as the table's JSON holds them),
    by option name: "AMANAT +12, Auyl −12"."""
    changes = json.loads(votes_diff)
    return ", ".join(options.get(code, code) + " " + f"{diff:+d}".replace("-", "−")
                     for code, diff in changes.items())


def _table(header: list[str], rows: list, name: str) -> html.Table:
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
                      id=f"{PAGE}-{name}", className="analysis-table")


def _figure_if(table: pd.DataFrame, build, name: str) -> list:  # type: ignore[no-untyped-def]
    return [] if table.empty else [dcc.Graph(id=f"{PAGE}-{name}-chart",
                                          figure=build(table, language=current_language()))]
