"""The region page's arithmetic, pure: who covers which station, who is free, who should go
where. DataFrames in, DataFrames (and a figure) out; the page does the I/O.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from saylau.dashboard.aggregate import bounded_cells
from saylau.dashboard.language import t
from saylau.dashboard.names import coverage_name
from saylau.geo.redeploy import observer_positions, station_priority, suggest_redeployment
from saylau.warehouse.state import COVERAGE_STATES

# Observers travel by road across large regions: 150 km is a morning's drive.
REDEPLOY_MAX_KM = 150.0
COVERAGE_COLOURS = {"present": "#2ecc71", "en_route": "#3498db", "removed": "#8e44ad",
                    "absent": "#e74c3c"}
FREE_REASONS = {"checkout:removed": "removed", "checkout:shift_end": "shift ended",
                "checkout:reassigned": "reassigned", "checkout:other": "checked out",
                "": "reserve"}
# A region's map draws each station while it has at most REGION_POINT_LIMIT (as many as a
# screen shows apart); above that, a grid of at most REGION_GRID x REGION_GRID cells.
REGION_POINT_LIMIT = 5_000
REGION_GRID = 40


def version_of(frame: pd.DataFrame) -> str:
    """A fingerprint of a table's content: equal fingerprints, equal tables."""
    hashed = pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy()
    return hashlib.sha1(hashed.tobytes(), usedforsecurity=False).hexdigest()


def coverage_counts(stations: pd.DataFrame) -> dict[str, int]:
    """Stations per coverage state, every state present (0 if none)."""
    counts = stations["coverage"].value_counts()
    return {state: int(counts.get(state, 0)) for state in COVERAGE_STATES}


def free_observers(roster: pd.DataFrame, whereabouts: pd.DataFrame, region: str) -> pd.DataFrame:
    """Observers of `region` (their home region, from the roster's public part) who can be
    sent somewhere: not checked in, not already on their way to an assignment, and either
    checked out (shift ended, removed, reassigned) or in reserve (no station of their own).

    Returns observer_id, organisation, reason, position_station (where they were last
    seen, or their own station; '' if neither is known). Never names or phones: the
    roster's public part has none.
    """
    home = roster[roster["home_region"] == region]
    seen = whereabouts.set_index("observer_id").reindex(home["observer_id"])
    status = seen["last_status"].fillna("").to_numpy(dtype=object)
    changed = seen["changed_ts"].fillna(0).to_numpy(dtype=np.int64)
    assigned = seen["assigned_ts"].fillna(0).to_numpy(dtype=np.int64)
    own_station = home["assigned_station"].fillna("").to_numpy(dtype=object)
    checked_out = np.char.startswith(status.astype(str), "checkout:")
    reserve = (status == "") & (own_station == "")
    free = (checked_out | reserve) & ~(assigned > changed)
    last = seen["last_station"].fillna("").to_numpy(dtype=object)
    result = pd.DataFrame({
        "observer_id": home["observer_id"].to_numpy(),
        "organisation": home["organisation"].fillna("").to_numpy(),
        "reason": [FREE_REASONS.get(s, "checked out") for s in status],
        "position_station": np.where(last != "", last, own_station),
    })
    return result[free].sort_values("observer_id", ignore_index=True)


def suggestions(free: pd.DataFrame, region_stations: pd.DataFrame, all_stations: pd.DataFrame,
                incident_stations: pd.Series, max_km: float = REDEPLOY_MAX_KM) -> pd.DataFrame:
    """saylau/geo/redeploy.py's optimal assignment of the free observers to the region's stations
    that have nobody (absent or removed), weighted by voters and nearby incidents.

    `incident_stations` holds the station of each incident; `all_stations` gives positions
    (an observer may last have been seen outside the region).
    """
    uncovered = region_stations[region_stations["coverage"].isin(["absent", "removed"])]
    positions = all_stations.set_index("station_id")[["lon", "lat"]]
    incidents = positions.reindex(incident_stations.to_numpy()).dropna()
    uncovered = uncovered.assign(priority=station_priority(uncovered, incidents))
    observers = observer_positions(free.rename(columns={"position_station": "last_station"}),
                                   all_stations)
    return suggest_redeployment(observers[["observer_id", "lon", "lat"]],
                                uncovered[["station_id", "lon", "lat", "priority"]], max_km)


def region_map(stations: pd.DataFrame, outline: dict[str, Any] | None = None,
               limit: int = REGION_POINT_LIMIT) -> go.Figure:
    """The region's stations coloured by coverage over the region's outline (a GeoJSON
    feature), on a plain background: no tile server, no text layers (the page must work
    without internet access). Up to ``limit`` stations each is a point; above it (more
    than a screen can show) the stations are binned here into at most
    ``REGION_GRID`` × ``REGION_GRID`` cells, each coloured by its share of stations with
    an observer present and carrying its counts by coverage state."""
    figure = go.Figure()
    if outline is not None:
        code = outline["properties"]["region_code"]
        figure.add_trace(go.Choroplethmap(
            geojson={"type": "FeatureCollection", "features": [outline]}, locations=[code],
            z=[0], featureidkey="properties.region_code", showscale=False, hoverinfo="skip",
            colorscale=[[0, "#f4f4f4"], [1, "#f4f4f4"]], showlegend=False,
            marker={"line": {"width": 1.5, "color": "#555"}}))
    if len(stations) > limit:
        figure.add_trace(_coverage_grid(region_grid(stations)))
    else:
        for state in COVERAGE_STATES:
            subset = stations[stations["coverage"] == state]
            figure.add_trace(go.Scattermap(
                lat=subset["lat"].tolist(), lon=subset["lon"].tolist(), mode="markers",
                name=f"{coverage_name(state)} ({len(subset)})",
                marker={"size": 9, "color": COVERAGE_COLOURS[state]},
                text=subset["station_id"].tolist(),
                hovertemplate="%{text}<extra>" + coverage_name(state) + "</extra>"))
    figure.update_layout(
        map={"style": "white-bg", "center": _centre(stations), "zoom": _zoom(stations)},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, legend={"x": 0.01, "y": 0.99},
        uirevision="keep-view")
    return figure


def region_grid(stations: pd.DataFrame) -> pd.DataFrame:
    """The region map's cells: ``bounded_cells`` of the stations by coverage state, with
    ``present_pct``, the share of each cell's stations with an observer present."""
    cells = bounded_cells(stations, "coverage", COVERAGE_STATES, REGION_GRID)
    cells["present_pct"] = (cells["present"] * 100 / cells["points"]).round(1)
    return cells


def _coverage_grid(cells: pd.DataFrame) -> go.Choroplethmap:
    """The cells as squares (GeoJSON polygons, one feature per cell)."""
    features = [{"type": "Feature", "id": str(number), "properties": {},
                 "geometry": {"type": "Polygon", "coordinates": [[
                     [w, s], [e, s], [e, n], [w, n], [w, s]]]}}
                for number, (s, n, w, e) in enumerate(zip(
                    cells["lat0"].round(5).tolist(), cells["lat1"].round(5).tolist(),
                    cells["lon0"].round(5).tolist(), cells["lon1"].round(5).tolist(),
                    strict=True))]
    states = ", ".join(f"{coverage_name(state)} %{{customdata[{i + 1}]:,}}"
                       for i, state in enumerate(COVERAGE_STATES))
    return go.Choroplethmap(
        geojson={"type": "FeatureCollection", "features": features},
        locations=[str(number) for number in range(len(cells))],
        z=cells["present_pct"].tolist(), zmin=0, zmax=100,
        colorscale=[[0, COVERAGE_COLOURS["absent"]], [1, COVERAGE_COLOURS["present"]]],
        marker={"opacity": 0.8, "line": {"width": 0}},
        customdata=cells[["points", *COVERAGE_STATES]].to_numpy().tolist(),
        name=t("stations (grid)"), showlegend=True,
        colorbar={"title": {"text": t("stations with an observer")}, "ticksuffix": "%"},
        hovertemplate="%{customdata[0]:,} " + t("stations") + "<br>" + states
        + "<extra></extra>")


def _centre(stations: pd.DataFrame) -> dict[str, float]:
    if stations.empty:
        return {"lat": 48.2, "lon": 67.0}
    return {"lat": float(stations["lat"].mean()), "lon": float(stations["lon"].mean())}


def _zoom(stations: pd.DataFrame) -> float:
    """A zoom that fits the stations' extent (web-mercator zoom halves per degree doubling)."""
    if len(stations) < 2:
        return 7.0
    extent = max(float(np.ptp(stations["lon"])), float(np.ptp(stations["lat"])) * 1.5, 0.05)
    return float(np.clip(np.log2(360.0 / extent) - 0.8, 3.0, 11.0))
