"""Voters added to a station's list on the day, so that the protocol's "voters on the list"
is not the registry's figure: only when a scenario asks (``Scenario.day_additions``).

Honest additions are people voting away from home (absentee certificates), new residents and
voters the list missed: a small share of the registered, varying by region and station.
Carousel voters (``variants.py``) join the list the same way — a carousel needs them on it to
get ballots — which is what makes them visible in the protocol. The added voters are counted
among the true ballots issued (they come to vote), so only the list grows.
"""

from __future__ import annotations

import numpy as np

from saylau.ingest.simulator.scenario import Scenario
from saylau.ingest.simulator.world import World

REGION_SPREAD = 0.5  # regional rates range from (1 − this) to (1 + this) × the mean
STATION_SHAPE = 4.0  # gamma shape of a station's rate around its region's (CV 0.5)


def add_to_lists(world: World, scenario: Scenario, rng: np.random.Generator) -> None:
    """Draw every station's additions (``world.added``) in place."""
    mean = scenario.day_additions
    regional = mean * rng.uniform(1 - REGION_SPREAD, 1 + REGION_SPREAD, len(world.region_codes))
    rate = rng.gamma(STATION_SHAPE, regional[world.region] / STATION_SHAPE)
    added = rng.poisson(world.registered * rate)
    world.added = np.minimum(added, world.issued).astype(np.int64)  # they are among the voters
