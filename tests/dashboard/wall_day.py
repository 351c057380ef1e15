"""A small, known election day for the wall, station page and time-travel tests.

Its events go through the worker's real steps (validation, enrichment, the warehouse
sink, the alert rules) into a real warehouse; ``KnownDay`` keeps what was sent so tests
can work out every figure independently of the warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from saylau.cli.runtime import station_index
from saylau.core.settings import Settings
from saylau.core.validation import DayWindow
from saylau.geo.registry import synthetic_registry
from saylau.streams.alerting import AlertMonitor, Thresholds
from saylau.streams.batch import Message, RecentIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse.client import Warehouse, create_schema
from saylau.warehouse.queries import load_stations
from tests.integration.events import TZ, at, encode, event

HOT_REGION, QUIET_REGION = "KAZ011", "KAZ002"
PROTOCOL_OPTIONS = {"amanat": 0, "auyl": 0, "against_all": 0}


@dataclass
class KnownDay:
    registry: pd.DataFrame
    events: list[dict] = field(default_factory=list)

    def stations(self, region: str) -> list[str]:
        return self.registry.loc[self.registry["region_code"] == region, "station_id"].tolist()

    def voters(self, station_id: str) -> int:
        row = self.registry[self.registry["station_id"] == station_id]
        return int(row["registered_voters"].iloc[0])

    def add(self, kind: str, station_id: str, when: str, observer: str = "obs-1",
            **fields: object) -> dict:
        message = event(kind, station_id, when, observer, **fields)
        self.events.append(message)
        return message

    def ballots(self, as_of: dt.datetime, source: str = "observer_count") -> int:
        """National ballots as of a moment: each station's newest report of the source."""
        newest: dict[str, tuple[dt.datetime, int]] = {}
        for e in self.events:
            when = dt.datetime.fromisoformat(e["occurred_at"])
            if e["kind"] != "turnout" or e.get("source", "observer_count") != source \
                    or when > as_of:
                continue
            if e["station_id"] not in newest or newest[e["station_id"]][0] < when:
                newest[e["station_id"]] = (when, int(e["ballots_issued"]))
        return sum(ballots for _when, ballots in newest.values())

    def incidents(self, as_of: dt.datetime) -> list[dict]:
        return [e for e in self.events if e["kind"] == "incident"
                and dt.datetime.fromisoformat(e["occurred_at"]) <= as_of]

    def covered(self, as_of: dt.datetime) -> set[str]:
        """Stations whose observers' newest check event by ``as_of`` is a check-in."""
        newest: dict[tuple[str, str], tuple[dt.datetime, str]] = {}
        for e in self.events:
            when = dt.datetime.fromisoformat(e["occurred_at"])
            if e["kind"] in ("checkin", "checkout") and when <= as_of:
                key = (e["station_id"], e["observer_id"])
                if key not in newest or newest[key][0] < when:
                    newest[key] = (when, e["kind"])
        return {station for (station, _o), (_w, kind) in newest.items() if kind == "checkin"}


def local(hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.fromisoformat(at(hour, minute)).astimezone(TZ)


def build_day() -> KnownDay:
    """Check-ins from 07:30, observer counts at 09:00, 11:00 and 13:00, official counts at
    10:00 and 12:00, a burst of incidents in one region at 09:30 (reviewed at 11:00), later
    incidents elsewhere, one observer removed, exit polls and both protocols at one station."""
    day = KnownDay(synthetic_registry(n_stations=200, total_voters=200_000, seed=11))
    hot, quiet = day.stations(HOT_REGION), day.stations(QUIET_REGION)
    for number, station in enumerate(hot + quiet[:3]):
        day.add("checkin", station, at(7, 30), f"obs-{number}", role="observer")
        voters = day.voters(station)
        for hour, share in ((9, 10), (11, 25), (13, 40)):
            ballots = voters * (share + number % 5) // 100
            day.add("turnout", station, at(hour), f"obs-{number}", ballots_issued=ballots)
        for hour, share in ((10, 15), (12, 30)):
            day.add("turnout", station, at(hour), f"obs-{number}", source="official",
                    ballots_issued=voters * share // 100)
    burst = [day.add("incident", hot[i % len(hot)], at(9, 30 + i), f"obs-{i}",
                     category=category, severity=2)
             for i, category in enumerate(["carousel_voting", "carousel_voting",
                                           "employer_pressure", "ballot_stuffing",
                                           "carousel_voting", "vote_buying"])]
    for incident, verdict in zip(burst[:4], ["verified", "verified", "rejected", "verified"],
                                 strict=True):
        day.add("review", incident["station_id"], at(11), "hq-1",
                incident_id=incident["event_id"], verdict=verdict, reviewer_id="hq-1")
    for i in range(3):
        day.add("incident", quiet[i], at(13, 15 + i), f"obs-q{i}", category="admin_resource",
                severity=1)
    day.add("checkout", hot[1], at(14), "obs-1", role="observer", reason="removed")
    add_station_story(day, hot[0])
    return day


def add_station_story(day: KnownDay, station: str) -> None:
    """Exit-poll batches and both protocols (which disagree) at one station."""
    for hour, (a, b, against) in ((15, (20, 10, 3)), (17, (30, 12, 5))):
        day.add("exitpoll", station, at(hour), "obs-0", window_start=at(hour - 1),
                window_end=at(hour), interviews=a + b + against,
                choices={"amanat": a, "auyl": b, "against_all": against})
    registered = day.voters(station)
    for source, amanat in (("observer_copy", 300), ("official", 420)):
        day.add("protocol", station, at(20, 40), "obs-0", source=source,
                registered=registered, ballots_received=registered, ballots_issued=600,
                ballots_cast=600, invalid=10,
                votes={"amanat": amanat, "auyl": 590 - amanat, "against_all": 0})


def load_day(warehouse: Warehouse, day: KnownDay) -> None:
    """Store the day as the worker would: batch processing, the sink, then the alert rules."""
    create_schema(warehouse)
    load_stations(warehouse, day.registry)
    settings = Settings()
    batch = [Message("test", 0, offset, encode(value))
             for offset, value in enumerate(day.events)]
    window = DayWindow.for_election(settings.election_date, settings.tz)
    result = process_batch(batch, station_index(day.registry), window, RecentIds(),
                           dt.datetime.now(dt.UTC))
    assert not result.rejects, result.rejects
    sink = WarehouseSink(warehouse)
    sink.write(result)
    monitor = AlertMonitor(warehouse, day.registry, settings.election().opens_at,
                           Thresholds(burst_incidents=5))
    sink.write_alerts(monitor.judge(result.events))
