"""Incidents observers report, with regional hotspots and employer-pressure clusters, and
headquarters' reviews of them."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from saylau.core.contract import INCIDENT_CATEGORIES
from saylau.ingest.simulator.clock import HOUR, MINUTE, uniform_seconds, within_day
from saylau.ingest.simulator.encoding import Form, Table, random_uuids
from saylau.ingest.simulator.falsification import STUFFING, Falsification
from saylau.ingest.simulator.people import OBSERVER, REMOVED, People
from saylau.ingest.simulator.scenario import Scenario
from saylau.ingest.simulator.world import World

CATEGORY = {name: number for number, name in enumerate(INCIDENT_CATEGORIES)}
# How often each category is reported anywhere, and its usual severity.
BASE_WEIGHT = {"employer_pressure": 0.06, "admin_resource": 0.10, "ballot_stuffing": 0.03,
               "carousel_voting": 0.07, "vote_buying": 0.05, "observer_obstruction": 0.10,
               "secrecy_violation": 0.08, "family_voting": 0.10, "campaigning_at_station": 0.07,
               "list_irregularity": 0.10, "procedural": 0.19, "other": 0.05}
SEVERITY = {"employer_pressure": 2, "admin_resource": 2, "ballot_stuffing": 3,
            "carousel_voting": 3, "vote_buying": 2, "observer_obstruction": 2,
            "observer_removed": 3, "secrecy_violation": 2, "family_voting": 1,
            "campaigning_at_station": 1, "list_irregularity": 2, "protocol_falsification": 3,
            "procedural": 1, "other": 1}
# What observers who stay for the count report, at a rate per counted station.
AT_THE_COUNT = {"procedural": 0.45, "observer_obstruction": 0.25, "protocol_falsification": 0.2,
                "list_irregularity": 0.1}
COUNT_RATE = 0.15
NEAR_EMPLOYER = {"employer_pressure": 12.0}  # weight multipliers near large employers
HOTSPOT = {"admin_resource": 3.0, "carousel_voting": 2.0, "vote_buying": 2.0}
HOTSPOT_RATE = 3.0  # incidents per station-day in hotspot regions, relative to elsewhere
NEAR_EMPLOYER_RATE = 2.0
STUFFING_SEEN = 0.4  # an observer present while ballots are stuffed reports it
PHOTO = 0.3  # incidents with a photo
VERDICTS = (0.7, 0.2, 0.1)  # verified, rejected, duplicate

Ints = npt.NDArray[np.int64]
Columns = dict[str, npt.NDArray[Any]]


def category_weights(near_employer: bool, hotspot: bool) -> npt.NDArray[np.float64]:
    weights = np.array([BASE_WEIGHT.get(name, 0.0) for name in INCIDENT_CATEGORIES])
    for multipliers, applies in ((NEAR_EMPLOYER, near_employer), (HOTSPOT, hotspot)):
        for name, factor in multipliers.items():
            weights[CATEGORY[name]] *= factor if applies else 1.0
    return weights / weights.sum()


def incident_tables(world: World, people: People, falsification: Falsification,
                    scenario: Scenario, rng: np.random.Generator, ids: np.random.Generator,
                    forms: dict[str, Form]) -> list[Table]:
    """Incidents (without and with a photo) and the reviews of them."""
    parts = [_everyday(world, people, scenario, rng), _at_the_count(world, people, rng),
             _removals(people), _stuffing_seen(world, people, falsification, rng)]
    columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    count = columns["at"].size
    columns["event_id"] = random_uuids(ids, count)
    columns["description"] = columns["category"]
    photo = rng.random(count) < PHOTO
    plain, with_photo = np.nonzero(~photo)[0], np.nonzero(photo)[0]
    photo_columns = {name: values[with_photo] for name, values in columns.items()}
    photo_columns["photo"] = np.frombuffer(rng.bytes(32 * with_photo.size),
                                           dtype=np.uint8).reshape(-1, 32)
    reviews = _reviews(columns, people, scenario, rng)
    reviews["event_id"] = random_uuids(ids, reviews["at"].size)
    return [Table(forms["incident"], {name: values[plain] for name, values in columns.items()}),
            Table(forms["incident_photo"], photo_columns),
            Table(forms["review"], reviews)]


def _everyday(world: World, people: People, scenario: Scenario,
              rng: np.random.Generator) -> Columns:
    """Incidents at a steady rate while an observer is present, more in hotspots."""
    stints = people.stints.take(np.nonzero(people.stints.role == OBSERVER)[0])
    opens, closes = world.clock.opens, world.clock.closes
    start = np.maximum(stints.start, opens)
    end = np.minimum(stints.end, closes)
    hours = np.maximum(end - start, 0) / (closes - opens)
    near = world.near_employer[stints.station]
    hot = world.hotspot[world.region[stints.station]]
    rate = scenario.incident_rate * np.where(hot, HOTSPOT_RATE, 1.0) \
        * np.where(near, NEAR_EMPLOYER_RATE, 1.0)
    counts = rng.poisson(rate * hours)
    row = np.repeat(np.arange(len(stints)), counts)
    category = np.empty(row.size, dtype=np.int64)
    group = near[row].astype(int) + 2 * hot[row].astype(int)
    for value in range(4):
        chosen = np.nonzero(group == value)[0]
        weights = category_weights(bool(value & 1), bool(value & 2))
        category[chosen] = rng.choice(len(weights), size=chosen.size, p=weights)
    return {"station": stints.station[row], "actor": stints.actor[row],
            "at": uniform_seconds(rng, start[row], np.maximum(end[row] - 1, start[row])),
            "category": category, "severity": _severity(rng, category),
            "confirmed": np.zeros(row.size, dtype=bool)}


def _at_the_count(world: World, people: People, rng: np.random.Generator) -> Columns:
    """Observers who stay for the count report how it went, between the close and the
    signing of the protocol."""
    stints = people.stints.take(np.nonzero(people.stints.closing)[0])
    hot = world.hotspot[world.region[stints.station]]
    row = np.repeat(np.arange(len(stints)),
                    rng.poisson(COUNT_RATE * np.where(hot, HOTSPOT_RATE, 1.0)))
    names = list(AT_THE_COUNT)
    category = np.array([CATEGORY[name] for name in names])[
        rng.choice(len(names), size=row.size, p=list(AT_THE_COUNT.values()))]
    signed = world.signed_at[stints.station[row]]
    return {"station": stints.station[row], "actor": stints.actor[row],
            "at": uniform_seconds(rng, world.clock.closes, signed - 1),
            "category": category, "severity": _severity(rng, category),
            "confirmed": np.zeros(row.size, dtype=bool)}


def _severity(rng: np.random.Generator, category: Ints) -> Ints:
    """The category's usual severity, one step up or down now and then."""
    base = np.array([SEVERITY[name] for name in INCIDENT_CATEGORIES])[category]
    step = rng.choice([-1, 0, 1], size=category.size, p=[0.2, 0.6, 0.2])
    return np.clip(base + step, 1, 3).astype(np.int64)


def _removals(people: People) -> Columns:
    """A removed observer reports their own removal as it happens."""
    stints = people.stints
    rows = np.nonzero(stints.reason == REMOVED)[0]
    return {"station": stints.station[rows], "actor": stints.actor[rows],
            "at": stints.end[rows],
            "category": np.full(rows.size, CATEGORY["observer_removed"]),
            "severity": np.full(rows.size, 3), "confirmed": np.ones(rows.size, dtype=bool)}


def _stuffing_seen(world: World, people: People, falsification: Falsification,
                   rng: np.random.Generator) -> Columns:
    """Observers present while ballots are stuffed report it, some of the time."""
    stints = people.stints
    stuffed = np.zeros(world.n, dtype=bool)
    stuffed[falsification.station[falsification.kind == STUFFING]] = True
    low = np.maximum(stints.start, falsification.burst_start[stints.station])
    high = np.minimum(stints.end, falsification.burst_end[stints.station]) - 1
    rows = np.nonzero(stuffed[stints.station] & (stints.role == OBSERVER) & (low < high)
                      & (rng.random(len(stints)) < STUFFING_SEEN))[0]
    return {"station": stints.station[rows], "actor": stints.actor[rows],
            "at": uniform_seconds(rng, low[rows], high[rows]),
            "category": np.full(rows.size, CATEGORY["ballot_stuffing"]),
            "severity": np.full(rows.size, 3), "confirmed": np.ones(rows.size, dtype=bool)}


def _reviews(incidents: Columns, people: People, scenario: Scenario,
             rng: np.random.Generator) -> Columns:
    """Headquarters verifies or rejects a share of incidents within two hours."""
    count = incidents["at"].size
    rows = np.nonzero(rng.random(count) < scenario.reviewed)[0]
    verdict = rng.choice(len(VERDICTS), size=rows.size, p=VERDICTS)
    verdict[incidents["confirmed"][rows]] = 0
    return {"station": incidents["station"][rows],
            "actor": rng.choice(people.reviewers, size=rows.size),
            "at": within_day(incidents["at"][rows]
                             + uniform_seconds(rng, 5 * MINUTE, 2 * HOUR, rows.size)),
            "incident_id": incidents["event_id"][rows], "verdict": verdict.astype(np.int64)}
