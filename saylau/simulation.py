"""Feed a simulated election day to Kafka or to a file."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pandas as pd

from ingest.producer import EventProducer
from ingest.simulator import DayPlan, SimulatedMessage, feed, simulate_day
from saylau.settings import Settings

log = logging.getLogger(__name__)


def day_plan(settings: Settings) -> DayPlan:
    return DayPlan(date=settings.election_date, tz=settings.tz, polls_open=settings.polls_open,
                   polls_close=settings.polls_close, seed=settings.simulate_seed)


def simulate_to_file(settings: Settings, registry: pd.DataFrame, path: Path) -> int:
    messages = simulate_day(registry, day_plan(settings))
    with path.open("w", encoding="utf-8") as out:
        for message in messages:
            record = {"topic": f"{settings.topic_prefix}.{message.topic_suffix}",
                      "key": message.key, "value": message.value.decode("utf-8", "replace")}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(messages)


def simulate_to_kafka(settings: Settings, registry: pd.DataFrame, bootstrap: str,
                      stop: threading.Event | None = None) -> int:
    messages = simulate_day(registry, day_plan(settings))
    log.info("simulated day: %d messages, fed at %gx", len(messages), settings.simulate_speed)
    stop = stop or threading.Event()
    with EventProducer(bootstrap, settings.topic_prefix) as producer:
        def send(message: SimulatedMessage) -> None:
            producer.send_raw(f"{settings.topic_prefix}.{message.topic_suffix}", message.key,
                              message.value)

        speed = settings.simulate_speed if settings.simulate_speed > 0 else float("inf")
        return feed(messages, send, speed, should_stop=stop.is_set)


def start_simulator_thread(settings: Settings, registry: pd.DataFrame, bootstrap: str,
                           stop: threading.Event) -> threading.Thread:
    def run() -> None:
        sent = simulate_to_kafka(settings, registry, bootstrap, stop)
        log.info("simulator finished: %d messages sent", sent)

    thread = threading.Thread(target=run, name="saylau-simulator", daemon=True)
    thread.start()
    return thread
