"""What a simulated day contains: the knobs, with realistic defaults. Data, not code."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class NoiseRates:
    """Transport noise, each a share of the day's events (drawn independently per event).

    - ``duplicate``: the message is sent again, 5 s to 15 min later (same bytes, same id);
    - ``late``: the message is delivered 10 min to 3 h after it occurred (phone offline);
    - ``out_of_order``: the message is overtaken by the station's next event;
    - ``malformed``: a truncated or garbled copy is sent first, then the good one is retried.
    """

    duplicate: float = 0.01
    late: float = 0.01
    out_of_order: float = 0.01
    malformed: float = 0.002

    def __post_init__(self) -> None:
        for item in fields(self):
            rate = getattr(self, item.name)
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{item.name} rate must be in [0, 1), got {rate}")

    def as_dict(self) -> dict[str, float]:
        return {item.name: getattr(self, item.name) for item in fields(self)}


NO_NOISE = NoiseRates(0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Scenario:
    """The seed and the shape of the day. Rates are per station unless said otherwise."""

    seed: int = 7
    noise: NoiseRates = field(default_factory=NoiseRates)
    # Ground truth: turnout and votes.
    turnout_mean: tuple[float, float] = (0.50, 0.72)  # range of the regional mean turnout
    turnout_spread: float = 0.07  # station-to-station standard deviation
    against_all_share: float = 0.06
    leader_decay: float = 0.6  # each party on the ballot gets this much of the one before
    # Falsification: share of stations, and the mix of kinds among them.
    falsified_share: float = 0.03
    falsification_mix: tuple[float, float, float] = (0.5, 0.3, 0.2)  # stuffing, rewrite, removal
    # The forensics benchmark's finer kinds (variants.VARIANTS, in that order); empty = the
    # three kinds above, drawn as they always were (days of existing seeds stay identical).
    variant_mix: tuple[float, ...] = ()
    honest_oddities: float = 0.0  # stations with tiny size, ~100 % turnout or an observer typo
    # Voters added to the lists on the day (lists.py), a mean share of the registered; 0 = the
    # protocol's list is the registry's (days of existing seeds stay identical).
    day_additions: float = 0.0
    # Observers.
    coverage: tuple[float, float] = (0.55, 0.95)  # range of the regional coverage
    poor_coverage: tuple[float, float] = (0.10, 0.30)  # range in the badly covered regions
    poor_regions: float = 0.15  # share of regions that are badly covered
    late_arrival: float = 0.08  # observers who arrive after opening
    shift_change: float = 0.20  # stations where a second observer takes over mid-day
    removal: float = 0.015  # observers expelled during the day (x3 in hotspot regions)
    reserve: float = 0.02  # free observers per station, sent to uncovered stations
    reassignment: float = 0.005  # observers moved from a covered station to an uncovered one
    missed_report: float = 0.08  # hourly turnout counts an observer fails to send
    # Incidents and their review.
    hotspot_regions: float = 0.2  # share of regions with more incidents and falsification
    incident_rate: float = 0.12  # incidents per observed station-day (x3 in hotspots)
    employer_towns: int = 8  # towns with large employers (employer-pressure clusters)
    employer_radius_km: float = 25.0
    reviewed: float = 0.6  # share of incidents headquarters reviews
    # Other people at stations.
    exitpoll_share: float = 0.03  # stations with an exit pollster
    exitpoll_response: float = 0.3  # voters leaving who agree to an interview
    journalist_share: float = 0.005

    def __post_init__(self) -> None:
        if abs(sum(self.falsification_mix) - 1.0) > 1e-9:
            raise ValueError("falsification_mix must sum to 1")
        if self.variant_mix and abs(sum(self.variant_mix) - 1.0) > 1e-9:
            raise ValueError("variant_mix must sum to 1")
        if not 0.0 <= self.day_additions < 0.5:
            raise ValueError("day_additions must be in [0, 0.5)")
        if not 0.0 <= self.honest_oddities < 1.0:
            raise ValueError("honest_oddities must be in [0, 1)")
