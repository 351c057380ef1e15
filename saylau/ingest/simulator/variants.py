"""More kinds of falsification, for the forensics benchmark: only when a scenario asks
(``Scenario.variant_mix``), so the three-kind days of ``falsification.py`` stay as they were.

Every variant is one of the three event-level kinds (what observers and the commission
report follows the kind), with its own way of choosing how many ballots or votes:

- ``stuffing_round_turnout``: ballots for the leader until turnout is a multiple of 5 %;
- ``stuffing_round_share_valid`` / ``_cast`` / ``_registered``: until the leader's share of
  valid votes, of ballots cast or of registered voters is a multiple of 5 % (round over that
  denominator, not over the others);
- ``stuffing_incremental``: 5-30 % of registered voters added, no round target;
- ``stuffing_extreme``: turnout pushed to 96-100 % and most other votes moved to the leader;
- ``last_hour_surge``: 5-20 % added in the last hour before the close;
- ``carousel``: 5-20 % extra voters over the day, all for the leader; observers count them;
- ``rewrite_observed`` / ``rewrite_unobserved``: the published protocol moves 10-40 % of the
  other options' votes to the leader, at a station with / without an observer at the count;
- ``observer_removed``: the observer is expelled before the count, then the protocol is
  rewritten.

Honest observer typing mistakes (one option of the copy with a digit wrong) are drawn here
too, at observed clean stations (``Scenario.honest_oddities``); the other honest oddities
change the true day (``oddities.py``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from saylau.ingest.simulator.clock import HOUR, MINUTE, uniform_seconds
from saylau.ingest.simulator.falsification import (
    HOTSPOT_WEIGHT,
    REMOVAL,
    REWRITE,
    ROUND_STEP,
    STUFFING,
    Falsification,
    _bursts,
    _move,
)
from saylau.ingest.simulator.scenario import Scenario
from saylau.ingest.simulator.world import World

VARIANTS = ("stuffing_round_turnout", "stuffing_round_share_valid", "stuffing_round_share_cast",
            "stuffing_round_share_registered", "stuffing_incremental", "stuffing_extreme",
            "last_hour_surge", "carousel", "rewrite_observed", "rewrite_unobserved",
            "observer_removed")
KIND_OF = {"rewrite_observed": REWRITE, "rewrite_unobserved": REWRITE,
           "observer_removed": REMOVAL}
NEEDS_OBSERVER = {"rewrite_observed", "observer_removed"}
NEEDS_NO_OBSERVER = {"rewrite_unobserved"}
TYPO_SHARE = 1 / 3  # of the honest oddities, the share that are observer typing mistakes

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def falsify_variants(world: World, closing_stations: Ints, scenario: Scenario,
                     rng: np.random.Generator) -> Falsification:
    station, variant = _choose(world, closing_stations, scenario, rng)
    kind = np.array([KIND_OF.get(VARIANTS[v], STUFFING) for v in variant], dtype=np.int64)
    issued, cast, votes = world.issued.copy(), world.cast.copy(), world.votes.copy()
    added = np.zeros(station.size, dtype=np.int64)
    carousel = np.zeros(world.n, dtype=np.int64)
    moved = np.zeros(station.size, dtype=np.int64)
    room = world.registered[station] - world.issued[station]
    for number, name in enumerate(VARIANTS):
        chosen = variant == number
        if not chosen.any() or kind[chosen][0] != STUFFING:
            continue
        added[chosen] = np.clip(_amount(world, votes, station[chosen], name, rng), 0,
                                room[chosen])
    is_carousel = variant == VARIANTS.index("carousel")
    carousel[station[is_carousel]] = added[is_carousel]
    stuffed = np.zeros(world.n, dtype=np.int64)
    stuffed[station[~is_carousel]] = added[~is_carousel]
    everything = stuffed + carousel
    issued += everything
    cast += everything
    votes[:, world.leader] += everything
    rewritten = kind != STUFFING
    moved[rewritten] = _move(votes, station[rewritten], world.leader,
                             rng.uniform(0.1, 0.4, int(rewritten.sum())))
    extreme = variant == VARIANTS.index("stuffing_extreme")
    moved[extreme] = _move(votes, station[extreme], world.leader,
                           rng.uniform(0.7, 1.0, int(extreme.sum())))
    removed_at = np.full(station.size, -1, dtype=np.int64)
    removals = kind == REMOVAL
    removed_at[removals] = world.clock.closes - uniform_seconds(rng, 5 * MINUTE, 40 * MINUTE,
                                                                int(removals.sum()))
    burst_start, burst_end = _bursts(world, station[(kind == STUFFING) & ~is_carousel], rng)
    surge = station[variant == VARIANTS.index("last_hour_surge")]
    burst_start[surge] = world.clock.closes - HOUR + uniform_seconds(rng, 0, 20 * MINUTE,
                                                                     surge.size)
    burst_end[surge] = world.clock.closes - uniform_seconds(rng, 0, 10 * MINUTE, surge.size)
    burst_start[station[is_carousel]] = world.clock.opens
    burst_end[station[is_carousel]] = world.clock.closes
    typo_option, typo_delta = _typos(world, closing_stations, station, scenario, rng)
    share = votes[station, world.leader] / np.maximum(votes[station].sum(axis=1), 1)
    return Falsification(station, kind, added, moved, removed_at,
                         (kind == STUFFING) & _near_round(issued[station] / np.maximum(
                             world.registered[station], 1)),
                         _near_round(share), issued, cast, votes, stuffed, burst_start,
                         burst_end, variant=variant, carousel=carousel,
                         typo_option=typo_option, typo_delta=typo_delta)


def _near_round(fraction: Floats) -> npt.NDArray[np.bool_]:
    return np.asarray(np.abs(fraction / ROUND_STEP - np.rint(fraction / ROUND_STEP)) < 0.01)


def _amount(world: World, votes: Ints, station: Ints, name: str,
            rng: np.random.Generator) -> Ints:
    """Ballots to add for the leader at ``station`` under variant ``name``."""
    registered = world.registered[station].astype(float)
    issued = world.issued[station].astype(float)
    base = rng.uniform(0.05, 0.25, station.size) * registered
    if name == "stuffing_round_turnout":
        target = np.minimum(np.ceil((issued + base) / registered / ROUND_STEP) * ROUND_STEP,
                            1.0)
        return np.rint(target * registered - issued).astype(np.int64)
    if name.startswith("stuffing_round_share_"):
        return _round_share_amount(world, votes, station, name.rsplit("_", 1)[1], base)
    if name == "stuffing_incremental":
        return np.rint(rng.uniform(0.05, 0.30, station.size) * registered).astype(np.int64)
    if name == "stuffing_extreme":
        return np.rint(rng.uniform(0.96, 1.0, station.size) * registered - issued
                       ).astype(np.int64)
    return np.rint(rng.uniform(0.05, 0.20, station.size) * registered).astype(np.int64)


def _round_share_amount(world: World, votes: Ints, station: Ints, denominator: str,
                        base: Floats) -> Ints:
    """The fewest ballots ≥ base that make leader / denominator a multiple of 5 % (ballots
    for the leader raise the leader, the valid votes and the ballots cast alike)."""
    leader = votes[station, world.leader].astype(float)[:, None]
    whole = {"valid": votes[station].sum(axis=1), "cast": world.cast[station],
             "registered": world.registered[station]}[denominator].astype(float)[:, None]
    share = np.arange(1, 20)[None, :] * ROUND_STEP
    if denominator == "registered":
        needed = share * whole - leader
    else:
        needed = (share * whole - leader) / (1 - share)
    room = (world.registered[station] - world.issued[station]).astype(float)[:, None]
    fits = (needed >= base[:, None]) & (needed <= room)
    first = np.argmax(fits, axis=1)
    amount = np.where(fits.any(axis=1), needed[np.arange(station.size), first], base)
    return np.rint(amount).astype(np.int64)


def _choose(world: World, closing_stations: Ints, scenario: Scenario,
            rng: np.random.Generator) -> tuple[Ints, Ints]:
    """Stations in a weighted random order (hotspots first more often); each variant takes
    the next ones that fit it (with or without an observer at the count)."""
    weight = np.where(world.hotspot[world.region], HOTSPOT_WEIGHT, 1.0)
    order = np.argsort(np.log(rng.random(world.n)) / weight)[::-1]
    total = min(world.n, round(scenario.falsified_share * world.n))
    counts = rng.multinomial(total, scenario.variant_mix)
    observed = np.zeros(world.n, dtype=bool)
    observed[closing_stations] = True
    taken = np.zeros(world.n, dtype=bool)
    stations, variants = [], []
    for number, name in enumerate(VARIANTS):
        fits = ~taken[order]
        if name in NEEDS_OBSERVER:
            fits &= observed[order]
        elif name in NEEDS_NO_OBSERVER:
            fits &= ~observed[order]
        chosen = order[fits][:int(counts[number])]
        taken[chosen] = True
        stations.append(chosen)
        variants.append(np.full(chosen.size, number, dtype=np.int64))
    station, variant = np.concatenate(stations), np.concatenate(variants)
    ascending = np.argsort(station)
    return station[ascending], variant[ascending]


def _typos(world: World, closing_stations: Ints, falsified: Ints, scenario: Scenario,
           rng: np.random.Generator) -> tuple[Ints, Ints]:
    """One option of the observer's copy with one digit wrong, at clean observed stations."""
    option = np.full(world.n, -1, dtype=np.int64)
    delta = np.zeros(world.n, dtype=np.int64)
    candidates = np.setdiff1d(np.unique(closing_stations), falsified)
    count = min(candidates.size, round(scenario.honest_oddities * TYPO_SHARE * world.n))
    chosen = rng.permutation(candidates)[:count]
    option[chosen] = rng.integers(0, world.votes.shape[1], chosen.size)
    value = world.votes[chosen, option[chosen]]
    digits = np.maximum(np.floor(np.log10(np.maximum(value, 1))).astype(np.int64) + 1, 1)
    place = 10 ** rng.integers(0, digits)
    step = rng.integers(1, 10, chosen.size) * place
    delta[chosen] = np.where((rng.random(chosen.size) < 0.5) & (value >= step), -step, step)
    return option, delta
