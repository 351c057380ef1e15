"""No observer's name, phone or id reaches a bundle, though all three are there to leak:
the roster is imported, the events carry the ids, an alert's detail names an expelled
observer and an incident's description quotes a name and a phone."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from saylau.cli.main import main
from saylau.warehouse.client import Warehouse
from tests.exports.days import ELECTION, StoredDay, store_events
from tests.integration.events import at, encode, event

pytestmark = pytest.mark.timeout(300)


def plant_roster(day: StoredDay, folder: Path) -> list[dict[str, str]]:
    """A roster of the day's real observers with names and phones no bundle may hold."""
    observers = [o for o in day.observer_ids() if o.startswith("obs-")]
    assigned = {e["observer_id"]: e["station_id"] for e in day.events if e["kind"] == "checkin"}
    regions = dict(zip(day.registry["station_id"], day.registry["region_code"], strict=True))
    rows = [{"observer_id": observer, "name": f"Aigerim Plantedova-{i:04d}",
             "phone": f"+7 701 555 {i:04d}",
             "home_region": regions.get(assigned.get(observer, ""), "KAZ001"),
             "organisation": "Saylau Observers",
             "assigned_station": assigned.get(observer, "")}
            for i, observer in enumerate(observers)]
    with (folder / "roster.csv").open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows


def needles(rows: list[dict[str, str]]) -> list[bytes]:
    found = []
    for row in rows:
        digits = "".join(ch for ch in row["phone"] if ch.isdigit())
        found += [row["observer_id"], row["name"], row["name"].upper(), row["phone"], digits]
    return [text.encode("utf-8") for text in found]


def test_no_roster_name_phone_or_observer_id_is_in_any_byte_of_the_bundle(
        stored: tuple[Warehouse, StoredDay], warehouse_url: str, registry: pd.DataFrame,
        tmp_path: Path) -> None:
    warehouse, day = stored
    rows = plant_roster(day, tmp_path)
    common = ["--data-dir", str(tmp_path), "--registry", str(tmp_path / "stations.csv"),
              "--warehouse", warehouse_url]
    assert main(["roster", "import", str(tmp_path / "roster.csv"), *common]) == 0
    assert b"Aigerim Plantedova-0001" in (tmp_path / "roster" / "contacts.csv").read_bytes()

    # Free text from an observer may quote anyone: it stays in the warehouse.
    station = registry["station_id"].iloc[0]
    quoted = event("incident", station, at(13), rows[1]["observer_id"], category="other",
                   severity=1, description=f"{rows[2]['name']} {rows[2]['phone']} was threatened")
    store_events(warehouse, registry, [encode(quoted)], alerts=False)
    payloads = warehouse.query_df("SELECT payload FROM $db.events")["payload"].str.cat()
    assert rows[2]["name"] in payloads and rows[0]["observer_id"] in payloads
    details = warehouse.query_df("SELECT detail FROM $db.alerts WHERE kind = 'observer_removed'")
    assert details["detail"].str.contains("obs-").any()  # an alert that names an observer

    for as_of in ("15:00", "21:00"):  # before and after the close: exit poll included
        assert main(["export", "--as-of", as_of, *common]) == 0
    bundles = [p for p in (tmp_path / "exports").iterdir() if not p.is_symlink()]
    files = [path for bundle in bundles for path in bundle.iterdir()]
    analysis = [path for path in files if path.name.startswith("analysis-")]
    comparison = [path for path in files if path.name.startswith("comparison-")]
    assert sorted(path.name for path in comparison) == ["comparison-regions.csv",
                                                       "comparison-stations.csv"]
    # The report and maps in Kazakh and Russian beside the English ones (SAYLAU_EXPORT_LANGUAGES
    # is all three by default): searched like every other file.
    translated = [path for path in files if path.suffixes[:1] in ([".kk"], [".ru"])]
    assert {path.name.split(".")[0] for path in translated} >= {"report", "turnout"}
    assert len(translated) % 2 == 0 and translated
    # Ten files in each bundle, plus the analysis tables and the comparison in the one
    # after the close.
    assert len(bundles) == 2 and len(files) == 20 + len(analysis) + len(comparison) \
        + len(translated)
    assert len(analysis) >= 5
    assert any(path.name == "analysis-discrepancies.csv" for path in analysis)
    for path in files:
        content = path.read_bytes()
        for needle in needles(rows):
            assert needle not in content, f"{needle!r} in {path.name}"
    # The search does find what is there: station ids are public and in every bundle.
    assert all(station.encode() in (bundle / "stations.csv").read_bytes() for bundle in bundles)
    assert str(ELECTION.date) in (bundles[0] / "summary.json").read_text(encoding="utf-8")


def test_no_volunteer_entry_or_unreleased_photo_is_in_any_byte_of_the_bundle(
        stored: tuple[Warehouse, StoredDay], warehouse_url: str, registry: pd.DataFrame,
        tmp_path: Path) -> None:
    """Double entry names its volunteers (``entered_by``) and entries; headquarters' user
    sends the releases; a photo is published only once released. After the close the
    bundle compares every station (comparison-*.csv): none of those reaches any file."""
    from tests.tabulation.comparison_day import VOLUNTEERS, TabulatedDay

    warehouse, _day = stored
    tabulated = TabulatedDay(registry, ELECTION.local(dt.time(20, 30)))
    store_events(warehouse, registry, tabulated.values(), alerts=False)
    entries = warehouse.query_df("SELECT entry_ids, entered_by FROM $db.tabulation "
                                 "WHERE fact = 'agreed'")
    assert set(VOLUNTEERS) <= {name for names in entries["entered_by"] for name in names}
    unreleased = {tabulated.photo_of(s) for s in tabulated.stations()} - tabulated.released
    assert unreleased - {""}
    common = ["--data-dir", str(tmp_path), "--registry", str(tmp_path / "stations.csv"),
              "--warehouse", warehouse_url]
    assert main(["export", "--as-of", "23:00", *common]) == 0
    bundle = next(p for p in (tmp_path / "exports").iterdir() if not p.is_symlink())
    needles = [*tabulated.observer_ids(), *VOLUNTEERS, *(unreleased - {""}),
               *[entry for ids in entries["entry_ids"] for entry in ids]]
    for path in bundle.iterdir():
        content = path.read_bytes()
        for needle in needles:
            assert needle.encode() not in content, f"{needle!r} in {path.name}"
    compared = (bundle / "comparison-stations.csv").read_text(encoding="utf-8")
    assert all(photo in compared for photo in tabulated.released)  # what is public is there
