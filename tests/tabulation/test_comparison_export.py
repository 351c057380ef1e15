"""The comparison's export files on both engines (chDB and clickhouse-server 18.16): a
tabulated day stored through the worker's batch path, the files read back and checked
against a direct query of the warehouse; only in bundles after the close; as of a moment,
the publication then current; no actor, volunteer or unreleased photo in any byte."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from saylau.exports import Exporter
from saylau.exports.comparison import (
    COMPARISON_FILES,
    REGIONS_FILE,
    STATIONS_FILE,
    comparison_tables,
    station_columns,
)
from saylau.geo.registry import synthetic_registry
from saylau.warehouse.client import Warehouse, create_schema, open_warehouse
from saylau.warehouse.queries import load_stations
from tests.exports.days import ELECTION, store_events
from tests.tabulation.comparison_day import VOLUNTEERS, TabulatedDay
from tests.tabulation.test_comparison_page import expected_stations

pytestmark = pytest.mark.timeout(300)

OPTIONS = tuple(ELECTION.options)
COUNTED = ELECTION.local(dt.time(20, 30))  # the day's tabulation starts after the close
NIGHT = ELECTION.local(dt.time(23, 0))


@pytest.fixture
def tabulated(warehouse_url: str) -> Iterator[tuple[Warehouse, TabulatedDay]]:
    registry = synthetic_registry(n_stations=200, total_voters=200_000, seed=11)
    warehouse = open_warehouse(warehouse_url)
    try:
        create_schema(warehouse)
        load_stations(warehouse, registry)
        day = TabulatedDay(registry, COUNTED)
        store_events(warehouse, registry, day.values(), alerts=False)
        yield warehouse, day
    finally:
        warehouse.close()


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(path.read_text(encoding="utf-8")), dtype=str,
                       keep_default_na=False)


def as_expected(row: pd.Series) -> dict[str, object]:
    """A CSV row in the shape of ``expected_stations``' entries."""
    def number(text: str) -> int | None:
        return None if text == "" else int(text)
    columns = [f"{side}_{o}" for o in OPTIONS for side in ("official", "verified",
                                                         "difference")]
    return {**{column: number(row[column]) for column in columns},
            "votes_moved": number(row["votes_moved"]), "photo": row["photo_sha256"]}


def test_the_comparison_files_agree_with_the_warehouse(
        tabulated: tuple[Warehouse, TabulatedDay], tmp_path: Path) -> None:
    warehouse, day = tabulated
    exporter = Exporter.create(warehouse, ELECTION, tmp_path / "exports")
    folder = exporter.export(NIGHT)
    stations = read_csv(folder / STATIONS_FILE)
    assert list(stations.columns) == station_columns(OPTIONS)
    assert list(stations["station_id"]) == sorted(day.stations())
    expected = expected_stations(warehouse)
    assert {row["station_id"]: as_expected(row) for _i, row in stations.iterrows()} == expected
    names = dict(zip(day.registry["station_id"], day.registry["name"], strict=True))
    assert all(stations["station_name"] == stations["station_id"].map(names))
    # The superseding publication is the one compared.
    assert stations.set_index("station_id").at[day.superseded, "publication"] == "cec-2"

    regions = read_csv(folder / REGIONS_FILE).set_index("region_code")
    region_of = dict(zip(day.registry["station_id"], day.registry["region_code"],
                         strict=True))
    for region, group in stations.groupby(stations["station_id"].map(region_of)):
        compared = group[group["votes_moved"] != ""]
        matching = compared[compared[[f"difference_{o}" for o in OPTIONS]]
                            .astype(int).eq(0).all(axis=1)]
        assert int(regions.at[region, "stations_official"]) == len(group)
        assert int(regions.at[region, "stations_compared"]) == len(compared)
        assert int(regions.at[region, "stations_matching"]) == len(matching)
        assert int(regions.at[region, "votes_moved"]) == sum(
            int(entry["votes_moved"]) for station, entry in expected.items()  # type: ignore[call-overload]
            if region_of[station] == region and entry["votes_moved"] is not None)
    assert (stations["matches"] == "").sum() == len(day.unverified)


def test_no_actor_volunteer_entry_or_unreleased_photo_reaches_the_files(
        tabulated: tuple[Warehouse, TabulatedDay], tmp_path: Path) -> None:
    warehouse, day = tabulated
    entries = warehouse.query_df("SELECT entry_ids, entered_by FROM $db.tabulation "
                                 "WHERE fact = 'agreed'")
    assert set(VOLUNTEERS) <= {name for names in entries["entered_by"] for name in names}
    folder = Exporter.create(warehouse, ELECTION, tmp_path / "exports").export(NIGHT)
    unreleased = {day.photo_of(s) for s in day.stations()} - day.released - {""}
    assert unreleased and day.withdrawn
    needles = [*day.observer_ids(), *VOLUNTEERS, *unreleased,
               *[entry for ids in entries["entry_ids"] for entry in ids]]
    for name in COMPARISON_FILES:
        content = (folder / name).read_text(encoding="utf-8")
        for needle in needles:
            assert needle not in content, f"{needle!r} in {name}"
    # The search finds what is there: the released photos' hashes are published.
    assert all(photo in (folder / STATIONS_FILE).read_text(encoding="utf-8")
               for photo in day.released)


def test_the_files_are_in_bundles_after_the_close_only_and_as_of_their_moment(
        tabulated: tuple[Warehouse, TabulatedDay], tmp_path: Path) -> None:
    warehouse, day = tabulated
    exporter = Exporter.create(warehouse, ELECTION, tmp_path / "exports")
    before = exporter.export(ELECTION.local(dt.time(19, 0)))
    assert not set(COMPARISON_FILES) & {path.name for path in before.iterdir()}
    # Between the first publication (+30 min) and the second (+50): the first counts,
    # and no release made after that moment shows.
    between = COUNTED + dt.timedelta(minutes=35)
    tables = comparison_tables(warehouse, ELECTION, as_of=between)
    first = next(e for e in day.events if e["station_id"] == day.superseded
                 and e.get("source") == "official")
    row = tables.stations.set_index("station_id").loc[day.superseded]
    assert row["publication"] == "cec-1"
    assert {o: int(row[f"official_{o}"]) for o in OPTIONS} == \
        {o: first["votes"].get(o, 0) for o in OPTIONS}
    assert not (tables.stations["photo_sha256"] != "").any()  # releases come at +40
    folder = exporter.export(between)
    assert set(COMPARISON_FILES) <= {path.name for path in folder.iterdir()}
    assert read_csv(folder / STATIONS_FILE).set_index("station_id").at[
        day.superseded, "publication"] == "cec-1"
