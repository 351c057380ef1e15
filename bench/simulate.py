"""Benchmark: a 1,000,000-station election day written to a file, against two baselines.

Run with a hard timeout, e.g. ``timeout 900 .venv/bin/python bench/simulate.py``. Prints the
simulator's figures, then the baselines measured in the same run on the same machine:
- writing the same number of already-formatted lines (the I/O floor), and
- ``json.dumps`` of one dict per event plus the write (the obvious way, on a 1M sample).
The last line is ``simulate_bench stations=… events=… eps=…``, where events counts the
JSON lines written (noise copies included) and eps is events per second of simulating
and writing, registry generation excluded.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

from saylau.core.election import Election
from saylau.geo.registry import synthetic_registry
from saylau.ingest.simulator import Progress, Scenario, simulate_day

VOTERS_PER_STATION = 1200
DUMPS_SAMPLE = 1_000_000
BLOCK = 250_000


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # kB on Linux


def simulate(stations: int, seed: int, folder: Path) -> tuple[int, int, float, str]:
    started = time.perf_counter()
    registry = synthetic_registry(stations, stations * VOTERS_PER_STATION, seed=2026)
    print(f"registry: {stations:,} stations in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    day = simulate_day(registry, Election(), Scenario(seed=seed))
    built = time.perf_counter() - started
    path = folder / "day.jsonl"
    bar = Progress(len(day), "simulate") if sys.stderr.isatty() else None
    day.write(path, progress=bar)
    if bar is not None:
        bar.close()
    elapsed = time.perf_counter() - started
    size = path.stat().st_size
    print(f"simulate: {len(day):,} messages ({day.truth['noise']['events']:,} events) in "
          f"{elapsed:.1f} s (build {built:.1f} s, format and write {elapsed - built:.1f} s, "
          "one process); "
          f"file {size / 1e9:.2f} GB, {size / len(day):.0f} bytes a line; "
          f"peak RSS {peak_rss_gb():.2f} GB", flush=True)
    with path.open(encoding="utf-8") as lines:
        sample = next(lines)
    path.unlink()
    return len(day), stations, elapsed, sample


def baseline_lines(count: int, line: str, folder: Path) -> float:
    """Writing ``count`` pre-formatted lines: no simulating, no formatting."""
    block = line * BLOCK
    started = time.perf_counter()
    with (folder / "lines.jsonl").open("w", encoding="utf-8") as out:
        for written in range(0, count, BLOCK):
            out.write(block if count - written >= BLOCK else line * (count - written))
    elapsed = time.perf_counter() - started
    (folder / "lines.jsonl").unlink()
    return count / elapsed


def baseline_dumps(count: int, folder: Path) -> float:
    """One dict per event through ``json.dumps``, written in blocks (the obvious way)."""
    started = time.perf_counter()
    with (folder / "dumps.jsonl").open("w", encoding="utf-8") as out:
        for first in range(0, count, BLOCK):
            out.write("".join(json.dumps({
                "sent_at": "2026-03-15T12:00:05+05:00", "topic": "saylau.turnout",
                "key": "KAZ011-0457", "value": {
                    "schema": "saylau.event/1", "event_id": str(uuid.UUID(int=number)),
                    "kind": "turnout", "station_id": "KAZ011-0457",
                    "observer_id": f"obs-{number:06d}",
                    "occurred_at": "2026-03-15T12:00:05+05:00", "ballots_issued": number % 3000,
                    "source": "observer_count"}}, separators=(",", ":")) + "\n"
                for number in range(first, min(first + BLOCK, count))))
    elapsed = time.perf_counter() - started
    (folder / "dumps.jsonl").unlink()
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="saylau-bench-") as name:
        folder = Path(name)
        messages, stations, elapsed, sample = simulate(args.stations, args.seed, folder)
        eps = messages / elapsed
        lines_eps = baseline_lines(messages, sample, folder)
        print(f"baseline write_preformatted_lines lines={messages} eps={lines_eps:.0f}",
              flush=True)
        dumps_eps = baseline_dumps(DUMPS_SAMPLE, folder)
        print(f"baseline json_dumps_per_event events={DUMPS_SAMPLE} eps={dumps_eps:.0f} "
              f"(simulator is {eps / dumps_eps:.1f}x that, all work included)", flush=True)
    print(f"simulate_bench stations={stations} events={messages} eps={eps:.0f}")


if __name__ == "__main__":
    main()
