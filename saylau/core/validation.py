"""Is a message a valid event? Pure functions: the contract, the registry and the day.

A message that fails gets a :class:`Rejection` with a machine-readable ``reason`` and a
human ``detail``. Details name fields and rules, never the values sent: a value could be
personal data typed into the wrong field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from saylau.core.contract import CITIZEN_KINDS, CitizenReport, Event, parse_event
from saylau.core.rules import DEFAULT_BALLOT, Ballot, Rejection, kind_rule

# Counting goes on through the night: reports are accepted from midnight before the
# election day until noon after it (local time).
ACCEPT_AFTER_MIDNIGHT = dt.timedelta(hours=36)
# Protocols, their digitisation and photo releases go on for weeks: the commission publishes
# (and corrects) its per-station results days later, volunteers type photos after the night.
RESULTS_KINDS = frozenset({"protocol", "protocol_entry", "photo_release"})
RESULTS_AFTER_MIDNIGHT = dt.timedelta(days=31)


@dataclass(frozen=True)
class StationInfo:
    region_code: str
    registered_voters: int


def station_index(registry: pd.DataFrame) -> dict[str, StationInfo]:
    """station_id -> what validation needs to know of it, from a registry frame."""
    return {sid: StationInfo(str(region), int(voters)) for sid, region, voters in zip(
        registry["station_id"], registry["region_code"], registry["registered_voters"],
        strict=True)}


@dataclass(frozen=True)
class DayWindow:
    """The span of event times (UTC) that belong to the election day."""

    start: dt.datetime
    end: dt.datetime

    @classmethod
    def for_election(cls, date: dt.date, tz: ZoneInfo) -> DayWindow:
        local_midnight = dt.datetime.combine(date, dt.time(0, 0), tzinfo=tz)
        start = local_midnight.astimezone(dt.UTC)
        return cls(start, start + ACCEPT_AFTER_MIDNIGHT)

    @property
    def results_end(self) -> dt.datetime:
        """Until when protocols, entries and releases (``RESULTS_KINDS``) are accepted."""
        return self.start + RESULTS_AFTER_MIDNIGHT

    def contains(self, moment: dt.datetime) -> bool:
        # In UTC first: comparing times of different zones asks each zone for its offset
        # at every comparison (pydantic's zones answer slowly), 3x slower in all.
        return self.start <= moment.astimezone(dt.UTC) < self.end

    def end_for(self, kind: str) -> dt.datetime:
        return self.results_end if kind in RESULTS_KINDS else self.end

    def admits(self, kind: str, moment: dt.datetime) -> bool:
        """``moment`` is within the span an event of ``kind`` may have."""
        return self.start <= moment.astimezone(dt.UTC) < self.end_for(kind)


# Fields whose keys are chosen by the sender (ballot options): a key may be anything,
# personal data included, so an error location stops at the field's name.
SENDER_KEYED_FIELDS = frozenset({"choices", "votes"})


def describe_validation_error(error: ValidationError, limit: int = 5) -> str:
    problems = []
    for item in error.errors(include_input=False, include_url=False)[:limit]:
        problems.append(f"{_location(item['loc'])}: {_message(item)}")
    more = error.error_count() - limit
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def _location(loc: tuple) -> str:
    parts: list[str] = []
    for part in loc:
        parts.append(str(part))
        if part in SENDER_KEYED_FIELDS:
            break
    return ".".join(parts) or "message"


def _message(item: ErrorDetails) -> str:
    if item["type"] == "union_tag_invalid":  # pydantic's text quotes the tag that was sent
        return f"kind is not one of {item.get('ctx', {}).get('expected_tags')}"
    return str(item["msg"])


def validate(raw: bytes | None, stations: Mapping[str, StationInfo], window: DayWindow,
             ballot: Ballot = DEFAULT_BALLOT) -> Event | Rejection:
    """The event in ``raw``, or why it must be rejected."""
    if not raw:
        return Rejection("empty_message", "the message has no value")
    try:
        event = parse_event(raw)
    except ValidationError as error:
        reason = "invalid_json" if _is_json_error(error) else "invalid_event"
        return Rejection(reason, describe_validation_error(error))
    return check_rules(event, stations, window, ballot) or event


def _is_json_error(error: ValidationError) -> bool:
    return any(item["type"] in {"json_invalid", "json_type"} for item in error.errors())


def check_rules(event: Event, stations: Mapping[str, StationInfo], window: DayWindow,
                ballot: Ballot = DEFAULT_BALLOT) -> Rejection | None:
    """Rules beyond the schema: known stations, the election day, then the kind's own."""
    if event.kind in CITIZEN_KINDS:
        return citizen_rule(event, stations)
    station = stations.get(event.station_id)
    if station is None:
        return Rejection("unknown_station", "station_id is not in the station registry")
    if not window.admits(event.kind, event.occurred_at):
        return Rejection("outside_election_day",
                         f"occurred_at is outside {window.start:%Y-%m-%d %H:%M}–"
                         f"{window.end_for(event.kind):%Y-%m-%d %H:%M} UTC")
    return kind_rule(event, station.registered_voters, ballot, stations.__contains__)


def citizen_rule(event: Event, stations: Mapping[str, StationInfo]) -> Rejection | None:
    """A citizen report names a region of the registry; it may tell of pressure days before
    the election, so the day's window does not apply (nor to its follow-up, for weeks)."""
    if isinstance(event, CitizenReport) and not any(
            info.region_code == event.region_code for info in stations.values()):
        return Rejection("unknown_region", "region_code is not a region of the registry")
    return None


def station_of(event: Event, stations: Mapping[str, StationInfo]) -> StationInfo:
    """What the worker enriches a valid event with: its station, or for a citizen report
    the region it names (a case update belongs to no region)."""
    if event.kind in CITIZEN_KINDS:
        return StationInfo(getattr(event, "region_code", ""), 0)
    return stations[event.station_id]
