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

from saylau.core.i18n import DEFAULT_LANGUAGE, N_, gettext

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
    MapSpec("turnout.png", "turnout_pct", N_("Turnout by region (observer counts)"),
            N_("registered voters who voted, %"), "Blues", 100.0),
    MapSpec("incidents.png", "incidents_per_10k_voters", N_("Incident density by region"),
            N_("incidents per 10,000 registered voters"), "Reds", None),
    MapSpec("coverage.png", "coverage_pct", N_("Observer coverage by region"),
            N_("stations with an observer, %"), "Greens", 100.0),
)


def map_file(spec: MapSpec, language: str = DEFAULT_LANGUAGE) -> str:
    """``turnout.png`` in English (the names links point at), ``turnout.kk.png`` in
    another language: the same file name, the text inside per language."""
    if language == DEFAULT_LANGUAGE:
        return spec.file
    stem, _dot, suffix = spec.file.rpartition(".")
    return f"{stem}.{language}.{suffix}"


def draw_maps(folder: Path, shapes: gpd.GeoDataFrame, regions: pd.DataFrame,
              caption: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """Write every map of MAPS into ``folder`` in `language`; return the file names."""
    joined = shapes.merge(regions, on="region_code", how="inner").sort_values("region_code")
    for spec in MAPS:
        draw_map(folder / map_file(spec, language), joined, spec, caption, language)
    return [map_file(spec, language) for spec in MAPS]


def draw_map(path: Path, joined: gpd.GeoDataFrame, spec: MapSpec, caption: str,
             language: str = DEFAULT_LANGUAGE) -> None:
    figure = Figure(figsize=SIZE_INCHES, dpi=DPI)
    FigureCanvasAgg(figure)  # the Agg canvas, without pyplot's global state
    axes = figure.add_subplot()
    top = spec.top if spec.top is not None else max(float(joined[spec.column].max()), 1.0)
    joined.plot(column=spec.column, ax=axes, cmap=spec.colours, vmin=0.0, vmax=top,
                edgecolor=EDGE, linewidth=0.6, legend=True,
                legend_kwds={"label": gettext(spec.legend, language), "shrink": 0.7})
    axes.set_axis_off()
    axes.set_title(gettext(spec.title, language), fontsize=14)
    figure.text(0.01, 0.01, caption, fontsize=9, color="#333333")
    figure.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
