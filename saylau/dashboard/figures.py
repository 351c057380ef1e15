"""Pure figure builders: plain DataFrames in, Plotly figures and numbers out. No I/O.

Maps draw every station up to ``saylau.dashboard.aggregate.POINT_LIMIT`` and grid cells above
it; they use the ``white-bg`` style and no text layers, so they need no internet."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from saylau.dashboard.aggregate import points_or_cells
from saylau.dashboard.language import number, t
from saylau.dashboard.names import category_name, role_name, source_name, status_name
from saylau.warehouse.state import turnout_percent

COVERED_COLOUR, UNCOVERED_COLOUR = "#2ecc71", "#e74c3c"
VERIFIED_COLOUR, UNVERIFIED_COLOUR = "#c0392b", "#f39c12"
KAZAKHSTAN_CENTRE = {"lat": 48.2, "lon": 67.0}


def turnout_map(regions_geojson: dict[str, Any], summary: pd.DataFrame,
                state: pd.DataFrame) -> go.Figure:
    """Regions coloured by turnout, stations as points coloured by coverage.

    The ``white-bg`` style needs no tile server and no text layers (which would fetch
    fonts), so the map works without internet access.
    """
    figure = go.Figure(_choropleth(
        regions_geojson, summary, summary["turnout_pct"], "Blues", t("turnout %"), zmax=100,
        hover=t("turnout %{z:.1f}%<br>%{customdata[1]:,} of %{customdata[2]:,}"),
        customdata=summary[["region_name", "ballots", "registered"]]))
    shown, aggregated = points_or_cells(state, ["covered"])
    if aggregated:
        share = shown["covered"] / shown["points"]
        figure.add_trace(go.Scattermap(
            lat=shown["lat"], lon=shown["lon"], mode="markers", name=t("stations (grid)"),
            marker={"size": 5, "color": share, "cmin": 0, "cmax": 1, "opacity": 0.8,
                    "colorscale": [[0, UNCOVERED_COLOUR], [1, COVERED_COLOUR]]},
            customdata=shown[["points", "covered"]].to_numpy(),
            hovertemplate=t("%{customdata[1]:,} of %{customdata[0]:,} stations covered")
            + "<extra></extra>"))
    else:
        for covered, colour, label in ((1, COVERED_COLOUR, t("observer present")),
                                       (0, UNCOVERED_COLOUR, t("no observer"))):
            subset = state[state["covered"] == covered]
            figure.add_trace(go.Scattermap(
                lat=subset["lat"], lon=subset["lon"], mode="markers", name=label,
                marker={"size": 4, "color": colour, "opacity": 0.8},
                text=subset["station_id"], hovertemplate="%{text}<extra>" + label + "</extra>"))
    return _offline_map_layout(figure)


def incident_density_map(regions_geojson: dict[str, Any], density: pd.DataFrame,
                         incident_stations: pd.DataFrame,
                         region_names: dict[str, str]) -> go.Figure:
    """Regions coloured by incidents per 10,000 voters; stations with incidents as points,
    verified and unverified apart, sized by their number."""
    named = density.assign(region_name=density["region_code"].map(region_names)
                           .fillna(density["region_code"]))
    figure = go.Figure(_choropleth(
        regions_geojson, named, named["per_10k"], "Reds", t("per 10,000 voters"),
        hover=t("%{z:.2f} incidents per 10,000 voters<br>verified %{customdata[1]:,}, "
                "unverified %{customdata[2]:,}"),
        customdata=named[["region_name", "verified", "unverified"]]))
    shown, _aggregated = points_or_cells(incident_stations, ["verified", "unverified"])
    for status, colour in (("verified", VERIFIED_COLOUR), ("unverified", UNVERIFIED_COLOUR)):
        subset = shown[shown[status] > 0]
        figure.add_trace(go.Scattermap(
            lat=subset["lat"], lon=subset["lon"], mode="markers", name=status_name(status),
            marker={"size": _size(subset[status], 6), "color": colour, "opacity": 0.85},
            customdata=subset[[status]].to_numpy(),
            hovertemplate="%{customdata[0]:,} " + status_name(status) + "<extra></extra>"))
    return _offline_map_layout(figure)


def coverage_gap_map(regions_geojson: dict[str, Any], gaps: pd.DataFrame, state: pd.DataFrame,
                     region_names: dict[str, str]) -> go.Figure:
    """Regions coloured by the share of voters whose station nobody watches; uncovered
    stations as points sized by their registered voters."""
    named = gaps.assign(region_name=gaps["region_code"].map(region_names)
                        .fillna(gaps["region_code"]),
                        uncovered_pct=(gaps["uncovered_share"].fillna(0) * 100).round(1))
    figure = go.Figure(_choropleth(
        regions_geojson, named, named["uncovered_pct"], "Oranges", t("% voters unwatched"),
        zmax=100, hover=t("voters unwatched: %{z:.1f}%<br>%{customdata[1]:,} stations, "
                          "%{customdata[2]:,} voters"),
        customdata=named[["region_name", "uncovered", "uncovered_voters"]]))
    uncovered = state[~state["covered"].astype(bool)]
    shown, _aggregated = points_or_cells(uncovered, ["registered_voters"])
    figure.add_trace(go.Scattermap(
        lat=shown["lat"], lon=shown["lon"], mode="markers", name=t("no observer"),
        marker={"size": _size(shown["registered_voters"] / 500, 4), "color": UNCOVERED_COLOUR,
                "opacity": 0.75},
        customdata=shown[["points", "registered_voters"]].to_numpy(),
        hovertemplate=t("%{customdata[0]:,} station(s), %{customdata[1]:,} voters")
        + "<extra>" + t("no observer") + "</extra>"))
    return _offline_map_layout(figure)


def _choropleth(regions_geojson: dict[str, Any], regions: pd.DataFrame, values: pd.Series,
                colours: str, title: str, hover: str, customdata: pd.DataFrame,
                zmax: float | None = None) -> go.Choroplethmap:
    return go.Choroplethmap(
        # Plain lists, not numpy: 20 values, readable in the page's figure JSON.
        geojson=regions_geojson, locations=regions["region_code"].tolist(),
        z=values.tolist(), featureidkey="properties.region_code", zmin=0, zmax=zmax,
        colorscale=colours, marker={"opacity": 0.75, "line": {"width": 1, "color": "#555"}},
        customdata=customdata.to_numpy(), name=title,
        hovertemplate="%{customdata[0]}<br>" + hover + "<extra></extra>",
        colorbar={"title": {"text": title}})


def _size(values: pd.Series, smallest: float) -> list[float]:
    """Marker sizes growing with the square root of a count (area ~ count)."""
    return (smallest + 3 * np.sqrt(values.astype("float64"))).round(1).tolist()


def _offline_map_layout(figure: go.Figure) -> go.Figure:
    figure.update_layout(
        map={"style": "white-bg", "center": KAZAKHSTAN_CENTRE, "zoom": 3.4},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, paper_bgcolor="#111", font={"color": "#eee"},
        legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(0,0,0,0.5)"}, uirevision="keep-view")
    return figure


def turnout_curve(history: pd.DataFrame, reporting_times: list[Any],
                  registered: int) -> go.Figure:
    """One station's cumulative turnout (in % of its voters) per source over the day, with
    the official reporting times as vertical lines."""
    figure = go.Figure()
    for source, colour in (("observer_count", "#4aa3ff"), ("official", "#f5b041")):
        rows = history[history["source"] == source]
        percent = turnout_percent(rows["ballots"], pd.Series(registered, index=rows.index))
        figure.add_trace(go.Scatter(
            x=rows["occurred_at"].tolist(), y=percent.tolist(), mode="lines+markers",
            name=source_name(source), line={"color": colour, "shape": "hv"}))
    for moment in reporting_times:
        figure.add_vline(x=moment, line={"color": "#777", "dash": "dot", "width": 1})
    figure.update_layout(
        margin={"l": 40, "r": 10, "t": 10, "b": 30}, paper_bgcolor="#111", plot_bgcolor="#1b1b1b",
        font={"color": "#eee"}, yaxis={"title": {"text": t("turnout %")}, "rangemode": "tozero"},
        legend={"orientation": "h"}, height=320)
    return figure


# --- Station page: pure tables ---------------------------------------------------------------

PROTOCOL_FIELDS = ("registered", "ballots_received", "ballots_issued", "ballots_cast", "invalid")


def protocol_comparison(protocols: pd.DataFrame) -> pd.DataFrame:
    """Observer copy against official protocol, one row per figure (then per ballot option):
    columns figure, observer_copy, official (None where that protocol is missing) and
    differs (both present and unequal)."""
    by_source = {row["source"]: row for row in protocols.to_dict("records")}
    copy, official = by_source.get("observer_copy"), by_source.get("official")
    options = sorted(set((copy or {}).get("votes", {})) | set((official or {}).get("votes", {})))
    rows = [(name, _figure_of(copy, name), _figure_of(official, name))
            for name in PROTOCOL_FIELDS]
    rows += [(f"votes: {option}", _vote_of(copy, option), _vote_of(official, option))
             for option in options]
    table = pd.DataFrame(rows, columns=["figure", "observer_copy", "official"], dtype=object)
    table["differs"] = [a is not None and b is not None and a != b
                        for a, b in zip(table["observer_copy"], table["official"], strict=True)]
    return table


def _figure_of(protocol: dict[str, Any] | None, name: str) -> int | None:
    return None if protocol is None else int(protocol[name])


def _vote_of(protocol: dict[str, Any] | None, option: str) -> int | None:
    return None if protocol is None else int(protocol["votes"].get(option, 0))


def exitpoll_shares(tally: pd.DataFrame) -> pd.DataFrame:
    """Answers per option with their share of all answers in percent (0.1)."""
    total = int(tally["answers"].sum())
    shares = (tally["answers"] * 100.0 / total).round(1) if total else tally["answers"] * 0.0
    return tally.assign(share_pct=shares).sort_values("answers", ascending=False,
                                                      kind="stable")


def describe_event(event: dict[str, Any]) -> str:
    """One line of a station's timeline, from the event's stored columns."""
    kind = event["kind"]
    who = event.get("observer_id") or ""
    source = source_name(event.get("source") or "")
    if kind == "checkin":
        return t("check-in ({role}) {who}").format(role=role_name(event.get("role") or "observer"),
                                                   who=who)
    if kind == "checkout":
        return t("check-out ({reason}) {who}").format(reason=event.get("reason") or "—", who=who)
    if kind == "turnout":
        return t("turnout {ballots} ({source})").format(
            ballots=number(int(event.get("ballots_issued") or 0)), source=source)
    if kind == "incident":
        return t("incident: {category}, severity {severity}").format(
            category=category_name(event.get("category") or ""), severity=event.get("severity"))
    if kind == "review":
        return t("review of incident {incident}: {verdict}").format(
            incident=str(event.get("incident_id"))[:8],
            verdict=status_name(str(event.get("verdict"))))
    if kind == "exitpoll":
        return t("exit-poll batch {who}").format(who=who)
    if kind == "protocol":
        return t("protocol ({source})").format(source=source)
    if kind == "assignment":
        return t("assignment: {who} sent to {station}").format(
            who=who, station=event.get("target_station_id"))
    return str(kind)
