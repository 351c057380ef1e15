"""``saylau simulate`` and ``saylau up --simulate``: a simulated day to Kafka or to a file.

The file holds one JSON object per line, in sending order::

    {"sent_at": "…+05:00", "topic": "saylau.turnout", "key": "KAZ001-0001", "value": {event}}

``value`` is the event exactly as sent (compact JSON); for a malformed message it is a
string holding the broken text. The ground truth goes beside it (``day.jsonl`` →
``day.truth.json``). ``--from FILE`` sends such a file to Kafka later, paced by ``sent_at``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from saylau.core.settings import Settings
from saylau.ingest.simulator import (
    NoiseRates,
    Progress,
    Scenario,
    SimulatedMessage,
    feed,
    simulate_day,
    truth_path,
)
from saylau.kafka.producer import EventProducer

log = logging.getLogger(__name__)

VOTERS_PER_STATION = 1200  # registered voters per station in a --stations registry


@dataclass(frozen=True)
class SimulateOptions:
    """What ``saylau simulate`` was asked for, beyond the settings."""

    stations: int | None = None  # a synthetic registry of this size instead of the configured
    output: Path | None = None  # write here instead of sending to Kafka
    source: Path | None = None  # send this previously written file to Kafka
    noise: dict[str, float] = field(default_factory=dict)  # NoiseRates fields to override
    progress: bool | None = None  # None: when stderr is a terminal


def scenario_for(settings: Settings, noise: dict[str, float] | None = None) -> Scenario:
    return Scenario(seed=settings.simulate_seed, noise=NoiseRates(**(noise or {})))


def registry_for(settings: Settings, stations: int | None = None) -> pd.DataFrame:
    """The configured registry, or a synthetic one of ``stations`` stations, in memory."""
    if stations is None:
        from saylau.cli.runtime import load_registry

        return load_registry(settings)
    from saylau.geo.registry import synthetic_registry

    return synthetic_registry(stations, stations * VOTERS_PER_STATION,
                              seed=settings.registry_seed)


def simulate_to_file(settings: Settings, registry: pd.DataFrame, path: Path,
                     scenario: Scenario | None = None, progress: bool = False) -> tuple[int, Path]:
    """Write the day to ``path``; returns the number of messages and the truth file."""
    day = simulate_day(registry, settings.election(), scenario or scenario_for(settings))
    bar = Progress(len(day), "simulate") if progress else None
    truth_file = day.write(path, settings.topic_prefix, bar)
    if bar is not None:
        bar.close()
    return len(day), truth_file


def simulate_to_kafka(settings: Settings, registry: pd.DataFrame, bootstrap: str,
                      stop: threading.Event | None = None, scenario: Scenario | None = None,
                      progress: bool = False) -> int:
    day = simulate_day(registry, settings.election(), scenario or scenario_for(settings))
    log.info("simulated day: %d messages (%d events), fed at %s", len(day),
             day.truth["noise"]["events"], _pace(settings))
    return _send(settings, bootstrap, day.messages(), len(day), stop, progress)


def send_file_to_kafka(settings: Settings, path: Path, bootstrap: str,
                       stop: threading.Event | None = None, progress: bool = False) -> int:
    """Send a day written by ``simulate --output`` to Kafka, paced by its ``sent_at``."""
    total = 0
    if progress:  # the bar needs the number of lines: one quick pass over the file
        with path.open("rb") as lines:
            total = sum(1 for _ in lines)
    return _send(settings, bootstrap, read_messages(path), total, stop, progress)


# A line as the simulator writes it (compact, the event object last): the event's text is
# taken as written: 3-4x faster than parsing the line and encoding the event again.
SIMULATED_LINE = re.compile(rb'\{"sent_at":"([^"\\]*)","topic":"([^"\\]*)",'
                            rb'"key":"([^"\\]*)","value":(?=\{)')


def read_messages(path: Path) -> Iterator[SimulatedMessage]:
    """The messages of a simulated-day file, as they were sent."""
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                yield _as_written(line) or _parsed(line)


def _as_written(line: bytes) -> SimulatedMessage | None:
    head = SIMULATED_LINE.match(line)
    text = line.rstrip()
    if head is None or not text.endswith(b"}}"):
        return None
    return SimulatedMessage(dt.datetime.fromisoformat(head[1].decode()),
                            head[2].decode().rsplit(".", 1)[-1], head[3].decode(),
                            text[head.end():-1])


def _parsed(line: bytes) -> SimulatedMessage:
    record = json.loads(line)
    value = record["value"]
    text = value if isinstance(value, str) else \
        json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return SimulatedMessage(dt.datetime.fromisoformat(record["sent_at"]),
                            record["topic"].rsplit(".", 1)[-1], record["key"],
                            text.encode("utf-8"))


def _pace(settings: Settings) -> str:
    return f"{settings.simulate_speed:g}x" if settings.simulate_speed > 0 else "full speed"


def _send(settings: Settings, bootstrap: str, messages: Iterator[SimulatedMessage], total: int,
          stop: threading.Event | None, progress: bool) -> int:
    stop = stop or threading.Event()
    bar = Progress(total, "send") if progress else None
    speed = settings.simulate_speed if settings.simulate_speed > 0 else float("inf")
    with EventProducer(bootstrap, settings.topic_prefix) as producer:
        def send(message: SimulatedMessage) -> None:
            producer.send_raw(f"{settings.topic_prefix}.{message.topic_suffix}", message.key,
                              message.value)

        sent = feed(messages, send, speed, should_stop=stop.is_set, progress=bar)
    if bar is not None:
        bar.close()
    return sent


def run_simulate(settings: Settings, options: SimulateOptions,
                 bootstrap: Callable[[], str]) -> int:
    """The ``saylau simulate`` command; returns the exit code."""
    progress = sys.stderr.isatty() if options.progress is None else options.progress
    try:
        if options.source is not None:
            sent = send_file_to_kafka(settings, options.source, bootstrap(), progress=progress)
            print(f"sent {sent} messages from {options.source}")
            return 0
        scenario = scenario_for(settings, options.noise)
        if options.output is not None:
            truth_path(options.output)  # refuses an events file named like a truth file
        registry = registry_for(settings, options.stations)
    except (ValueError, OSError) as error:
        print(f"saylau simulate: {error}", file=sys.stderr)
        return 2
    if options.output is not None:
        count, truth_file = simulate_to_file(settings, registry, options.output, scenario,
                                             progress)
        print(f"wrote {count} messages to {options.output}, ground truth to {truth_file}")
        return 0
    sent = simulate_to_kafka(settings, registry, bootstrap(), scenario=scenario,
                             progress=progress)
    print(f"sent {sent} messages")
    return 0


def start_simulator_thread(settings: Settings, registry: pd.DataFrame, bootstrap: str,
                           stop: threading.Event) -> threading.Thread:
    def run() -> None:
        sent = simulate_to_kafka(settings, registry, bootstrap, stop)
        log.info("simulator finished: %d messages sent", sent)

    thread = threading.Thread(target=run, name="saylau-simulator", daemon=True)
    thread.start()
    return thread
