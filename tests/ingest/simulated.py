"""Simulated days shared by the simulator tests: small registries, written once per run."""

from __future__ import annotations

import atexit
import datetime as dt
import json
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from saylau.core.election import Election
from saylau.core.validation import DayWindow, StationInfo
from saylau.ingest.simulator import NO_NOISE, NoiseRates, Scenario, SimulatedDay, simulate_day

N_STATIONS = 300
ELECTION = Election()
WINDOW = DayWindow.for_election(ELECTION.date, ELECTION.tz)
NOISY = NoiseRates(duplicate=0.04, late=0.04, out_of_order=0.04, malformed=0.04)
# More re-assignments than usual, so that 300 stations show some.
NOISY_SCENARIO = Scenario(seed=7, noise=NOISY, reassignment=0.03)


def small_registry(n: int = N_STATIONS) -> pd.DataFrame:
    return pd.DataFrame({
        "station_id": [f"KAZ{1 + i % 4:03d}-{i:04d}" for i in range(n)],
        "region_code": [f"KAZ{1 + i % 4:03d}" for i in range(n)],
        "registered_voters": [60 + (i * 37) % 2900 for i in range(n)],
        "lat": [43.0 + (i % 50) / 10 for i in range(n)],
        "lon": [70.0 + (i % 30) / 10 for i in range(n)],
    })


REGISTRY = small_registry()
STATIONS = {row.station_id: StationInfo(row.region_code, int(row.registered_voters))
            for row in REGISTRY.itertuples()}
REGISTERED = dict(zip(REGISTRY["station_id"], REGISTRY["registered_voters"], strict=True))


@dataclass
class Written:
    """A day written to a file, read back: every line, and the well-formed events."""

    day: SimulatedDay
    path: Path
    records: list[dict[str, Any]]  # the file's JSON objects, in order
    truth: dict[str, Any]
    events: list[dict[str, Any]] = field(default_factory=list)  # well-formed, first copies

    def of_kind(self, kind: str, **fields: object) -> list[dict[str, Any]]:
        return [event for event in self.events if event["kind"] == kind
                and all(event.get(name) == value for name, value in fields.items())]

    def by_station(self, kind: str, **fields: object) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for event in sorted(self.of_kind(kind, **fields), key=occurred):
            grouped[event["station_id"]].append(event)
        return grouped


def occurred(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(event["occurred_at"])


def write(registry: pd.DataFrame, scenario: Scenario, folder: Path) -> Written:
    day = simulate_day(registry, ELECTION, scenario)
    path = folder / "day.jsonl"
    truth_file = day.write(path)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    seen: set[str] = set()
    events = []
    for record in records:
        value = record["value"]
        if isinstance(value, dict) and value["event_id"] not in seen:
            seen.add(value["event_id"])
            events.append(value)
    return Written(day, path, records, json.loads(truth_file.read_text(encoding="utf-8")),
                   events)


def _folder(name: str) -> Path:
    folder = tempfile.mkdtemp(prefix=f"saylau-sim-{name}-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return Path(folder)


@cache
def noisy_day() -> Written:
    """300 stations, every kind of noise at 4 %."""
    return write(REGISTRY, NOISY_SCENARIO, _folder("noisy"))


@cache
def clean_day() -> Written:
    """300 stations, no transport noise, more falsification to look at."""
    return write(REGISTRY, Scenario(seed=11, noise=NO_NOISE, falsified_share=0.1),
                 _folder("clean"))
