"""Falsification injected on top of the true day, and the official figures that result.

Three kinds, at stations chosen by seed (more in hotspot regions):
- ``ballot_stuffing``: ballots for the leader put in the box in a burst of 30-90 minutes in
  the afternoon or evening; official turnout (and often the leader's share) lands on a round
  percentage. The protocol signed
  at the station already holds them, so an observer's copy equals the official one; only
  the observer's own hourly counts give it away.
- ``protocol_rewrite``: the commission publishes a protocol that moves votes to the
  leader; the observer's copy keeps the true count.
- ``observer_removed_before_count``: the observer is expelled shortly before the close and
  the protocol is rewritten as above; there is no observer copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from saylau.ingest.simulator.clock import MINUTE, uniform_seconds
from saylau.ingest.simulator.scenario import Scenario
from saylau.ingest.simulator.world import World

KINDS = ("ballot_stuffing", "protocol_rewrite", "observer_removed_before_count")
STUFFING, REWRITE, REMOVAL = range(len(KINDS))
HOTSPOT_WEIGHT = 3.0
ROUND_STEP = 0.05  # "round" percentages: multiples of 5 %
ROUND_TURNOUT = 0.7  # share of stuffed stations whose turnout is made round
ROUND_SHARE = 0.6  # share of falsified stations whose leader share is made round
STUFFING_STARTS = 0.4  # stuffing bursts start after this fraction of the voting day
BURST = (30 * MINUTE, 90 * MINUTE)  # how long a burst of stuffing lasts

Ints = npt.NDArray[np.int64]


@dataclass
class Falsification:
    station: Ints  # falsified stations, ascending
    kind: Ints  # index into KINDS
    added: Ints  # ballots stuffed
    moved: Ints  # votes moved to the leader
    removed_at: Ints  # when the observer was expelled (removal kind), else -1
    round_turnout: npt.NDArray[np.bool_]
    round_share: npt.NDArray[np.bool_]
    issued: Ints  # official figures for every station
    cast: Ints
    votes: Ints
    stuffed: Ints  # per station, ballots stuffed (0 at clean stations)
    burst_start: Ints  # per station, when the stuffing starts and ends (0 at clean ones)
    burst_end: Ints
    # Only when the scenario asks for falsification variants (``variants.py``); None keeps
    # the three-kind days byte-identical.
    variant: Ints | None = None  # per falsified station, index into variants.VARIANTS
    carousel: Ints | None = None  # per station, carousel voters (real people, seen by all)
    typo_option: Ints | None = None  # per station, the option the observer mistyped (-1)
    typo_delta: Ints | None = None  # per station, what the mistake added to the copy

    def official_issued_by(self, world: World, station: Ints, seconds: Ints) -> Ints:
        """Official cumulative ballots issued: the true ones plus the stuffed so far."""
        start, end = self.burst_start[station], self.burst_end[station]
        progress = np.clip((seconds - start) / np.maximum(end - start, 1), 0, 1)
        extra = np.floor(self.stuffed[station] * progress).astype(np.int64)
        return world.issued_by(station, seconds) + extra + self.carousel_by(world, station,
                                                                             seconds)

    def carousel_by(self, world: World, station: Ints, seconds: Ints) -> Ints:
        """Carousel voters who have voted by ``seconds``: they come over the day as voters
        do, and observers count them like everyone else."""
        if self.carousel is None:
            return np.zeros(np.asarray(station).shape, dtype=np.int64)
        return np.floor(self.carousel[station] * world.day_fraction(seconds)).astype(np.int64)

    def observer_copy_votes(self, world: World, station: Ints) -> Ints:
        """What the protocol signed at the station says: stuffed ballots but no rewrite."""
        votes = world.votes[station].copy()
        stuffed = np.isin(station, self.station[self.kind == STUFFING])
        votes[stuffed] = self.votes[station[stuffed]]
        if self.typo_option is not None and self.typo_delta is not None:
            typo = self.typo_option[station] >= 0
            votes[np.nonzero(typo)[0], self.typo_option[station[typo]]] += \
                self.typo_delta[station[typo]]
        return votes

    def listed(self, world: World, station: Ints) -> Ints:
        """Voters on the list at the close: carousel voters had to be added to it."""
        carousel = 0 if self.carousel is None else self.carousel[station]
        return world.listed(station) + carousel

    def observer_copy_ballots(self, world: World, station: Ints) -> tuple[Ints, Ints]:
        stuffed = self.stuffed[station]
        if self.carousel is not None:
            stuffed = stuffed + self.carousel[station]
        return world.issued[station] + stuffed, world.cast[station] + stuffed


def falsify(world: World, closing_stations: Ints, scenario: Scenario,
            rng: np.random.Generator) -> Falsification:
    """Choose the falsified stations and compute every station's official figures."""
    station, kind = _choose(world, closing_stations, scenario, rng)
    issued, cast, votes = world.issued.copy(), world.cast.copy(), world.votes.copy()
    added = _stuff(world, station[kind == STUFFING], rng)
    stuffed = np.zeros(world.n, dtype=np.int64)
    stuffed[station[kind == STUFFING]] = added
    issued += stuffed
    cast += stuffed
    votes[:, world.leader] += stuffed
    moved = np.zeros(station.size, dtype=np.int64)
    rewritten = kind != STUFFING
    moved[rewritten] = _move(votes, station[rewritten], world.leader,
                             rng.uniform(0.1, 0.4, int(rewritten.sum())))
    round_share = rng.random(station.size) < ROUND_SHARE
    moved[round_share] += _round_leader_share(votes, station[round_share], world.leader)
    removed_at = np.full(station.size, -1, dtype=np.int64)
    removals = kind == REMOVAL
    removed_at[removals] = world.clock.closes - uniform_seconds(rng, 5 * MINUTE, 40 * MINUTE,
                                                                int(removals.sum()))
    full_added = np.zeros(station.size, dtype=np.int64)
    full_added[kind == STUFFING] = added
    round_turnout = (kind == STUFFING) & _is_round(issued[station], world.registered[station])
    burst_start, burst_end = _bursts(world, station[kind == STUFFING], rng)
    return Falsification(station, kind, full_added, moved, removed_at, round_turnout,
                         round_share & _is_round(votes[station, world.leader],
                                                 votes[station].sum(axis=1)),
                         issued, cast, votes, stuffed, burst_start, burst_end)


def _bursts(world: World, stuffed: Ints, rng: np.random.Generator) -> tuple[Ints, Ints]:
    """When each stuffed station's burst starts and ends; it is over before the close."""
    clock = world.clock
    earliest = clock.opens + int(STUFFING_STARTS * (clock.closes - clock.opens))
    length = uniform_seconds(rng, *BURST, stuffed.size)
    start, end = np.zeros(world.n, dtype=np.int64), np.zeros(world.n, dtype=np.int64)
    start[stuffed] = uniform_seconds(rng, earliest, np.maximum(clock.closes - length, earliest))
    end[stuffed] = np.minimum(start[stuffed] + length, clock.closes)
    return start, end


def _choose(world: World, closing_stations: Ints, scenario: Scenario,
            rng: np.random.Generator) -> tuple[Ints, Ints]:
    """Stations in a weighted random order: stuffing anywhere, then rewrites (which need an
    observer at the count to be told apart) among the observed stations left."""
    weight = np.where(world.hotspot[world.region], HOTSPOT_WEIGHT, 1.0)
    order = np.argsort(np.log(rng.random(world.n)) / weight)[::-1]
    total = min(world.n, round(scenario.falsified_share * world.n))
    counts = rng.multinomial(total, scenario.falsification_mix)
    observed = np.zeros(world.n, dtype=bool)
    observed[closing_stations] = True
    stuffing = order[:int(counts[STUFFING])]
    rest = order[int(counts[STUFFING]):]
    candidates = rest[observed[rest]]
    n_rewrite = min(int(counts[REWRITE]), candidates.size)
    n_removal = min(int(counts[REMOVAL]), candidates.size - n_rewrite)
    if n_rewrite + n_removal < total - stuffing.size:  # too few observers: stuff instead
        stuffing = np.concatenate([stuffing, rest[~observed[rest]][
            :total - stuffing.size - n_rewrite - n_removal]])
    rewrite = candidates[:n_rewrite]
    removal = candidates[n_rewrite:n_rewrite + n_removal]
    station = np.concatenate([stuffing, rewrite, removal])
    kind = np.repeat([STUFFING, REWRITE, REMOVAL], [stuffing.size, rewrite.size, removal.size])
    ascending = np.argsort(station)
    return station[ascending], kind[ascending].astype(np.int64)


def _stuff(world: World, station: Ints, rng: np.random.Generator) -> Ints:
    """Ballots added so official turnout rises 5-25 points, often to a multiple of 5 %."""
    registered, issued = world.registered[station], world.issued[station]
    target = issued / registered + rng.uniform(0.05, 0.25, station.size)
    make_round = rng.random(station.size) < ROUND_TURNOUT
    target = np.where(make_round, np.minimum(np.ceil(target / ROUND_STEP) * ROUND_STEP, 0.95),
                      np.minimum(target, 0.97))
    added = np.rint(target * registered).astype(np.int64) - issued
    return np.clip(added, np.minimum(1, registered - issued), registered - issued)


def _move(votes: Ints, station: Ints, leader: int, fraction: npt.NDArray[np.float64]) -> Ints:
    """Move ``fraction`` of every other option's votes to the leader; returns the moves."""
    others = np.delete(np.arange(votes.shape[1]), leader)
    taken = np.floor(votes[station][:, others] * fraction[:, None]).astype(np.int64)
    votes[station[:, None], others] -= taken
    moved = taken.sum(axis=1)
    votes[station, leader] += moved
    return moved


def _round_leader_share(votes: Ints, station: Ints, leader: int) -> Ints:
    """Move more votes so the leader's share of valid votes is the next multiple of 5 %."""
    rows = votes[station]
    valid = rows.sum(axis=1)
    share = rows[:, leader] / np.maximum(valid, 1)
    target = np.minimum(np.ceil(share / ROUND_STEP - 1e-9) * ROUND_STEP, 0.95)
    needed = np.rint(target * valid).astype(np.int64) - rows[:, leader]
    others = np.delete(np.arange(votes.shape[1]), leader)
    spare = rows[:, others]
    needed = np.where((needed > 0) & (needed <= spare.sum(axis=1)), needed, 0)
    # Take from the largest other options first.
    order = np.argsort(-spare, axis=1, kind="stable")
    ranked = np.take_along_axis(spare, order, axis=1)
    before = np.cumsum(ranked, axis=1) - ranked
    take_ranked = np.clip(needed[:, None] - before, 0, ranked)
    take = np.zeros_like(spare)
    np.put_along_axis(take, order, take_ranked, axis=1)
    votes[station[:, None], others] -= take
    votes[station, leader] += needed
    return needed


def _is_round(part: Ints, whole: Ints) -> npt.NDArray[np.bool_]:
    """Within one vote of a multiple of 5 %."""
    nearest = np.rint(part / np.maximum(whole, 1) / ROUND_STEP) * ROUND_STEP * whole
    return np.abs(part - nearest) <= 1.0
