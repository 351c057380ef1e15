"""The tabulation queries on chDB and on ClickHouse 18.16: photos with their station and
sender, entries with their figures, and progress by region as the pure logic judges it."""

from __future__ import annotations

import datetime as dt

import pytest

from saylau.dashboard.double_entry import Entry, Figures, Photo, progress_by_region
from saylau.geo.registry import synthetic_registry
from saylau.warehouse.client import create_schema, open_warehouse
from saylau.warehouse.queries import load_stations
from saylau.warehouse.tabulation_queries import (
    FIGURES,
    photo_region,
    tabulation_entries,
    tabulation_photos,
    tabulation_progress,
)
from tests.tabulation.entry_site import entry_event, photo_protocol, protocol_figures, store_events

pytestmark = pytest.mark.timeout(300)
SHAS = [f"{n:x}" * 64 for n in range(1, 8)]
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_photos_entries_and_progress_on_both_engines(warehouse_url: str) -> None:
    registry = synthetic_registry(n_stations=200, total_voters=200_000, seed=11)
    own = registry[registry["region_code"] == "KAZ011"]["station_id"].tolist()
    other = registry[registry["region_code"] == "KAZ001"]["station_id"].tolist()
    stations = [own[0], own[1], own[2], own[3], own[4], other[0], other[1]]
    photos = [photo_protocol(station, f"obs-{n}", sha, at(n))
              for n, (station, sha) in enumerate(zip(stations, SHAS, strict=True))]
    # The phone resent photo 0 in a new event later: still one photo, of its first event.
    photos.append(photo_protocol(own[0], "obs-later", SHAS[0], at(30)))
    typed = {0: [("v1", 500), ("v2", 500)],                 # agreed
             1: [("v1", 500), ("v2", 501)],                 # conflict
             2: [("v1", 500), ("v2", 501), ("v3", 501)],    # resolved
             3: [("v1", 500)],                              # entered once
             4: [("v1", 500), ("v1", 500)],                 # one volunteer twice: once
             5: [("v2", 800), ("v3", 800)]}                 # agreed, the other region
    entries = [entry_event(SHAS[photo], stations[photo], volunteer, cast, at(40 + n))
               for photo, readings in typed.items()
               for n, (volunteer, cast) in enumerate(readings)]
    warehouse = open_warehouse(warehouse_url)
    try:
        create_schema(warehouse)
        load_stations(warehouse, registry)
        store_events(warehouse, registry, [*photos, *entries], times=2)

        found = tabulation_photos(warehouse)
        assert list(found["sha256"]) == SHAS  # oldest first, each once
        first = found.iloc[0]
        assert (first["station_id"], first["region_code"], first["observer_id"]) == (
            own[0], "KAZ011", "obs-0")
        assert first["received_at"] == at(0)
        assert not found["has_copy"].any()
        stored = tabulation_entries(warehouse)
        assert len(stored) == len(entries)
        assert set(stored["entry_id"]) == {str(e.event_id) for e in entries}
        one = stored[stored["entry_id"] == str(entries[0].event_id)].iloc[0]
        fields, votes = protocol_figures(500)
        assert {name: one[name] for name in FIGURES} == fields
        assert one["votes"] == votes and one["volunteer"] == "v1"
        assert one["entered_at"] == at(40)

        expected = progress_by_region(as_photos(found, stored))
        progress = tabulation_progress(warehouse).set_index("region_code")
        for region, figures in expected.items():
            assert progress.loc[region].to_dict() == {
                "photos": figures.photos, "waiting": figures.waiting,
                "entered_once": figures.entered_once, "agreed": figures.agreed,
                "conflict": figures.conflict}, region
        assert progress.loc["KAZ011"].to_dict() == {
            "photos": 5, "waiting": 0, "entered_once": 2, "agreed": 2, "conflict": 1}
        assert photo_region(warehouse, SHAS[5]) == "KAZ001"
        assert photo_region(warehouse, "0" * 64) is None
    finally:
        warehouse.close()


def test_no_photo_no_progress(warehouse_url: str) -> None:
    warehouse = open_warehouse(warehouse_url)
    try:
        create_schema(warehouse)
        assert tabulation_progress(warehouse).empty
        assert tabulation_photos(warehouse).empty and tabulation_entries(warehouse).empty
    finally:
        warehouse.close()


def as_photos(photos, entries) -> list[Photo]:  # type: ignore[no-untyped-def]
    by_photo: dict[str, list[Entry]] = {}
    for row in entries.itertuples(index=False):
        by_photo.setdefault(row.sha256, []).append(Entry(
            row.entry_id, row.volunteer, row.entered_at.to_pydatetime(),
            Figures.of({name: getattr(row, name) for name in FIGURES}, row.votes)))
    return [Photo(row.sha256, row.station_id, row.region_code, row.observer_id,
                  row.received_at.to_pydatetime(), tuple(by_photo.get(row.sha256, ())))
            for row in photos.itertuples(index=False)]
