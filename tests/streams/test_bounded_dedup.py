"""De-duplication in bounded memory, against a real warehouse: an event sent again long
after (thousands of other ids later) is stored once, and a filter whose every lookup
collides still drops no real event: its suspects are settled by the warehouse's keys."""

from __future__ import annotations

import json
import tracemalloc
import uuid

import pandas as pd
import pytest

from saylau.core.election import Election
from saylau.geo.registry import synthetic_registry
from saylau.streams.alerting import Thresholds
from saylau.streams.batch import Message, SeenIds
from saylau.streams.replay import ReplayBatch, Replayer
from saylau.warehouse.client import Warehouse, create_schema, open_warehouse
from saylau.warehouse.queries import event_counts, load_stations
from tests.integration.events import at, encode, event

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def registry() -> pd.DataFrame:
    return synthetic_registry(n_stations=40, total_voters=40_000, seed=3)


@pytest.fixture
def warehouse(warehouse_url: str, registry: pd.DataFrame) -> Warehouse:
    opened = open_warehouse(warehouse_url)
    create_schema(opened)
    load_stations(opened, registry)
    yield opened
    opened.close()


def incidents(registry: pd.DataFrame, count: int) -> list[bytes]:
    stations = registry["station_id"].tolist()
    return [encode(event("incident", stations[n % len(stations)], at(9 + n % 10, n % 60),
                         category="other", severity=1)) for n in range(count)]


def batches(values: list[bytes], size: int) -> list[ReplayBatch]:
    return [ReplayBatch([Message("t.incidents", 0, start + i, value)
                         for i, value in enumerate(values[start:start + size])])
            for start in range(0, len(values), size)]


def raw_count(warehouse: Warehouse, event_id: str | None = None) -> int:
    """Rows in the archive itself, duplicates included (no FINAL, no uniqExact)."""
    where = "WHERE event_id = {id:String}" if event_id else ""
    frame = warehouse.query_df(f"SELECT count() AS n FROM $db.events {where}",
                               {"id": event_id or ""})
    return int(frame["n"].iloc[0])


@pytest.mark.parametrize("filter_bits", [2 ** 29, 64], ids=["default", "every-id-collides"])
def test_an_event_resent_long_after_is_stored_once(warehouse: Warehouse,
                                                   registry: pd.DataFrame,
                                                   filter_bits: int) -> None:
    replayer = Replayer(warehouse, registry, Election(), Thresholds())
    replayer.recent = SeenIds(bits=filter_bits, hashes=1 if filter_bits == 64 else 7)
    first = incidents(registry, 1)[0]
    others = incidents(registry, 3_000)
    # The first event, 3,000 other events in 30 batches, then the first one again twice.
    values = [first, *others, first, first]
    counts = replayer.replay(batches(values, 100))
    first_id = encode_id(first)
    assert raw_count(warehouse, first_id) == 1
    assert raw_count(warehouse) == 3_001  # no real event dropped, however many collided
    assert event_counts(warehouse) == {"incident": 3_001}
    assert counts.duplicates == 2 and counts.stored == 3_001


def test_a_resend_in_the_next_batch_is_found_although_prepared_before_the_write(
        warehouse: Warehouse, registry: pd.DataFrame) -> None:
    """Replay reads and validates a batch ahead of the write: the copy is a suspect, and
    by the time its batch is written the first copy is in the warehouse."""
    replayer = Replayer(warehouse, registry, Election(), Thresholds())
    values = incidents(registry, 10)
    counts = replayer.replay(batches([*values, *values, *values], 10))
    assert raw_count(warehouse) == 10 and counts.duplicates == 20


def encode_id(value: bytes) -> str:
    return str(json.loads(value)["event_id"])


def test_the_filter_memory_does_not_grow_with_the_ids_added() -> None:
    seen = SeenIds(bits=2 ** 20)  # 128 KiB
    seen.add_all(str(uuid.uuid4()) for _ in range(1_000))
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for _ in range(100):  # 500,000 more ids: 4 per byte of the filter
        seen.add_all(str(uuid.uuid4()) for _ in range(5_000))
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert seen.nbytes == 2 ** 17
    assert after - before < 64 * 1024  # nothing kept per id
    assert len(seen) == 501_000
