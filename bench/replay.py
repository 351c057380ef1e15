"""Replay of a simulated 1,000,000-event day into a fresh chDB warehouse, and scrubbing it.

    python bench/replay.py [--events 1000000] [--batch 20000] [--judge-every 1000000]
                           [--moments 50] [--keep DIR]

1. The simulator writes a day of about ``--events`` messages to a file (``simulate --output``
   format), in a temporary folder.
2. Baseline, same run: the file read and every message parsed and validated
   (``process_batch``: contract, registry, rules, de-duplication) without touching a
   warehouse, with the cyclic garbage collector paused as in the replay.
3. The replay: ``saylau replay FILE`` 's engine (``saylau.streams.replay``), file → the
   worker's batch path → a fresh chDB warehouse, alerts judged after each batch, progress on stderr.
4. Time travel: ``saylau.warehouse.state.station_state(as_of=…)`` at ``--moments`` moments spread
   over the day (the dashboard scrubbing through it).

Last line: ``replay_bench events=… seconds=… eps=…`` (the replay). Target ≥ 20,000 events/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from saylau.cli.simulation import read_messages
from saylau.core.election import Election
from saylau.core.rules import Ballot
from saylau.core.validation import DayWindow, station_index
from saylau.geo.registry import synthetic_registry
from saylau.ingest.simulator import Progress, Scenario, simulate_day
from saylau.streams.alerting import Thresholds
from saylau.streams.batch import SeenIds, process_batch
from saylau.streams.replay import Replayer, cyclic_gc_paused, simulated_batches
from saylau.warehouse.client import create_schema, open_warehouse
from saylau.warehouse.queries import load_stations
from saylau.warehouse.state import station_state

MESSAGES_PER_STATION = 17.6  # of a default simulated day (measured: 91,648 at 5,208 stations)
VOTERS_PER_STATION = 1_200


def write_day(folder: Path, events: int) -> tuple[Path, pd.DataFrame, int]:
    stations = int(events / MESSAGES_PER_STATION)
    registry = synthetic_registry(stations, stations * VOTERS_PER_STATION, seed=2026)
    started = time.perf_counter()
    day = simulate_day(registry, Election(), Scenario(seed=7))
    path = folder / "day.jsonl"
    bar = Progress(len(day), "simulate")
    day.write(path, "saylau", bar)
    bar.close()
    print(f"simulated {len(day):,} messages at {stations:,} stations into {path} "
          f"in {time.perf_counter() - started:.1f} s", flush=True)
    return path, registry, len(day)


def baseline(path: Path, registry: pd.DataFrame, total: int, batch: int) -> float:
    """Read and parse (validate, de-duplicate, enrich) every message; no warehouse."""
    election = Election()
    stations, ballot = station_index(registry), Ballot.of(election)
    window = DayWindow.for_election(election.date, election.tz)
    recent = SeenIds()  # as the replay's; its suspects are not settled (no warehouse here)
    bar = Progress(total, "baseline: read+parse")
    started = time.perf_counter()
    with cyclic_gc_paused():  # as in the replay
        for chunk in simulated_batches(read_messages(path), "saylau", batch):
            result = process_batch(chunk.messages, stations, window, recent,
                                   dt.datetime.now(dt.UTC), ballot)
            recent.add_all(result.event_ids)
            bar(len(chunk.messages))
    seconds = time.perf_counter() - started
    bar.close()
    return seconds


def replay(path: Path, registry: pd.DataFrame, total: int, batch: int, judge_every: int,
           url: str) -> tuple[float, str]:
    warehouse = open_warehouse(url)
    create_schema(warehouse)
    load_stations(warehouse, registry)
    bar = Progress(total, "replay")
    started = time.perf_counter()
    counts = Replayer(warehouse, registry, Election(), Thresholds(), judge_every).replay(
        simulated_batches(read_messages(path), "saylau", batch), bar)
    seconds = time.perf_counter() - started
    bar.close()
    warehouse.close()
    return seconds, (f"{counts}; insert {counts.insert_seconds:.1f} s, alerts "
                     f"{counts.alert_seconds:.1f} s")


def scrub(url: str, moments: int) -> list[float]:
    """Seconds per ``station_state(as_of)`` at ``moments`` moments from 06:00 to 23:00."""
    election = Election()
    first = dt.datetime.combine(election.date, dt.time(6, 0), tzinfo=election.tz)
    span = dt.timedelta(hours=17) / max(moments - 1, 1)
    warehouse = open_warehouse(url)
    times = []
    try:
        for number in range(moments):
            started = time.perf_counter()
            state = station_state(warehouse, first + number * span)
            times.append(time.perf_counter() - started)
            assert len(state) > 0
    finally:
        warehouse.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--judge-every", type=int, default=1_000_000,
                        help="messages between alert judgements (SAYLAU_REPLAY_JUDGE_EVERY)")
    parser.add_argument("--moments", type=int, default=50)
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (default: a "
                                                  "temporary folder, removed at the end)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="saylau-replay-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        path, registry, total = write_day(folder, args.events)
        base = baseline(path, registry, total, args.batch)
        print(f"baseline (read + parse + validate, no warehouse): {total:,} messages in "
              f"{base:.1f} s = {total / base:,.0f} events/s", flush=True)
        url = f"chdb://{folder}/warehouse"
        seconds, counts = replay(path, registry, total, args.batch,
                                 args.judge_every, url)
        print(f"replay into chDB: {counts} in {seconds:.1f} s = {total / seconds:,.0f} "
              f"events/s ({100 * base / seconds:.0f}% of the time is read+parse)", flush=True)
        times = scrub(url, args.moments)
        print(f"time travel: station_state(as_of) at {len(times)} moments over the day, "
              f"{len(registry):,} stations: mean {1000 * statistics.mean(times):.0f} ms, "
              f"max {1000 * max(times):.0f} ms, all {sum(times):.1f} s", flush=True)
        print(f"replay_bench events={total} seconds={seconds:.2f} eps={total / seconds:.0f}")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
