"""The ground truth of a simulated day, as a JSON-ready dict: what was injected, where."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from saylau.ingest.simulator.encoding import Table
from saylau.ingest.simulator.falsification import KINDS, Falsification
from saylau.ingest.simulator.noise import Schedule
from saylau.ingest.simulator.people import REASONS, REMOVED, People
from saylau.ingest.simulator.scenario import Scenario
from saylau.ingest.simulator.variants import VARIANTS
from saylau.ingest.simulator.world import World

TRUTH_SCHEMA = "saylau.cli.simulation-truth/1"


def truth(world: World, people: People, falsification: Falsification, tables: list[Table],
          schedule: Schedule, scenario: Scenario) -> dict[str, Any]:
    election = world.clock.election
    return {
        "schema": TRUTH_SCHEMA,
        "seed": scenario.seed,
        "election": {"name": election.name, "date": election.date.isoformat(),
                     "timezone": election.timezone},
        "stations": world.n,
        "registered_voters": int(world.registered.sum()),
        "leader": world.options[world.leader],
        "national": {
            "true": _totals(world.options, world.registered, world.issued, world.cast,
                            world.invalid, world.votes),
            "official": _totals(world.options, world.registered, falsification.issued,
                                falsification.cast, world.invalid, falsification.votes),
        },
        "regions": _regions(world),
        "falsification": _falsification(world, falsification),
        "observers": _observers(world, people),
        "incidents": {"hotspot_regions": [code for code, hot in
                                          zip(world.region_codes, world.hotspot, strict=True)
                                          if hot],
                      "employer_towns": world.employer_towns},
        "events": _event_counts(tables),
        "noise": {"requested": scenario.noise.as_dict(), **schedule.counts},
        **({"oddities": _oddities(world, falsification)} if scenario.honest_oddities else {}),
    }


def _oddities(world: World, falsification: Falsification) -> list[dict[str, Any]]:
    typos = [] if falsification.typo_option is None else [
        {"station_id": str(world.station_ids[s]), "kind": "observer_typo"}
        for s in np.nonzero(falsification.typo_option >= 0)[0].tolist()]
    return [*world.oddities, *typos]


def _totals(options: tuple[str, ...], registered: npt.NDArray, issued: npt.NDArray,
            cast: npt.NDArray, invalid: npt.NDArray, votes: npt.NDArray) -> dict[str, Any]:
    votes_by_option = votes.sum(axis=0)
    valid = int(votes_by_option.sum())
    return {"registered": int(registered.sum()), "ballots_issued": int(issued.sum()),
            "ballots_cast": int(cast.sum()), "invalid": int(invalid.sum()),
            "turnout": int(issued.sum()) / max(int(registered.sum()), 1),
            "votes": {option: int(count) for option, count in
                      zip(options, votes_by_option, strict=True)},
            "shares": {option: int(count) / max(valid, 1) for option, count in
                       zip(options, votes_by_option, strict=True)}}


def _regions(world: World) -> dict[str, Any]:
    registered = np.bincount(world.region, world.registered, len(world.region_codes))
    issued = np.bincount(world.region, world.issued, len(world.region_codes))
    return {code: {"registered": int(registered[number]), "ballots_issued": int(issued[number]),
                   "turnout": float(issued[number] / max(registered[number], 1)),
                   "coverage": float(world.coverage[number]),
                   "hotspot": bool(world.hotspot[number])}
            for number, code in enumerate(world.region_codes)}


def _protocol(world: World, station: int, issued: npt.NDArray, cast: npt.NDArray,
              votes: npt.NDArray) -> dict[str, Any]:
    return {"ballots_issued": int(issued[station]), "ballots_cast": int(cast[station]),
            "invalid": int(world.invalid[station]),
            "votes": dict(zip(world.options, votes[station].tolist(), strict=True))}


def _falsification(world: World, falsification: Falsification) -> dict[str, Any]:
    clock = world.clock
    stations = []
    for number, station in enumerate(falsification.station.tolist()):
        removed_at = int(falsification.removed_at[number])
        stations.append({
            "station_id": str(world.station_ids[station]),
            "region_code": world.region_codes[world.region[station]],
            "kind": KINDS[falsification.kind[number]],
            **({} if falsification.variant is None else
               {"variant": VARIANTS[falsification.variant[number]]}),
            "added_ballots": int(falsification.added[number]),
            "moved_votes": int(falsification.moved[number]),
            "round_turnout": bool(falsification.round_turnout[number]),
            "round_leader_share": bool(falsification.round_share[number]),
            "observer_removed_at": clock.labels[removed_at] if removed_at >= 0 else None,
            "stuffed_between": [clock.labels[falsification.burst_start[station]],
                                clock.labels[falsification.burst_end[station]]]
            if falsification.added[number] else None,
            "true": _protocol(world, station, world.issued, world.cast, world.votes),
            "official": _protocol(world, station, falsification.issued, falsification.cast,
                                  falsification.votes),
        })
    counts = {kind: int((falsification.kind == number).sum()) for number, kind in
              enumerate(KINDS)}
    return {"counts": counts, "stations": stations}


def _observers(world: World, people: People) -> dict[str, Any]:
    stints = people.stints
    observer = stints.role == 0
    reasons = {reason: int(((stints.reason == number) & observer).sum())
               for number, reason in enumerate(REASONS)}
    return {"observers": people.observers, "free_observers": people.free_observers,
            "assignments": int(people.moves.at.size),
            "stations_covered": int(np.unique(stints.station[observer]).size),
            "stations_observed_at_count": int(stints.closing.sum()),
            "removed": int(((stints.reason == REMOVED) & observer).sum()),
            "checkouts": reasons,
            "coverage_by_region": {code: float(world.coverage[number])
                                   for number, code in enumerate(world.region_codes)}}


def _event_counts(tables: list[Table]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables:
        counts[table.form.kind] = counts.get(table.form.kind, 0) + len(table)
    return counts
