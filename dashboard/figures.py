"""Pure figure builders: plain DataFrames in, Plotly figures and numbers out. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from warehouse.state import region_turnout, turnout_percent

COVERED_COLOUR, UNCOVERED_COLOUR = "#2ecc71", "#e74c3c"
KAZAKHSTAN_CENTRE = {"lat": 48.2, "lon": 67.0}


@dataclass(frozen=True)
class Headline:
    stations: int
    covered: int
    registered: int
    ballots: int

    @property
    def turnout_pct(self) -> float:
        return float(turnout_percent(pd.Series([self.ballots]), pd.Series([self.registered]))[0])


def headline(state: pd.DataFrame) -> Headline:
    return Headline(stations=len(state), covered=int(state["covered"].sum()),
                    registered=int(state["registered_voters"].sum()),
                    ballots=int(state["ballots"].sum()))


def region_summary(state: pd.DataFrame, region_names: dict[str, str]) -> pd.DataFrame:
    """Per region: stations, covered, registered, ballots and turnout, from one station snapshot
    (so the map, the table and the headline always add up to the same numbers)."""
    grouped = region_turnout(state).rename(columns={"covered_stations": "covered"})
    grouped["region_name"] = grouped["region_code"].map(region_names).fillna(grouped["region_code"])
    return grouped.sort_values("region_code").reset_index(drop=True)


def turnout_map(regions_geojson: dict[str, Any], summary: pd.DataFrame,
                state: pd.DataFrame) -> go.Figure:
    """Regions coloured by turnout, stations as points coloured by coverage.

    The ``white-bg`` style needs no tile server and no text layers (which would fetch
    fonts), so the map works without internet access.
    """
    figure = go.Figure()
    figure.add_trace(go.Choroplethmap(
        # Plain lists, not numpy: 20 values, readable in the page's figure JSON.
        geojson=regions_geojson, locations=summary["region_code"].tolist(),
        z=summary["turnout_pct"].tolist(),
        featureidkey="properties.region_code", zmin=0, zmax=100, colorscale="Blues",
        marker={"opacity": 0.75, "line": {"width": 1, "color": "#555"}},
        customdata=summary[["region_name", "ballots", "registered"]].to_numpy(),
        hovertemplate="%{customdata[0]}<br>turnout %{z:.1f}%<br>%{customdata[1]:,} of "
                      "%{customdata[2]:,}<extra></extra>",
        colorbar={"title": {"text": "turnout %"}}, name="turnout"))
    for covered, colour, label in ((1, COVERED_COLOUR, "observer present"),
                                   (0, UNCOVERED_COLOUR, "no observer")):
        subset = state[state["covered"] == covered]
        figure.add_trace(go.Scattermap(
            lat=subset["lat"], lon=subset["lon"], mode="markers", name=label,
            marker={"size": 4, "color": colour, "opacity": 0.8},
            text=subset["station_id"], hovertemplate="%{text}<extra>" + label + "</extra>"))
    figure.update_layout(
        map={"style": "white-bg", "center": KAZAKHSTAN_CENTRE, "zoom": 3.4},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, paper_bgcolor="#111", font={"color": "#eee"},
        legend={"x": 0.01, "y": 0.99, "bgcolor": "rgba(0,0,0,0.5)"}, uirevision="keep-view")
    return figure
