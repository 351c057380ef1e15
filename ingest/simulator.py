"""A simulated election day (first cut): check-ins, turnout reports and incidents.

Deterministic for a seed. Observers check in around opening (coverage differs by region),
report cumulative turnout every hour along the usual daily curve, report incidents now and
then, and a few are removed. A share of messages is resent (duplicates) or mangled
(malformed), as real transports do.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ingest.contract import INCIDENT_CATEGORIES, KIND_TOPIC


@dataclass(frozen=True)
class SimulatedMessage:
    occurred_at: dt.datetime
    topic_suffix: str
    key: str
    value: bytes


@dataclass(frozen=True)
class DayPlan:
    date: dt.date
    tz: ZoneInfo
    polls_open: dt.time = dt.time(7, 0)
    polls_close: dt.time = dt.time(20, 0)
    seed: int = 7
    duplicate_rate: float = 0.01
    malformed_rate: float = 0.002

    def local(self, hours: float) -> dt.datetime:
        midnight = dt.datetime.combine(self.date, dt.time(0), tzinfo=self.tz)
        return midnight + dt.timedelta(hours=hours)

    @property
    def open_hours(self) -> float:
        return self.polls_open.hour + self.polls_open.minute / 60

    @property
    def close_hours(self) -> float:
        return self.polls_close.hour + self.polls_close.minute / 60


def turnout_curve(fraction_of_day: np.ndarray) -> np.ndarray:
    """Share of the final turnout reached at each point of the voting day (0 → 1).

    A slow morning, a late-morning peak and an evening rise: the integral of a two-hump
    intensity, normalised so the curve ends at exactly 1.
    """
    grid = np.linspace(0, 1, 201)
    intensity = 0.4 + np.exp(-((grid - 0.3) / 0.12) ** 2) + 0.7 * np.exp(-((grid - 0.8) / 0.1) ** 2)
    cumulative = np.concatenate([[0], np.cumsum((intensity[1:] + intensity[:-1]) / 2)])
    return np.interp(np.clip(fraction_of_day, 0, 1), grid, cumulative / cumulative[-1])


def _event(kind: str, station_id: str, observer_id: str, at: dt.datetime,
           rng: np.random.Generator, **fields: object) -> dict:
    event_id = uuid.UUID(bytes=rng.bytes(16), version=4)
    return {"schema": "saylau.event/1", "event_id": str(event_id), "kind": kind,
            "station_id": station_id, "observer_id": observer_id,
            "occurred_at": at.isoformat(timespec="seconds"), **fields}


def _station_events(station: pd.Series, observer_id: str, plan: DayPlan,
                    rng: np.random.Generator) -> list[dict]:
    sid, registered = station["station_id"], int(station["registered_voters"])
    checkin_at = plan.local(plan.open_hours - 0.5 + rng.uniform(0, 1.0))
    events = [_event("checkin", sid, observer_id, checkin_at, rng, role="observer")]
    final_turnout = float(np.clip(rng.normal(0.62, 0.08), 0.2, 0.95))
    removed_at = plan.local(rng.uniform(plan.open_hours + 1, plan.close_hours)) \
        if rng.random() < 0.02 else None
    span = plan.close_hours - plan.open_hours
    for hour in np.arange(plan.open_hours + 1, plan.close_hours + 1):
        at = plan.local(hour - rng.uniform(0, 0.5))
        if removed_at is not None and at >= removed_at:
            break
        share = turnout_curve(np.array([(hour - plan.open_hours) / span]))[0]
        events.append(_event("turnout", sid, observer_id, at, rng,
                             ballots_issued=int(registered * final_turnout * share),
                             source="observer_count"))
    # Incidents are reported while the observer is there: from check-in until removal.
    present_until = removed_at or plan.local(plan.close_hours)
    present_hours = (present_until - checkin_at).total_seconds() / 3600
    for _ in range(rng.poisson(0.15)):
        at = checkin_at + dt.timedelta(hours=rng.uniform(0, present_hours))
        events.append(_event("incident", sid, observer_id, at, rng,
                             category=str(rng.choice(INCIDENT_CATEGORIES)),
                             severity=int(rng.integers(1, 4)), description="simulated report"))
    if removed_at is not None:
        events.append(_event("checkout", sid, observer_id, removed_at, rng, reason="removed"))
        events.append(_event("incident", sid, observer_id, removed_at, rng,
                             category="observer_removed", severity=3,
                             description="observer removed from the station"))
    return events


def simulate_day(registry: pd.DataFrame, plan: DayPlan) -> list[SimulatedMessage]:
    """Every message of the day in time order, noise included."""
    rng = np.random.default_rng(plan.seed)
    regions = sorted(registry["region_code"].unique())
    coverage = dict(zip(regions, rng.uniform(0.45, 0.95, len(regions)), strict=True))
    events: list[dict] = []
    for number, station in enumerate(registry.itertuples(index=False)):
        if rng.random() < coverage[station.region_code]:
            row = pd.Series(station._asdict())
            events.extend(_station_events(row, f"obs-{number + 1:06d}", plan, rng))
    messages = [_as_message(event) for event in events]
    messages.extend(_noise(messages, plan, rng))
    return sorted(messages, key=lambda message: message.occurred_at)


def _as_message(event: dict) -> SimulatedMessage:
    return SimulatedMessage(dt.datetime.fromisoformat(event["occurred_at"]),
                            KIND_TOPIC[event["kind"]], event["station_id"],
                            json.dumps(event, separators=(",", ":")).encode())


def _noise(messages: list[SimulatedMessage], plan: DayPlan,
           rng: np.random.Generator) -> Iterable[SimulatedMessage]:
    for message in messages:
        draw = rng.random()
        if draw < plan.duplicate_rate:  # resent a little later, same event_id
            yield SimulatedMessage(message.occurred_at + dt.timedelta(seconds=30),
                                   message.topic_suffix, message.key, message.value)
        elif draw < plan.duplicate_rate + plan.malformed_rate:  # cut off in transit
            yield SimulatedMessage(message.occurred_at, message.topic_suffix, message.key,
                                   message.value[: len(message.value) // 2])


def feed(messages: list[SimulatedMessage], send: Callable[[SimulatedMessage], None],
         speed: float, should_stop: Callable[[], bool] = lambda: False,
         sleep: Callable[[float], None] = time.sleep) -> int:
    """Send messages paced by their event time, ``speed`` simulated seconds per real second."""
    if not messages:
        return 0
    started, first = time.monotonic(), messages[0].occurred_at
    sent = 0
    for message in messages:
        due = (message.occurred_at - first).total_seconds() / speed
        while (wait := due - (time.monotonic() - started)) > 0:
            if should_stop():
                return sent
            sleep(min(wait, 0.2))
        send(message)
        sent += 1
    return sent
