"""Honest oddities in the true day, so the forensics' false flags are measured where they
are likely: only when a scenario asks (``Scenario.honest_oddities``, a share of stations).

- ``tiny_station``: 5-49 registered voters (a remote village, a ship, a polar station);
- ``closed_institution``: a hospital or a military unit, 95-100 % turnout, voting as the
  stations around it.

(The third oddity, the observer's typing mistakes on the copy, is drawn with the
falsification: ``variants._typos``.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from saylau.ingest.simulator.scenario import Scenario
from saylau.ingest.simulator.world import INVALID, TAKEN_AWAY, World

ODDITIES = ("tiny_station", "closed_institution")
SHARE_OF_ODDITIES = 1 / 3  # each of these two; the last third are observer typos


def add_oddities(world: World, scenario: Scenario, rng: np.random.Generator
                 ) -> list[dict[str, Any]]:
    """Change the true day at the chosen stations in place; returns the ground truth."""
    count = round(scenario.honest_oddities * SHARE_OF_ODDITIES * world.n)
    chosen = rng.permutation(world.n)[:2 * count]
    tiny, closed = chosen[:count], chosen[count:]
    turnout = world.issued / np.maximum(world.registered, 1)
    world.registered = world.registered.copy()  # a read-only view of the registry
    world.registered[tiny] = rng.integers(5, 50, tiny.size)
    world.received[tiny] = world.registered[tiny] + 1
    target = turnout.copy()
    target[closed] = rng.uniform(0.95, 1.0, closed.size)
    station = np.concatenate([tiny, closed])
    issued = np.rint(world.registered[station] * target[station]).astype(np.int64)
    cast = issued - rng.binomial(issued, TAKEN_AWAY)
    invalid = rng.binomial(cast, INVALID)
    shares = world.votes[station] / np.maximum(world.votes[station].sum(axis=1, keepdims=True), 1)
    shares = np.where(shares.sum(axis=1, keepdims=True) > 0, shares, 1 / shares.shape[1])
    world.issued[station], world.cast[station], world.invalid[station] = issued, cast, invalid
    world.votes[station] = rng.multinomial(cast - invalid, shares)
    return [{"station_id": str(world.station_ids[s]), "kind": kind}
            for kind, group in zip(ODDITIES, (tiny, closed), strict=True)
            for s in sorted(group.tolist())]
