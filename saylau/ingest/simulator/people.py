"""Who is at which station when: observers' shifts, re-assignments, removals, pollsters.

A *stint* is one person present at one station from a check-in to a check-out. Every
check-in, check-out, hourly count, incident and protocol copy is generated from stints,
so nobody reports from a station they are not at.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from saylau.ingest.simulator.clock import HOUR, MINUTE, uniform_seconds
from saylau.ingest.simulator.scenario import Scenario
from saylau.ingest.simulator.world import World

ROLES = ("observer", "commission_member", "exit_pollster", "journalist")
OBSERVER, _, POLLSTER, JOURNALIST = range(len(ROLES))
REASONS = ("shift_end", "removed", "reassigned", "other")
SHIFT_END, REMOVED, REASSIGNED, OTHER = range(len(REASONS))
COMMISSION = "cec"  # sender of official turnout and protocols
REVIEWERS = 12  # headquarters reviewers hq-01 … hq-12
HOTSPOT_REMOVALS = 3.0  # observers are removed more often in hotspot regions

Ints = npt.NDArray[np.int64]


@dataclass
class Stints:
    station: Ints
    actor: Ints  # index into the actor names
    role: Ints  # index into ROLES
    start: Ints
    end: Ints
    reason: Ints  # index into REASONS
    closing: npt.NDArray[np.bool_]  # present at the count: sends the protocol copy

    def __len__(self) -> int:
        return int(self.station.size)

    def take(self, rows: npt.ArrayLike) -> Stints:
        return Stints(*(getattr(self, item.name)[rows] for item in fields(self)))

    @staticmethod
    def concat(parts: list[Stints]) -> Stints:
        return Stints(*(np.concatenate([getattr(part, item.name) for part in parts])
                        for item in fields(Stints)))


@dataclass
class Moves:
    """Regional leads sending observers to uncovered stations (assignment events)."""

    station: Ints  # where the observer is now (the target, for a free observer)
    actor: Ints
    lead: Ints
    target: Ints
    at: Ints


@dataclass
class People:
    stints: Stints
    moves: Moves
    names: npt.NDArray[np.object_]  # actor index -> id
    commission: int
    reviewers: Ints
    observers: int
    free_observers: int

    def remove_before_count(self, stations: Ints, at: Ints) -> Ints:
        """The observer at each of ``stations`` is expelled at ``at`` (or a minute after
        arriving, if later), before the count; returns the times of expulsion."""
        stints = self.stints
        closing = np.nonzero(stints.closing)[0]
        by_station = dict(zip(stints.station[closing].tolist(), closing.tolist(), strict=True))
        rows = np.array([by_station[station] for station in stations.tolist()], dtype=np.int64)
        stints.end[rows] = np.maximum(at, stints.start[rows] + MINUTE)
        stints.reason[rows] = REMOVED
        stints.closing[rows] = False
        return stints.end[rows]


def build_people(world: World, scenario: Scenario, rng: np.random.Generator) -> People:
    fixed = [COMMISSION, *(f"hq-{k:02d}" for k in range(1, REVIEWERS + 1)),
             *(f"lead-{code}" for code in world.region_codes)]
    next_actor = len(fixed)
    primary, shifts = _observers(world, scenario, rng, next_actor)
    covered = np.zeros(world.n, dtype=bool)
    covered[primary.station] = True
    next_actor += len(primary) + len(shifts)
    movers, free, moves, new_stints = _deployments(world, scenario, rng, primary, covered,
                                                   next_actor, 1 + REVIEWERS)
    next_actor += free
    observer_stints = Stints.concat([movers, shifts, new_stints])
    _remove_some(world, scenario, rng, observer_stints)
    n_observers = next_actor - len(fixed)
    pollsters = _visitors(world, rng, scenario.exitpoll_share, POLLSTER, next_actor)
    journalists = _visitors(world, rng, scenario.journalist_share, JOURNALIST,
                            next_actor + len(pollsters))
    names = np.array(fixed + _ids("obs", n_observers) + _ids("poll", len(pollsters))
                     + _ids("press", len(journalists)), dtype=object)
    return People(Stints.concat([observer_stints, pollsters, journalists]), moves, names,
                  commission=0, reviewers=np.arange(1, 1 + REVIEWERS), observers=n_observers,
                  free_observers=free)


def _ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{number:06d}" for number in range(1, count + 1)]


def _closing_end(world: World, rng: np.random.Generator, station: Ints) -> Ints:
    """Observers at the count leave after the protocol is signed and copied."""
    return world.signed_at[station] + uniform_seconds(rng, 5 * MINUTE, 30 * MINUTE,
                                                      station.size)


def _observers(world: World, scenario: Scenario, rng: np.random.Generator,
               first_actor: int) -> tuple[Stints, Stints]:
    """One observer at each covered station; at some a second one takes over mid-day."""
    opens, closes = world.clock.opens, world.clock.closes
    station = np.nonzero(rng.random(world.n) < world.coverage[world.region])[0]
    count = station.size
    start = opens - uniform_seconds(rng, 15 * MINUTE, 60 * MINUTE, count)
    late = rng.random(count) < scenario.late_arrival
    start[late] = opens + uniform_seconds(rng, 15 * MINUTE, 3 * HOUR, int(late.sum()))
    handover = (opens + closes) // 2 + uniform_seconds(rng, -HOUR, HOUR, count)
    shift = (rng.random(count) < scenario.shift_change) & (start < handover - HOUR)
    end = np.where(shift, handover, _closing_end(world, rng, station))
    primary = Stints(station, first_actor + np.arange(count), np.full(count, OBSERVER),
                     start, end, np.full(count, SHIFT_END), ~shift)
    taken = np.nonzero(shift)[0]
    second = Stints(station[taken], first_actor + count + np.arange(taken.size),
                    np.full(taken.size, OBSERVER),
                    handover[taken] + uniform_seconds(rng, 2 * MINUTE, 30 * MINUTE, taken.size),
                    _closing_end(world, rng, station[taken]), np.full(taken.size, SHIFT_END),
                    np.ones(taken.size, dtype=bool))
    return primary, second


def _deployments(world: World, scenario: Scenario, rng: np.random.Generator,
                 primary: Stints, covered: npt.NDArray[np.bool_], first_actor: int,
                 first_lead: int) -> tuple[Stints, int, Moves, Stints]:
    """Leads send free observers, and a few moved ones, to uncovered stations of their region.

    Returns the primary stints (movers' shortened), the number of free observers, the
    assignments and the new stints at the target stations.
    """
    opens = world.clock.opens
    uncovered = rng.permutation(np.nonzero(~covered)[0])
    uncovered = uncovered[np.argsort(world.region[uncovered], kind="stable")]
    movable = rng.permutation(np.nonzero(primary.closing & (primary.start < opens + 2 * HOUR))[0])
    movable = movable[np.argsort(world.region[primary.station[movable]], kind="stable")]
    n_regions = len(world.region_codes)
    # Both lists are grouped by region: where each region's part begins and ends.
    target_bounds = np.searchsorted(world.region[uncovered], np.arange(n_regions + 1))
    mover_bounds = np.searchsorted(world.region[primary.station[movable]],
                                   np.arange(n_regions + 1))
    stations = np.bincount(world.region, minlength=n_regions)
    free_targets, mover_rows, mover_targets = [], [], []
    for region in range(n_regions):
        targets = uncovered[target_bounds[region]:target_bounds[region + 1]]
        candidates = movable[mover_bounds[region]:mover_bounds[region + 1]]
        n_free = min(targets.size, rng.binomial(int(stations[region]), scenario.reserve))
        n_moved = min(targets.size - n_free, rng.binomial(candidates.size,
                                                          scenario.reassignment))
        free_targets.append(targets[:n_free])
        mover_targets.append(targets[n_free:n_free + n_moved])
        mover_rows.append(candidates[:n_moved])
    free_at = np.concatenate(free_targets)
    rows = np.concatenate(mover_rows)
    moved_to = np.concatenate(mover_targets)
    free_actor = first_actor + np.arange(free_at.size)
    free_sent = uniform_seconds(rng, opens + HOUR, opens + 7 * HOUR, free_at.size)
    moved_sent = np.maximum(uniform_seconds(rng, opens + 2 * HOUR, opens + 7 * HOUR, rows.size),
                            primary.start[rows] + 30 * MINUTE)
    primary = primary.take(np.arange(len(primary)))  # a copy: shorten the movers' stints
    primary.end[rows] = moved_sent + uniform_seconds(rng, 2 * MINUTE, 10 * MINUTE, rows.size)
    primary.reason[rows] = REASSIGNED
    primary.closing[rows] = False
    target = np.concatenate([free_at, moved_to])
    actor = np.concatenate([free_actor, primary.actor[rows]])
    sent = np.concatenate([free_sent, moved_sent])
    arrive = sent + uniform_seconds(rng, 20 * MINUTE, 90 * MINUTE, target.size)
    moves = Moves(np.concatenate([free_at, primary.station[rows]]), actor,
                  first_lead + world.region[target], target, sent)
    arrived = Stints(target, actor, np.full(target.size, OBSERVER), arrive,
                     _closing_end(world, rng, target), np.full(target.size, SHIFT_END),
                     np.ones(target.size, dtype=bool))
    return primary, int(free_at.size), moves, arrived


def _remove_some(world: World, scenario: Scenario, rng: np.random.Generator,
                 stints: Stints) -> None:
    """Expel some observers during the day (a movers' old stint is left alone)."""
    opens, closes = world.clock.opens, world.clock.closes
    chance = scenario.removal * np.where(world.hotspot[world.region[stints.station]],
                                         HOTSPOT_REMOVALS, 1.0)
    low = np.maximum(stints.start + 30 * MINUTE, opens + HOUR)
    high = np.minimum(stints.end, closes) - 10 * MINUTE
    chosen = (rng.random(len(stints)) < chance) & (low < high) & (stints.reason == SHIFT_END)
    rows = np.nonzero(chosen)[0]
    stints.end[rows] = uniform_seconds(rng, low[rows], high[rows])
    stints.reason[rows] = REMOVED
    stints.closing[rows] = False


def _visitors(world: World, rng: np.random.Generator, share: float, role: int,
              first_actor: int) -> Stints:
    """Exit pollsters (all day, larger stations) or journalists (an hour or two)."""
    opens, closes = world.clock.opens, world.clock.closes
    count = min(world.n, round(share * world.n))
    if role == POLLSTER:
        count = max(count, 1 if share > 0 else 0)
        # Weighted by size, without replacement: the largest log(u) / weight (Efraimidis).
        keys = np.log(rng.random(world.n)) / world.registered
        station = np.sort(np.argpartition(-keys, count - 1)[:count]) if count else \
            np.array([], dtype=np.int64)
        start = opens - uniform_seconds(rng, 0, 30 * MINUTE, count)
        end = closes + uniform_seconds(rng, 5 * MINUTE, 30 * MINUTE, count)
        reason = SHIFT_END
    else:
        station = np.sort(rng.choice(world.n, size=count, replace=False))
        start = uniform_seconds(rng, opens + HOUR, closes - 2 * HOUR, count)
        end = start + uniform_seconds(rng, 30 * MINUTE, 2 * HOUR, count)
        reason = OTHER
    return Stints(station.astype(np.int64), first_actor + np.arange(count),
                  np.full(count, role), start, end, np.full(count, reason),
                  np.zeros(count, dtype=bool))
