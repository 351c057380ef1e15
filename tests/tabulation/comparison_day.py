"""A small tabulated day for the comparison tests: official publications (one superseded
by a later one), verified copies digitised from photos by two volunteers (some equal to
the official figures, some not), photo releases and a withdrawal, as contract events.

The events go through the worker's own path (validation, batch rows, the sink) into a
real warehouse (`store`), or to Kafka for a live worker (`messages`). The expected
figures are computed here from the events, never written down as constants.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from saylau.core.election import AGAINST_ALL, Election

OPTIONS = (*Election().options, )  # the default ballot, "against_all" included
VOLUNTEERS = ("volunteer-anna", "volunteer-bolat")
HEADQUARTERS_USER = "hq-lead-aigul"  # sends the day's releases


def photo_hash(station_id: str, n: int = 0) -> str:
    return hashlib.sha256(f"protocol photo {station_id} {n}".encode()).hexdigest()


@dataclass
class TabulatedDay:
    """Events of a small tabulated day over `stations` (a registry), from `base` on."""

    registry: pd.DataFrame
    base: dt.datetime
    seed: int = 5
    photo_for: Callable[[str], str] = photo_hash  # station -> the hash of its photo
    events: list[dict[str, Any]] = field(default_factory=list)
    released: set[str] = field(default_factory=set)  # photos whose latest release is 1
    withdrawn: set[str] = field(default_factory=set)  # released, then withdrawn
    superseded: str = ""  # a station whose official figures were published twice
    unverified: list[str] = field(default_factory=list)  # official, no verified copy

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        stations = self.registry.sort_values("station_id")
        by_region = stations.groupby("region_code")["station_id"].apply(list)
        chosen = [s for region in sorted(by_region.index)[:3] for s in by_region[region][:4]]
        for number, station in enumerate(chosen):
            voters = int(stations.set_index("station_id").at[station, "registered_voters"])
            official = _votes(rng, voters)
            self.official(station, official, minutes=30, publication="cec-1")
            if number % 4 == 3:
                self.unverified.append(station)
                continue
            copy = dict(official) if number % 2 == 0 else _moved(rng, official)
            photo = self.photo_for(station)
            self.verified(station, copy, photo, minutes=10)
            if number % 3 == 0:
                self.release(station, photo, True, minutes=40)
                self.released.add(photo)
            elif number % 3 == 1:
                self.release(station, photo, True, minutes=40)
                self.release(station, photo, False, minutes=45)
                self.withdrawn.add(photo)
        # A later publication of the first station supersedes the earlier one.
        self.superseded = chosen[0]
        first = next(e for e in self.events if e["station_id"] == chosen[0]
                     and e.get("source") == "official")
        self.official(chosen[0], _moved(rng, first["votes"]), minutes=50,
                      publication="cec-2")

    # --- events -----------------------------------------------------------------------
    def official(self, station: str, votes: dict[str, int], minutes: int,
                 publication: str) -> dict[str, Any]:
        return self._add("protocol", station, minutes, "hq-import", source="official",
                         publication=publication, **_figures(votes))

    def verified(self, station: str, votes: dict[str, int], photo: str,
                 minutes: int) -> dict[str, Any]:
        """A digitised copy: two volunteers' entries agreed on these figures."""
        return self._add("protocol", station, minutes, "obs-" + station[-4:],
                         source="observer_copy", **_figures(votes),
                         digitised={"photo_sha256": photo,
                                    "entry_ids": [str(uuid.uuid4()) for _ in VOLUNTEERS],
                                    "entered_by": list(VOLUNTEERS)})

    def release(self, station: str, photo: str, released: bool, minutes: int
                ) -> dict[str, Any]:
        return self._add("photo_release", station, minutes, HEADQUARTERS_USER,
                         photo_sha256=photo, released=released)

    def _add(self, kind: str, station: str, minutes: int, actor: str, **fields: Any
             ) -> dict[str, Any]:
        event = {"schema": "saylau.event/1", "event_id": str(uuid.uuid4()), "kind": kind,
                 "station_id": station, "observer_id": actor,
                 "occurred_at": (self.base + dt.timedelta(minutes=minutes)).isoformat(),
                 **fields}
        self.events.append(event)
        return event

    def stations(self) -> list[str]:
        """Every station with official figures."""
        return sorted({e["station_id"] for e in self.events if e.get("source") == "official"})

    def photo_of(self, station: str) -> str:
        return next((e["digitised"]["photo_sha256"] for e in self.events
                     if e["station_id"] == station and e.get("digitised")), "")

    @staticmethod
    def encode(event: dict[str, Any]) -> bytes:
        return json.dumps(event).encode("utf-8")

    def values(self) -> list[bytes]:
        return [self.encode(event) for event in self.events]

    def observer_ids(self) -> set[str]:
        """Every actor of the day: observers, volunteers and the headquarters user."""
        return {e["observer_id"] for e in self.events} | set(VOLUNTEERS)


def _votes(rng: random.Random, voters: int) -> dict[str, int]:
    cast = rng.randint(voters // 3, voters // 2)
    shares = [rng.random() for _ in OPTIONS]
    votes = {o: int(cast * s / sum(shares)) for o, s in zip(OPTIONS, shares, strict=True)}
    votes[AGAINST_ALL] = max(votes[AGAINST_ALL], 1)
    return votes


def _moved(rng: random.Random, votes: dict[str, int]) -> dict[str, int]:
    """The same protocol with votes moved between two options, and a few added."""
    moved = dict(votes)
    giver, taker = rng.sample([o for o in OPTIONS if moved[o] > 10], 2)
    amount = rng.randint(1, moved[giver] // 2)
    moved[giver] -= amount
    moved[taker] += amount
    moved[AGAINST_ALL] += 3
    return moved


def _figures(votes: dict[str, int]) -> dict[str, Any]:
    invalid = 7
    cast = sum(votes.values()) + invalid
    return {"registered": cast * 2, "ballots_received": cast * 2 + 10,
            "ballots_issued": cast, "ballots_cast": cast, "invalid": invalid,
            "votes": dict(votes)}
