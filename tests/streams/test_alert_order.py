"""The alerts of a day do not depend on the order its events arrive in, nor on how they are
batched or judged together: the windowed judgement (each judgement reads only the reports
its new ones can change) ends with the same alert table as the day sent in time order.
Against a real chDB."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pandas as pd
import pytest

from saylau.core.election import Election
from saylau.core.validation import DayWindow, station_index
from saylau.geo.registry import synthetic_registry
from saylau.ingest.simulator import Scenario, simulate_day
from saylau.streams.alerting import AlertMonitor, Thresholds
from saylau.streams.batch import Message, SeenIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse import queries
from saylau.warehouse.client import create_schema, open_warehouse
from tests.integration.events import at, encode, event
from tests.integration.scenario import ScenarioDay

pytestmark = pytest.mark.timeout(600)
ELECTION = Election()


@pytest.fixture(scope="module")
def registry() -> pd.DataFrame:
    return synthetic_registry(n_stations=60, total_voters=60_000, seed=5)


@pytest.fixture(scope="module")
def day(registry: pd.DataFrame) -> list[bytes]:
    """A simulated day (with its noise: resends, malformed messages) and the scenario day
    of every rule (jumps, a decrease, bursts, removals, mismatches, late check-ins)."""
    simulated = simulate_day(registry, ELECTION, Scenario(seed=4, falsified_share=0.3))
    scenario = [m if isinstance(m, bytes) else encode(m)
                for m in ScenarioDay(registry).messages]
    return sorted([m.value for m in simulated.messages()] + scenario, key=event_time)


def event_time(value: bytes) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(json.loads(value)["occurred_at"]).astimezone(dt.UTC)
    except (ValueError, KeyError, TypeError, AttributeError):
        return dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # malformed: first, any order


def alert_table(tmp_path: Path, registry: pd.DataFrame, values: list[bytes],
                sizes: list[int], judge_every: int = 1) -> pd.DataFrame:
    """Store ``values`` in batches of ``sizes`` (cycled) as the worker's store does, judging
    the alerts of every ``judge_every`` batches together; the alerts that hold at the end."""
    warehouse = open_warehouse(f"chdb://{tmp_path}/warehouse")
    try:
        create_schema(warehouse)
        queries.load_stations(warehouse, registry)
        stations = station_index(registry)
        window = DayWindow.for_election(ELECTION.date, ELECTION.tz)
        seen, sink = SeenIds(), WarehouseSink(warehouse)
        monitor = AlertMonitor(warehouse, registry, ELECTION.opens_at, Thresholds())
        start, number, unjudged = 0, 0, []
        while start < len(values):
            size = sizes[number % len(sizes)]
            batch = [Message("t.turnout", 0, start + i, value)
                     for i, value in enumerate(values[start:start + size])]
            result = process_batch(batch, stations, window, seen, dt.datetime.now(dt.UTC))
            seen.add_all(result.event_ids)
            sink.settle(result)
            sink.write(result)
            unjudged += result.events
            start, number = start + size, number + 1
            if number % judge_every == 0 or start >= len(values):
                sink.write_alerts(monitor.judge(unjudged))
                unjudged = []
        table = queries.alerts(warehouse)
    finally:
        warehouse.close()
    table["occurred_at"] = pd.to_datetime(table["occurred_at"], utc=True)
    return table.sort_values("alert_id", ignore_index=True)


def test_the_same_day_in_any_order_and_batching_gives_the_same_alerts(
        tmp_path: Path, registry: pd.DataFrame, day: list[bytes]) -> None:
    in_order = alert_table(tmp_path / "ordered", registry, day, [300])
    kinds = set(in_order["kind"])
    assert {"turnout_jump", "turnout_decrease", "incident_burst", "observer_removed",
            "station_uncovered", "protocol_mismatch"} <= kinds, kinds

    rng = random.Random(11)
    shuffled = day[:]
    rng.shuffle(shuffled)
    sizes = [rng.randint(1, 500) for _ in range(40)]
    for name, values, batch_sizes, judge_every in [
            ("shuffled", shuffled, [300], 1),
            ("shuffled-small", shuffled, [37], 1),
            ("shuffled-mixed", shuffled, sizes, 3),  # several batches judged together
            ("reversed", day[::-1], [500], 1)]:
        other = alert_table(tmp_path / name, registry, values, batch_sizes, judge_every)
        pd.testing.assert_frame_equal(other, in_order, check_like=True, obj=name)


def test_a_late_report_inside_an_hour_leaves_that_hours_jump_as_it_was(
        tmp_path: Path, registry: pd.DataFrame) -> None:
    """A jump alert covers an hour: a report arriving late in the middle of the hour is
    judged with the whole hour (from its start), so the alert keeps its first jump."""
    station = registry["station_id"].iloc[0]
    voters = int(registry["registered_voters"].iloc[0])
    reports = [event("turnout", station, when, ballots_issued=int(voters * share))
               for when, share in ((at(9, 30), 0.05), (at(10, 5), 0.25), (at(10, 45), 0.48),
                                   (at(10, 20), 0.255))]
    values = [encode(report) for report in reports]
    together = alert_table(tmp_path / "together", registry, values, [10])
    one_by_one = alert_table(tmp_path / "one-by-one", registry, values, [1])
    jumps = together[together["kind"] == "turnout_jump"]
    assert len(jumps) == 1
    assert jumps["occurred_at"].iloc[0] == pd.Timestamp(at(10, 5)).tz_convert("UTC")
    pd.testing.assert_frame_equal(one_by_one, together, check_like=True)
