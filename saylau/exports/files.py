"""Writing the bundle's data files byte for byte the same for the same data: sorted keys
and rows, fixed float formatting, "\\n" line ends, UTF-8."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from saylau.exports.tables import REGION_COLUMNS
from saylau.geo.export import export_public_list

STATION_FILES = ("stations.csv", "stations.geojson")


def json_text(document: Any) -> str:
    """Deterministic JSON: sorted keys, no NaN (a NaN is a bug upstream, not a value)."""
    return json.dumps(document, sort_keys=True, ensure_ascii=False, indent=1,
                      allow_nan=False, default=_plain) + "\n"


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_json(path: Path, document: Any) -> None:
    path.write_text(json_text(document), encoding="utf-8")


def write_regions_csv(path: Path, regions: pd.DataFrame) -> None:
    # Floats as Python writes them (12.3), the same text as in summary.json.
    regions[REGION_COLUMNS].to_csv(path, index=False, lineterminator="\n")


def regions_geojson(shapes: dict[str, Any], regions: pd.DataFrame) -> dict[str, Any]:
    """The regions' polygons with their row of the region table as properties."""
    rows = {row["region_code"]: row for row in regions.to_dict("records")}
    features = [{"type": "Feature", "id": feature["id"], "geometry": feature["geometry"],
                 "properties": rows[feature["id"]]}
                for feature in sorted(shapes["features"], key=lambda f: f["id"])
                if feature["id"] in rows]
    return {"type": "FeatureCollection", "features": features}


def write_stations(folder: Path, stations: pd.DataFrame, commission: pd.DataFrame) -> None:
    """The public list of stations (registry and commission members), as
    ``saylau stations export`` writes it: it picks its columns by name, so nothing about
    observers can reach these files."""
    export_public_list(stations, commission, folder)
