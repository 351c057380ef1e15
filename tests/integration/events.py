"""Build contract events for tests, in the election day of the default settings."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from zoneinfo import ZoneInfo

ELECTION_DAY = dt.date(2026, 3, 15)
TZ = ZoneInfo("Asia/Almaty")


def at(hour: int, minute: int = 0, day: dt.date = ELECTION_DAY) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ).isoformat()


def event(kind: str, station_id: str, when: str, observer_id: str = "obs-1",
          **fields: object) -> dict:
    return {"schema": "saylau.event/1", "event_id": str(uuid.uuid4()), "kind": kind,
            "station_id": station_id, "observer_id": observer_id, "occurred_at": when,
            **fields}


def encode(message: dict) -> bytes:
    return json.dumps(message).encode("utf-8")
