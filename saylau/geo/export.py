"""The public list of polling stations: CSV and GeoJSON, with commission members.

Only the registry's own columns and the commission members are written, picked by name:
whatever else a caller's frame carries (observer assignments, coverage) cannot leak into
a file meant for the public. Both files can be imported again (`saylau stations import`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from saylau.geo.commission import commission_json
from saylau.geo.files import staged
from saylau.geo.registry import REGISTRY_COLUMNS

PUBLIC_COLUMNS = [*REGISTRY_COLUMNS, "commission"]
PROPERTY_COLUMNS = [column for column in PUBLIC_COLUMNS if column not in ("lat", "lon")]


def public_stations(registry: pd.DataFrame, commission: pd.DataFrame) -> pd.DataFrame:
    """Registry columns plus `commission`: each station's members as a JSON list."""
    public = registry[REGISTRY_COLUMNS].reset_index(drop=True)
    public["commission"] = commission_json(commission, public["station_id"]).to_numpy()
    return public


def stations_geojson(public: pd.DataFrame) -> dict[str, Any]:
    """A FeatureCollection of Points; `commission` becomes a list of {name, role, party}."""
    properties = public[PROPERTY_COLUMNS].assign(
        registered_voters=public["registered_voters"].astype(int),
        commission=public["commission"].map(json.loads),
    ).to_dict("records")
    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": record}
        for lon, lat, record in zip(public["lon"].astype(float), public["lat"].astype(float),
                                    properties, strict=True)
    ]
    return {"type": "FeatureCollection", "features": features}


def export_public_list(registry: pd.DataFrame, commission: pd.DataFrame,
                       out_dir: str | Path) -> list[Path]:
    """Write stations.csv and stations.geojson into `out_dir`; return their paths."""
    public = public_stations(registry, commission)
    paths = [Path(out_dir) / "stations.csv", Path(out_dir) / "stations.geojson"]
    with staged(paths) as (csv_file, geojson_file):
        public.to_csv(csv_file, index=False)
        geojson_file.write_text(json.dumps(stations_geojson(public), ensure_ascii=False),
                                encoding="utf-8")
    return paths
