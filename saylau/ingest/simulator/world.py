"""The true election day at every station: who voted, for whom, and when the count ends.

Everything is a numpy array over stations (in registry order), drawn from the scenario's
seed, so a million stations take seconds. Falsification is applied later, on top of this.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from saylau.core.election import AGAINST_ALL, Election
from saylau.ingest.simulator.clock import HOUR, MINUTE, DayClock, turnout_curve, uniform_seconds
from saylau.ingest.simulator.scenario import Scenario

REQUIRED_COLUMNS = ("station_id", "region_code", "registered_voters", "lat", "lon")
KM_PER_DEGREE = 111.32
TAKEN_AWAY = 0.003  # ballots issued but not put in the box
INVALID = 0.015  # spoilt ballots
REGION_CONCENTRATION = 300.0  # how closely a region's vote follows the national one
STATION_CONCENTRATION = 150.0  # how closely a station's vote follows its region's
RECEIVED_RESERVE = 0.01  # ballots a station receives beyond its registered voters
RURAL = "rural"  # the registry's settlement of stations outside towns

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass
class World:
    """Per station (arrays of length n) and per region (arrays of length n_regions)."""

    clock: DayClock
    options: tuple[str, ...]  # vote options in ballot order, against_all last
    station_ids: npt.NDArray[np.object_]
    region_codes: tuple[str, ...]
    region: Ints  # index into region_codes
    lat: Floats
    lon: Floats
    registered: Ints
    received: Ints
    issued: Ints  # true ballots issued by the close
    cast: Ints  # true ballots in the box
    invalid: Ints
    votes: Ints  # (n, options) true valid votes
    signed_at: Ints  # the station's protocol is signed (count over)
    published_at: Ints  # the commission publishes the official protocol
    hotspot: npt.NDArray[np.bool_]  # per region
    coverage: Floats  # per region: chance a station has an observer
    employer_towns: list[dict[str, object]]
    near_employer: npt.NDArray[np.bool_]
    oddities: list[dict[str, Any]] = field(default_factory=list)  # honest oddities (truth)
    added: Ints | None = None  # voters added to the list on the day (lists.py), None = none

    def listed(self, station: Ints) -> Ints:
        """Voters on the station's list at the close: the registry's plus the day's."""
        return self.registered[station] + (0 if self.added is None else self.added[station])

    @property
    def n(self) -> int:
        return int(self.registered.size)

    @property
    def leader(self) -> int:
        return 0  # the first party on the ballot is the one falsification favours

    def issued_by(self, station: Ints, seconds: Ints) -> Ints:
        """True ballots issued at ``station`` by time ``seconds`` (never decreasing)."""
        return np.floor(self.issued[station] * self.day_fraction(seconds)).astype(np.int64)

    def day_fraction(self, seconds: npt.ArrayLike) -> Floats:
        span = self.clock.closes - self.clock.opens
        return turnout_curve((np.asarray(seconds) - self.clock.opens) / span)


def build_world(registry: pd.DataFrame, election: Election, scenario: Scenario,
                rng: np.random.Generator) -> World:
    missing = [column for column in REQUIRED_COLUMNS if column not in registry.columns]
    if missing or registry.empty:
        raise ValueError(f"the registry needs stations with columns {missing or REQUIRED_COLUMNS}")
    clock = DayClock(election)
    options = (*election.parties, AGAINST_ALL)
    region_codes, region = np.unique(registry["region_code"].astype(str).to_numpy(),
                                     return_inverse=True)
    registered = registry["registered_voters"].to_numpy(dtype=np.int64)
    n_regions = len(region_codes)
    hotspot = _pick_regions(rng, n_regions, scenario.hotspot_regions)
    issued, cast, invalid = _ballots(rng, registered, region, n_regions, scenario)
    votes = _votes(rng, cast - invalid, region, n_regions, len(options), scenario)
    signed_at = uniform_seconds(rng, clock.closes + 90 * MINUTE, clock.closes + 5 * HOUR,
                                registered.size)
    published_at = signed_at + uniform_seconds(rng, 10 * MINUTE, 3 * HOUR, registered.size)
    lat = registry["lat"].to_numpy(dtype=float)
    lon = registry["lon"].to_numpy(dtype=float)
    towns, near = _employer_towns(rng, registry, registered, lat, lon, scenario)
    return World(
        clock=clock, options=options,
        station_ids=registry["station_id"].astype(str).to_numpy(dtype=object),
        region_codes=tuple(str(code) for code in region_codes), region=region.astype(np.int64),
        lat=lat, lon=lon, registered=registered,
        received=registered + np.ceil(registered * RECEIVED_RESERVE).astype(np.int64),
        issued=issued, cast=cast, invalid=invalid, votes=votes, signed_at=signed_at,
        published_at=published_at, hotspot=hotspot,
        coverage=_coverage(rng, n_regions, scenario), employer_towns=towns, near_employer=near)


def _pick_regions(rng: np.random.Generator, n_regions: int, share: float) -> npt.NDArray[np.bool_]:
    chosen = np.zeros(n_regions, dtype=bool)
    count = min(n_regions, max(1, round(share * n_regions))) if share > 0 else 0
    chosen[rng.permutation(n_regions)[:count]] = True
    return chosen


def _coverage(rng: np.random.Generator, n_regions: int, scenario: Scenario) -> Floats:
    coverage = rng.uniform(*scenario.coverage, n_regions)
    poor = _pick_regions(rng, n_regions, scenario.poor_regions) if n_regions > 2 else \
        np.zeros(n_regions, dtype=bool)
    coverage[poor] = rng.uniform(*scenario.poor_coverage, int(poor.sum()))
    return coverage


def _ballots(rng: np.random.Generator, registered: Ints, region: Ints, n_regions: int,
             scenario: Scenario) -> tuple[Ints, Ints, Ints]:
    regional = rng.uniform(*scenario.turnout_mean, n_regions)
    turnout = np.clip(regional[region] + rng.normal(0, scenario.turnout_spread, region.size),
                      0.2, 0.92)
    issued = np.rint(registered * turnout).astype(np.int64)
    cast = issued - rng.binomial(issued, TAKEN_AWAY)
    invalid = rng.binomial(cast, INVALID)
    return issued, cast, invalid


def national_shares(n_options: int, scenario: Scenario) -> Floats:
    """The expected vote: parties decay geometrically in ballot order, then against_all."""
    weights = scenario.leader_decay ** np.arange(n_options - 1)
    parties = (1 - scenario.against_all_share) * weights / weights.sum()
    return np.append(parties, scenario.against_all_share)


def _votes(rng: np.random.Generator, valid: Ints, region: Ints, n_regions: int,
           n_options: int, scenario: Scenario) -> Ints:
    national = national_shares(n_options, scenario)
    regional = rng.dirichlet(REGION_CONCENTRATION * national, n_regions)
    shape = np.maximum(STATION_CONCENTRATION * regional[region], 1e-3)
    station = rng.gamma(shape)
    station /= station.sum(axis=1, keepdims=True)
    return rng.multinomial(valid, station).astype(np.int64)


def _employer_towns(rng: np.random.Generator, registry: pd.DataFrame, registered: Ints,
                    lat: Floats, lon: Floats, scenario: Scenario
                    ) -> tuple[list[dict[str, object]], npt.NDArray[np.bool_]]:
    """A few towns around large employers: stations near them see employer pressure."""
    names = registry["settlement"].astype(str).to_numpy() if "settlement" in registry else None
    weights = registered.astype(float)
    if names is not None and (names != RURAL).any():
        weights[names == RURAL] = 0.0  # towns, not countryside
    count = min(scenario.employer_towns, int((weights > 0).sum()))
    centres = rng.choice(registered.size, size=count, replace=False,
                         p=weights / weights.sum()) if count else np.array([], int)
    near = np.zeros(registered.size, dtype=bool)
    radius = scenario.employer_radius_km / KM_PER_DEGREE
    towns = []
    for centre in sorted(centres.tolist()):
        dx = (lon - lon[centre]) * np.cos(np.radians(lat[centre]))
        around = dx * dx + (lat - lat[centre]) ** 2 <= radius * radius
        near |= around
        towns.append({"name": str(names[centre]) if names is not None else
                      str(registry["station_id"].iloc[centre]),
                      "lat": float(lat[centre]), "lon": float(lon[centre]),
                      "radius_km": scenario.employer_radius_km, "stations": int(around.sum())})
    return towns, near
