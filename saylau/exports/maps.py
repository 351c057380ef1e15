"""PNG maps of the regions: turnout, incident density and coverage.

Drawn by matplotlib's Agg renderer with its bundled fonts, so no tile server and no
internet. A fixed size and DPI, and no "Software" entry in the PNG's metadata, make the
bytes depend on the data alone (for one matplotlib version).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

DPI = 100
SIZE_INCHES = (10, 6)
EDGE = "#555555"


@dataclass(frozen=True)
class MapSpec:
    file: str
    column: str
    title: str
    legend: str
    colours: str
    top: float | None  # fixed top of the scale; None = the data's largest value


MAPS = (
    MapSpec("turnout.png", "turnout_pct", "Turnout by region (observer counts)",
            "turnout, % of registered voters", "Blues", 100.0),
    MapSpec("incidents.png", "incidents_per_10k_voters", "Incident density by region",
            "incidents per 10,000 registered voters", "Reds", None),
    MapSpec("coverage.png", "coverage_pct", "Observer coverage by region",
            "stations with an observer, %", "Greens", 100.0),
)


def draw_maps(folder: Path, shapes: gpd.GeoDataFrame, regions: pd.DataFrame,
              caption: str) -> list[str]:
    """Write every map of MAPS into ``folder``; return the file names."""
    joined = shapes.merge(regions, on="region_code", how="inner").sort_values("region_code")
    for spec in MAPS:
        draw_map(folder / spec.file, joined, spec, caption)
    return [spec.file for spec in MAPS]


def draw_map(path: Path, joined: gpd.GeoDataFrame, spec: MapSpec, caption: str) -> None:
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)  # the Agg canvas, without pyplot's global state
    axes = figure.add_subplot()
    top = spec.top if spec.top is not None else max(float(joined[spec.column].max()), 1.0)
    joined.plot(column=spec.column, ax=axes, cmap=spec.colours, vmin=0.0, vmax=top,
                edgecolor=EDGE, linewidth=0.6, legend=True,
                legend_kwds={"label": spec.legend, "shrink": 0.7})
    axes.set_axis_off()
    axes.set_title(spec.title, fontsize=14)
    figure.text(0.01, 0.01, caption, fontsize=9, color="#333333")
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
