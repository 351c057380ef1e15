"""One export: a snapshot of the warehouse as of a moment, written as a bundle and
published. ``Exporter`` holds what does not change between exports (regions, election)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from saylau.analysis.report import analysis_tables, table_csv
from saylau.analysis.suspicion import DEFAULT_THRESHOLD
from saylau.core.election import Election
from saylau.core.i18n import DEFAULT_LANGUAGE, gettext
from saylau.exports.comparison import comparison_tables, write_comparison_files
from saylau.exports.exitpoll import EMBARGOED, exitpoll_block
from saylau.exports.files import (
    regions_geojson,
    write_json,
    write_regions_csv,
    write_stations,
)
from saylau.exports.manifest import build_manifest, write_manifest
from saylau.exports.maps import draw_maps
from saylau.exports.publish import (
    bundle_name,
    publish,
    remove_stale_staging,
    staging_folder,
)
from saylau.exports.report import report_html
from saylau.exports.snapshot import Snapshot, take_snapshot, whole_second_utc
from saylau.exports.summary import build_summary
from saylau.exports.tables import region_table
from saylau.geo.commission import commission_path, empty_commission, read_commission_csv
from saylau.geo.regions import load_regions, simplified_for_browser
from saylau.geo.regions import regions_geojson as region_shapes_geojson
from saylau.warehouse.citizen import public_counts
from saylau.warehouse.client import Warehouse
from saylau.warehouse.queries import latest_event_time


def extra_tables_after_close(warehouse: Warehouse, snapshot: Snapshot, election: Election,
                             folder: Path, threshold: float = DEFAULT_THRESHOLD) -> list[str]:
    """The post-election analysis (saylau/analysis/report.py: estimates with margins, forensics on
    official results, protocol discrepancies) as ``analysis-<table>.csv``. Called only for
    bundles whose data-as-of is after polls close; the manifest covers whatever is here.
    Station-level figures only: no table carries an observer's identity. The flagged
    stations (``analysis-suspicious_stations.csv``, reasons in ``analysis-suspicion_reasons``)
    are those whose suspicion score reaches ``threshold`` (SAYLAU_FORENSICS_THRESHOLD)."""
    names = []
    for name, table in sorted(analysis_tables(warehouse, election, snapshot.as_of,
                                                      threshold).items()):
        path = folder / f"analysis-{name}.csv"
        # The text the /analysis page's downloads serve: the same data, the same bytes.
        path.write_text(table_csv(table), encoding="utf-8")
        names.append(path.name)
    return names


def write_citizen_counts(path: Path, counts: pd.DataFrame) -> None:
    """Verified citizen reports by region, category and employer sector (docs/citizen.md):
    counts only; never a report's text, organisation, evidence or contact."""
    counts.to_csv(path, index=False, lineterminator="\n")


@dataclass
class Exporter:
    warehouse: Warehouse
    election: Election
    out_dir: Path
    shapes: gpd.GeoDataFrame  # region polygons, simplified for drawing
    commission_file: Path | None = None  # public commission members, if the registry has any
    forensics_threshold: float = DEFAULT_THRESHOLD  # suspicion score that flags a station
    # The languages of report.html and the maps (SAYLAU_EXPORT_LANGUAGES): English under the
    # plain names, every other as report.<lang>.html, turnout.<lang>.png…
    languages: tuple[str, ...] = (DEFAULT_LANGUAGE,)

    @classmethod
    def create(cls, warehouse: Warehouse, election: Election, out_dir: Path,
               registry_path: Path | None = None,
               regions: gpd.GeoDataFrame | None = None,
               forensics_threshold: float = DEFAULT_THRESHOLD,
               languages: tuple[str, ...] = (DEFAULT_LANGUAGE,)) -> Exporter:
        shapes = simplified_for_browser(load_regions() if regions is None else regions)
        commission = commission_path(registry_path) if registry_path else None
        remove_stale_staging(Path(out_dir))
        return cls(warehouse, election, Path(out_dir), shapes, commission, forensics_threshold,
                   tuple(languages) or (DEFAULT_LANGUAGE,))

    def default_as_of(self, now: dt.datetime | None = None) -> dt.datetime:
        """The latest report's time, but never later than now: a report stamped by a
        phone whose clock runs ahead must not move a bundle (and the embargo) forward."""
        now = now or dt.datetime.now(dt.UTC)
        latest = latest_event_time(self.warehouse)
        return whole_second_utc(min(latest, now) if latest else now)

    def export(self, as_of: dt.datetime, generated_at: dt.datetime | None = None) -> Path:
        """Build and publish the bundle of data as of ``as_of``; return its folder."""
        snapshot = take_snapshot(self.warehouse, as_of)
        with staging_folder(self.out_dir) as folder:
            self.write_files(folder, snapshot)
            manifest = build_manifest(folder, snapshot.as_of,
                                      generated_at or dt.datetime.now(dt.UTC))
            write_manifest(folder, manifest)  # last: a bundle with a manifest is complete
            return publish(folder, self.out_dir, bundle_name(snapshot.as_of))

    def write_files(self, folder: Path, snapshot: Snapshot) -> list[str]:
        regions = region_table(snapshot.state, snapshot.incidents, snapshot.alerts,
                               self.region_names)
        population = snapshot.stations["region_code"].value_counts().to_dict()
        exit_poll = exitpoll_block(snapshot.exitpoll_tallies, population, self.election,
                                   snapshot.as_of)
        summary = build_summary(snapshot, self.election, regions, exit_poll)
        write_json(folder / "summary.json", summary)
        write_regions_csv(folder / "regions.csv", regions)
        write_json(folder / "regions.geojson", regions_geojson(self.shapes_geojson, regions))
        write_stations(folder, snapshot.stations, self._commission())
        for language in self.languages:
            draw_maps(folder, self.shapes, regions, self._caption(snapshot, language), language)
            (folder / report_file(language)).write_text(
                report_html(summary, language, self.election.option_names(language)),
                encoding="utf-8")
        citizen = public_counts(self.warehouse, snapshot.as_of)
        if not citizen.empty:  # a day without verified citizen reports has no such file
            write_citizen_counts(folder / "citizen-reports.csv", citizen)
        if exit_poll["status"] != EMBARGOED and snapshot.as_of >= self.election.closes_at:
            extra_tables_after_close(self.warehouse, snapshot, self.election, folder,
                                     self.forensics_threshold)
        if snapshot.as_of >= self.election.closes_at:
            # Results are compared once counting began: the official figures beside the
            # observers' verified copies, released photos by hash (docs/comparison.md).
            write_comparison_files(folder, comparison_tables(self.warehouse, self.election,
                                                             as_of=snapshot.as_of))
        return sorted(path.name for path in folder.iterdir())

    @property
    def region_names(self) -> dict[str, str]:
        return dict(zip(self.shapes["region_code"], self.shapes["region_name"], strict=True))

    @property
    def shapes_geojson(self) -> dict[str, Any]:
        return region_shapes_geojson(self.shapes)

    def _commission(self) -> pd.DataFrame:
        """Read at each export: the registry's members may be re-imported meanwhile."""
        if self.commission_file is None:
            return empty_commission()
        return read_commission_csv(self.commission_file)

    def _caption(self, snapshot: Snapshot, language: str = DEFAULT_LANGUAGE) -> str:
        local = snapshot.as_of.astimezone(self.election.tz)
        return gettext("{election}. Data as of {moment} ({timezone}). Saylau snapshot.",
                       language).format(election=self.election.name,
                                        moment=f"{local:%Y-%m-%d %H:%M}",
                                        timezone=self.election.timezone)


def report_file(language: str) -> str:
    """``report.html`` in English, ``report.kk.html`` in Kazakh…"""
    return "report.html" if language == DEFAULT_LANGUAGE else f"report.{language}.html"
