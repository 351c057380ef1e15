"""A whole simulated election day: build it, then write it as JSON lines or hand out its
messages in sending order, a block at a time (memory stays flat for a million stations)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from saylau.core.contract import KIND_TOPIC
from saylau.core.election import Election
from saylau.core.messages import SimulatedMessage
from saylau.ingest.simulator.clock import DayClock
from saylau.ingest.simulator.encoding import Labels, Table, render, render_lines
from saylau.ingest.simulator.events import build_tables
from saylau.ingest.simulator.falsification import REMOVAL, falsify
from saylau.ingest.simulator.lists import add_to_lists
from saylau.ingest.simulator.noise import MALFORMED, Schedule, mangle, schedule
from saylau.ingest.simulator.oddities import add_oddities
from saylau.ingest.simulator.people import build_people
from saylau.ingest.simulator.scenario import Scenario
from saylau.ingest.simulator.truth import truth
from saylau.ingest.simulator.variants import falsify_variants
from saylau.ingest.simulator.world import World, build_world

BLOCK = 250_000  # messages rendered at a time
# One generator per part of the day, so changing one part leaves the others' draws alone.
WORLD, PEOPLE, FALSIFICATION, EVENTS, IDS, NOISE, ODDITIES, LISTS = range(8)


class SimulatedDay:
    def __init__(self, world: World, actors: npt.NDArray[np.object_], tables: list[Table],
                 plan: Schedule, ground_truth: dict[str, Any]) -> None:
        self.world = world
        self.tables = tables
        self.schedule = plan
        self.truth = ground_truth
        self.labels = Labels(world.station_ids, actors, world.clock.labels)

    def __len__(self) -> int:
        return len(self.schedule)

    @property
    def clock(self) -> DayClock:
        return self.world.clock

    def blocks(self, size: int = BLOCK) -> Iterator[slice]:
        for start in range(0, len(self), size):
            yield slice(start, min(start + size, len(self)))

    def chunks(self, prefix: str = "saylau", size: int = BLOCK) -> Iterator[tuple[bytes, int]]:
        """The file's bytes a block of lines at a time, with the number of lines in each."""
        for start in range(0, len(self), size):
            yield self.chunk(start, size, prefix)

    def chunk(self, start: int, size: int = BLOCK, prefix: str = "saylau") -> tuple[bytes, int]:
        """Lines ``start`` to ``start + size`` of the file, UTF-8, and how many there are."""
        topics = [f"{prefix}.{KIND_TOPIC[table.form.kind]}" for table in self.tables]
        block = slice(start, min(start + size, len(self)))
        table, row, sent, what = self._slice(block)
        out = np.empty(row.size, dtype=object)
        for number, target in enumerate(self.tables):
            chosen = np.nonzero((table == number) & (what != MALFORMED))[0]
            if chosen.size:
                out[chosen] = np.array(render_lines(target, row[chosen], self.labels,
                                                    sent[chosen], topics[number]), dtype=object)
        for position in np.nonzero(what == MALFORMED)[0].tolist():
            number = int(table[position])
            out[position] = json.dumps(
                {"sent_at": self.labels.times[sent[position]], "topic": topics[number],
                 "key": self._key(number, int(row[position])),
                 "value": self._mangled(block.start + position)}, ensure_ascii=False) + "\n"
        return "".join(out.tolist()).encode("utf-8"), int(row.size)

    def messages(self, size: int = BLOCK) -> Iterator[SimulatedMessage]:
        """Every message in sending order, as Kafka gets it."""
        moments = self._moments
        suffixes = [KIND_TOPIC[table.form.kind] for table in self.tables]
        for block in self.blocks(size):
            table, row, sent, what = self._slice(block)
            values = np.empty(row.size, dtype=object)
            for number, target in enumerate(self.tables):
                chosen = np.nonzero(table == number)[0]
                if chosen.size:
                    values[chosen] = np.array(render(target, row[chosen], self.labels),
                                              dtype=object)
            for position in np.nonzero(what == MALFORMED)[0].tolist():
                values[position] = self._mangled(block.start + position)
            for position, value in enumerate(values.tolist()):
                number, at = int(table[position]), int(sent[position])
                yield SimulatedMessage(moments[at], suffixes[number],
                                       self._key(number, int(row[position])),
                                       value.encode("utf-8"))

    def write(self, path: Path, prefix: str = "saylau",
              progress: Callable[[int], None] | None = None) -> Path:
        """Write the messages to ``path`` (JSON lines) and the truth beside it; returns
        the truth file's path."""
        truth_file = truth_path(path)
        with path.open("wb") as out:
            for text, count in self.chunks(prefix):
                out.write(text)
                if progress is not None:
                    progress(count)
        truth_file.write_text(truth_text({**self.truth, "events_file": path.name}),
                              encoding="utf-8")
        return truth_file

    def _slice(self, block: slice) -> tuple[npt.NDArray, npt.NDArray, npt.NDArray, npt.NDArray]:
        plan = self.schedule
        return plan.table[block], plan.row[block], plan.sent[block], plan.what[block]

    def _key(self, table: int, row: int) -> str:
        return str(self.world.station_ids[self.tables[table].columns["station"][row]])

    def _mangled(self, position: int) -> str:
        plan = self.schedule
        target = self.tables[int(plan.table[position])]
        text = render(target, plan.row[position:position + 1], self.labels)[0]
        return mangle(text, float(plan.mangle[position]))

    @cached_property
    def _moments(self) -> list[dt.datetime]:
        return [self.clock.datetime(second) for second in range(len(self.clock.labels))]


def truth_text(document: dict[str, Any]) -> str:
    """Indented JSON, but one line per falsified station (there may be tens of thousands)."""
    falsification = document["falsification"]
    placeholder = "@stations@"
    outline = {**document, "falsification": {**falsification, "stations": placeholder}}
    stations = ",\n".join(json.dumps(station, ensure_ascii=False)
                          for station in falsification["stations"])
    return json.dumps(outline, indent=1, ensure_ascii=False).replace(
        json.dumps(placeholder), f"[\n{stations}\n]", 1) + "\n"


def truth_path(events_path: Path) -> Path:
    """Where the ground truth of an events file goes: ``day.jsonl`` → ``day.truth.json``."""
    if events_path.name.endswith(".truth.json"):
        raise ValueError(f"{events_path} looks like a truth file, not an events file")
    return events_path.with_suffix(".truth.json")


def simulate_day(registry: pd.DataFrame, election: Election | None = None,
                 scenario: Scenario | None = None) -> SimulatedDay:
    """The election day at the registry's stations, deterministic for the scenario's seed."""
    election = election or Election()
    scenario = scenario or Scenario()

    def stream(part: int) -> np.random.Generator:
        return np.random.default_rng([scenario.seed, part])

    world = build_world(registry, election, scenario, stream(WORLD))
    if scenario.honest_oddities:
        world.oddities = add_oddities(world, scenario, stream(ODDITIES))
    if scenario.day_additions:
        add_to_lists(world, scenario, stream(LISTS))
    people = build_people(world, scenario, stream(PEOPLE))
    closing = people.stints.station[people.stints.closing]
    falsification = (falsify_variants if scenario.variant_mix else falsify)(
        world, closing, scenario, stream(FALSIFICATION))
    removal = falsification.kind == REMOVAL
    falsification.removed_at[removal] = people.remove_before_count(
        falsification.station[removal], falsification.removed_at[removal])
    tables = build_tables(world, people, falsification, scenario, stream(EVENTS), stream(IDS))
    plan = schedule(tables, scenario.noise, stream(NOISE))
    return SimulatedDay(world, people.names, tables, plan,
                        truth(world, people, falsification, tables, plan, scenario))
