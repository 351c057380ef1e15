"""One message of an election day as it travels to Kafka: the simulator writes and sends
these, and a replay reads the archive back as the same messages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class SimulatedMessage:
    sent_at: dt.datetime
    topic_suffix: str  # the topic's name after the prefix: "checkins", "turnout", …
    key: str
    value: bytes  # the event's JSON, or for a malformed message the broken text
