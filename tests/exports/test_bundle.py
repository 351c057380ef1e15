"""A bundle from a real warehouse: complete, checksummed, readable by GDAL, reproducible,
and in agreement with the warehouse and the dashboard."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pandas as pd
import pytest

from saylau.exports import Exporter, read_latest, verify_bundle
from saylau.exports.manifest import MANIFEST
from saylau.warehouse.client import Warehouse, create_schema, open_warehouse
from saylau.warehouse.queries import load_stations
from saylau.warehouse.state import region_summary, station_state
from tests.conftest import require
from tests.exports.days import ELECTION, StoredDay, simulated_day, store_events
from tests.integration.events import at, encode, event
from tests.support.clickhouse_server import ClickHouseServer

pytestmark = pytest.mark.timeout(300)

BUNDLE_FILES = {"summary.json", "regions.csv", "regions.geojson", "stations.csv",
                "stations.geojson", "turnout.png", "incidents.png", "coverage.png",
                "report.html", MANIFEST}
AFTERNOON = ELECTION.local(dt.time(15, 0))
NIGHT = ELECTION.local(dt.time(21, 0))


def test_a_bundle_holds_every_file_and_its_checksums_verify(exporter: Exporter) -> None:
    folder = exporter.export(AFTERNOON)
    assert folder.name == "20260315T100000Z"  # 15:00 in Almaty is 10:00 UTC
    assert {path.name for path in folder.iterdir()} == BUNDLE_FILES
    assert verify_bundle(folder) == []
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["data_as_of"] == "2026-03-15T10:00:00Z"
    assert set(manifest["files"]) == BUNDLE_FILES - {MANIFEST}
    assert manifest["software"].startswith("saylau ")
    assert read_latest(exporter.out_dir) == folder

    # A changed, a missing and an added file are each reported.
    broken = exporter.out_dir.parent / "broken"
    shutil.copytree(folder, broken)
    (broken / "regions.csv").write_text("region_code\nKAZ001\n", encoding="utf-8")
    (broken / "turnout.png").unlink()
    (broken / "extra.txt").write_text("x", encoding="utf-8")
    assert verify_bundle(broken) == ["turnout.png: missing", "extra.txt: not in the manifest",
                                     "regions.csv: checksum differs"]


def test_gdal_reads_every_geojson_of_the_bundle(exporter: Exporter,
                                                registry: pd.DataFrame) -> None:
    require(shutil.which("ogrinfo") is not None, "GDAL's ogrinfo",
            "apt-get install gdal-bin (make test does this as root on Debian)")
    folder = exporter.export(NIGHT)
    expected = {"regions.geojson": registry["region_code"].nunique(),
                "stations.geojson": len(registry)}
    assert sorted(p.name for p in folder.glob("*.geojson")) == sorted(expected)
    for name, features in expected.items():
        run = subprocess.run(["ogrinfo", "-ro", "-al", "-so", str(folder / name)],
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert "ERROR" not in run.stderr and "ERROR" not in run.stdout
        assert f"Feature Count: {features}" in run.stdout


def test_two_exports_of_the_same_as_of_are_identical_but_for_the_generation_time(
        stored: tuple[Warehouse, StoredDay], exporter: Exporter, tmp_path: Path) -> None:
    warehouse, _day = stored
    first = exporter.export(NIGHT, generated_at=dt.datetime(2026, 3, 15, 16, 5, tzinfo=dt.UTC))
    again = Exporter.create(warehouse, ELECTION, tmp_path / "elsewhere",
                            tmp_path / "stations.csv")
    second = again.export(NIGHT, generated_at=dt.datetime(2026, 3, 15, 17, 0, tzinfo=dt.UTC))
    assert first.name == second.name and first != second
    for path in sorted(first.iterdir()):
        if path.name != MANIFEST:
            assert path.read_bytes() == (second / path.name).read_bytes(), path.name
    one, two = (json.loads((f / MANIFEST).read_text(encoding="utf-8")) for f in (first, second))
    assert one.pop("generated_at") == "2026-03-15T16:05:00Z"
    assert two.pop("generated_at") == "2026-03-15T17:00:00Z"
    assert one == two
    # The same as-of exported again into the same folder keeps the bundle it has.
    assert exporter.export(NIGHT) == first
    assert sorted(p.name for p in exporter.out_dir.iterdir()) == [first.name, "latest"]


def test_a_late_report_about_the_past_makes_a_new_bundle_and_keeps_the_old(
        stored: tuple[Warehouse, StoredDay], exporter: Exporter,
        registry: pd.DataFrame) -> None:
    warehouse, _day = stored
    first = exporter.export(AFTERNOON)
    station = registry["station_id"].iloc[0]
    late = event("incident", station, at(14), "obs-late", category="vote_buying", severity=2)
    store_events(warehouse, registry, [encode(late)], alerts=False)
    second = exporter.export(AFTERNOON)
    assert second.name == f"{first.name}-2" and first.is_dir()
    assert read_latest(exporter.out_dir) == second
    incidents = [json.loads((f / "summary.json").read_text(encoding="utf-8"))
                 ["national"]["incidents"] for f in (first, second)]
    assert incidents[1] == incidents[0] + 1
    assert verify_bundle(first) == [] and verify_bundle(second) == []


def test_every_figure_agrees_with_the_warehouse_and_the_dashboard(
        stored: tuple[Warehouse, StoredDay], exporter: Exporter) -> None:
    warehouse, _day = stored
    folder = exporter.export(NIGHT)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    regions = pd.read_csv(folder / "regions.csv", keep_default_na=False)
    state = station_state(warehouse, NIGHT)
    national = summary["national"]
    assert national["ballots"] == int(state["ballots"].sum()) > 0
    assert national["ballots_official"] == int(state["ballots_official"].sum()) > 0
    assert national["covered"] == int(state["covered"].sum()) > 0
    assert national["coverage"] == state["coverage"].value_counts().to_dict() | {
        k: 0 for k in ("present", "en_route", "removed", "absent")
        if k not in set(state["coverage"])}
    for column in ("stations", "registered", "ballots", "ballots_official", "covered",
                   "incidents", "alerts"):
        assert int(regions[column].sum()) == national[column], column
    assert regions.to_dict("records") == summary["regions"]
    wall = region_summary(state, exporter.region_names)
    assert regions["turnout_pct"].tolist() == wall["turnout_pct"].tolist()
    features = json.loads((folder / "regions.geojson").read_text(encoding="utf-8"))["features"]
    assert [f["properties"] for f in features] == summary["regions"]
    by_status = summary["incidents"]["by_status"]
    assert sum(by_status.values()) == national["incidents"] > 0
    assert sum(c["total"] for c in summary["incidents"]["by_category"].values()) == \
        national["incidents"]
    assert sum(summary["alerts"]["by_kind"].values()) == national["alerts"] > 0


def test_both_warehouse_engines_give_byte_identical_bundles(
        registry: pd.DataFrame, clickhouse_server: ClickHouseServer, tmp_path: Path) -> None:
    urls = {"chdb": f"chdb://{tmp_path}/warehouse",
            "clickhouse": f"clickhouse://default@127.0.0.1:{clickhouse_server.tcp_port}/"
                          f"t_{uuid.uuid4().hex[:10]}"}
    folders = {}
    for engine, url in urls.items():
        warehouse = open_warehouse(url)
        try:
            simulated_day(warehouse, registry)
            exporter = Exporter.create(warehouse, ELECTION, tmp_path / engine)
            folders[engine] = exporter.export(NIGHT)
        finally:
            warehouse.close()
    chdb, server = folders["chdb"], folders["clickhouse"]
    for path in sorted(chdb.iterdir()):
        if path.name != MANIFEST:
            assert path.read_bytes() == (server / path.name).read_bytes(), path.name


def test_an_export_before_any_report_holds_zeros_and_an_embargoed_exit_poll(
        warehouse_url: str, registry: pd.DataFrame, tmp_path: Path) -> None:
    warehouse = open_warehouse(warehouse_url)
    try:
        create_schema(warehouse)
        load_stations(warehouse, registry)
        exporter = Exporter.create(warehouse, ELECTION, tmp_path / "exports")
        morning = ELECTION.local(dt.time(6, 0))
        assert exporter.default_as_of(now=morning) == morning  # no report yet: now
        folder = exporter.export(morning)
    finally:
        warehouse.close()
    assert verify_bundle(folder) == []
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["national"]["ballots"] == summary["national"]["covered"] == 0
    assert summary["national"]["coverage"]["absent"] == len(registry)
    assert summary["exit_poll"]["status"] == "embargoed"


def test_the_default_as_of_is_the_latest_report_but_never_later_than_now(
        stored: tuple[Warehouse, StoredDay], exporter: Exporter) -> None:
    _warehouse, day = stored
    latest = max(dt.datetime.fromisoformat(e["occurred_at"]) for e in day.events)
    assert exporter.default_as_of(now=latest + dt.timedelta(hours=1)) == latest
    # A phone whose clock runs ahead must not move the as-of (and the embargo) forward.
    assert exporter.default_as_of(now=AFTERNOON) == AFTERNOON < latest
