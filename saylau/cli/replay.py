"""``saylau replay``: re-process a past day into a fresh warehouse, or re-stream it to Kafka.

    saylau replay kafka   --into URL     every event topic from its first offset
    saylau replay archive --into URL     the raw archive of --warehouse (SAYLAU_WAREHOUSE)
    saylau replay FILE    --into URL     a day written by `saylau simulate --output`
    saylau replay archive|FILE --to-kafka --speed 60    the day again, paced 60x faster

The engine is ``saylau/streams/replay.py``; this module is the command's wiring.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from saylau.core.settings import Settings

KAFKA, ARCHIVE = "kafka", "archive"


def add_replay_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    replay = commands.add_parser("replay", help="re-process the whole event stream into a "
                                                "fresh warehouse, or re-stream a day to Kafka")
    common(replay)
    replay.add_argument("source", help="kafka (every event topic from its first offset), "
                                       "archive (the raw archive of --warehouse) or FILE "
                                       "(written by saylau simulate --output)")
    target = replay.add_mutually_exclusive_group(required=True)
    target.add_argument("--into", metavar="URL", help="the fresh warehouse to fill: "
                        "chdb://DIR[?db=NAME] or clickhouse://[user@]host:port/database")
    target.add_argument("--to-kafka", action="store_true", help="send the archive or FILE to "
                        "Kafka again, with its original pacing compressed by --speed")

    def speed(text: str) -> float:
        return 0.0 if text.strip().lower() == "max" else float(text)

    replay.add_argument("--speed", type=speed, help="with --to-kafka: seconds of the day per "
                        "real second; max or 0 = as fast as possible (SAYLAU_SIMULATE_SPEED)")
    replay.add_argument("--batch-size", dest="replay_batch_size", type=int, metavar="N",
                        help="messages per warehouse insert (SAYLAU_REPLAY_BATCH_SIZE)")
    replay.add_argument("--progress", action=argparse.BooleanOptionalAction,
                        help="progress bar on stderr (default: when stderr is a terminal)")


def run_replay(settings: Settings, args: argparse.Namespace) -> int:
    from kafka.errors import KafkaError

    from saylau.streams.replay import ReplayError
    from saylau.warehouse.client import WarehouseError

    progress = sys.stderr.isatty() if args.progress is None else args.progress
    try:
        if args.to_kafka:
            return _to_kafka(settings, args.source, progress)
        return _into_warehouse(settings, args.source, args.into, progress)
    except (ReplayError, WarehouseError, KafkaError, OSError, ValueError) as error:
        print(f"saylau replay: {error}", file=sys.stderr)
        return 2


# --- Into a fresh warehouse -------------------------------------------------------------------

def _into_warehouse(settings: Settings, source: str, into: str, progress: bool) -> int:
    from saylau.streams.replay import ReplayError

    if source == ARCHIVE:
        _check_archive_target(settings.warehouse, into)
        archive = _open(settings, settings.warehouse)
        try:
            registry = _archived_registry(archive)
            return _replay(settings, into, registry, lambda: _archive_batches(settings, archive),
                           progress)
        finally:
            archive.close()
    if source != KAFKA and not Path(source).is_file():
        raise ReplayError(f"{source}: no such file (the source is kafka, archive or a FILE)")
    from saylau.cli.runtime import load_registry

    registry = load_registry(settings)
    if source == KAFKA:
        return _replay(settings, into, registry, lambda: _kafka_batches(settings), progress)
    return _replay(settings, into, registry, lambda: _file_batches(settings, Path(source)),
                   progress)


def _replay(settings: Settings, into: str, registry: pd.DataFrame,
            batches: Callable[[], tuple[int, Iterator[Any]]], progress: bool) -> int:
    from saylau.ingest.simulator import Progress
    from saylau.streams.alerting import Thresholds
    from saylau.streams.replay import Replayer

    target = _open_fresh(settings, into, registry)
    try:
        total, stream = batches()
        bar = Progress(total, "replay") if progress else None
        replayer = Replayer(target, registry, settings.election(), Thresholds(
            settings.alert_burst_incidents, settings.alert_turnout_jump_pct,
            settings.alert_uncovered_minutes), settings.replay_judge_every)
        started = time.monotonic()
        counts = replayer.replay(stream, bar)
        if bar is not None:
            bar.close()
    finally:
        target.close()
    seconds = time.monotonic() - started
    print(f"replayed {counts} into {into} in {seconds:.1f} s "
          f"({counts.messages / max(seconds, 1e-9):,.0f} messages/s)")
    return 0


def _kafka_batches(settings: Settings) -> tuple[int, Iterator[Any]]:
    from saylau.streams.replay import KafkaSource

    source = KafkaSource(settings.kafka_address, settings.topic_prefix, settings.replay_batch_size)

    def batches() -> Iterator[Any]:
        try:
            yield from source.batches()
        finally:
            source.close()

    return source.total, batches()


def _archive_batches(settings: Settings, archive: Any) -> tuple[int, Iterator[Any]]:
    from saylau.streams.replay import ArchiveSource

    source = ArchiveSource(archive)
    return source.total, source.batches(settings.topic_prefix, settings.replay_batch_size)


def _file_batches(settings: Settings, path: Path) -> tuple[int, Iterator[Any]]:
    from saylau.cli.simulation import read_messages
    from saylau.streams.replay import simulated_batches

    with path.open("rb") as lines:
        total = sum(1 for line in lines if line.strip())
    return total, simulated_batches(read_messages(path), settings.topic_prefix,
                                    settings.replay_batch_size)


def _open(settings: Settings, url: str) -> Any:
    from saylau.warehouse.client import open_warehouse

    return open_warehouse(url, settings.clickhouse_password.get_secret_value())


def _open_fresh(settings: Settings, url: str, registry: pd.DataFrame) -> Any:
    """The target warehouse with the schema and the registry, refused unless it is empty."""
    from saylau.streams.replay import ReplayError
    from saylau.warehouse.client import create_schema
    from saylau.warehouse.queries import load_stations

    target = _open(settings, url)
    create_schema(target)
    filled = {table: int(target.query_df(f"SELECT count() AS n FROM $db.{table}")["n"].iloc[0])
              for table in ("events", "rejected", "alerts")}
    if any(filled.values()):
        target.close()
        held = ", ".join(f"{n} {table}" for table, n in filled.items() if n)
        raise ReplayError(f"{url} is not a fresh warehouse (it holds {held}); "
                          "replay into a new database")
    load_stations(target, registry)
    return target


def _archived_registry(archive: Any) -> pd.DataFrame:
    """The registry the live worker enriched with, as it loaded it into the warehouse."""
    from saylau.streams.replay import ReplayError
    from saylau.warehouse.queries import stations

    registry = stations(archive)
    if registry.empty:
        raise ReplayError(f"{archive.url} has no stations: is it a Saylau warehouse?")
    return registry


def _check_archive_target(source: str, into: str) -> None:
    """chDB opens one data directory per process: the replay of a chDB archive goes into
    another database of the same directory, or to a ClickHouse server."""
    from saylau.streams.replay import ReplayError
    from saylau.warehouse.client import parse_warehouse_url

    origin, target = parse_warehouse_url(source), parse_warehouse_url(into)
    if origin == target:
        raise ReplayError("--into names the archive itself; replay into a new database")
    if origin.engine == target.engine == "chdb" and \
            Path(origin.path).resolve() != Path(target.path).resolve():
        raise ReplayError(f"chDB opens one directory per process: replay the archive into "
                          f"chdb://{origin.path}?db=NEW_NAME or a clickhouse:// server")


# --- Re-streaming to Kafka ----------------------------------------------------------------------

def _to_kafka(settings: Settings, source: str, progress: bool) -> int:
    from saylau.streams.replay import ReplayError

    if source == KAFKA:
        raise ReplayError("--to-kafka re-streams the archive or a FILE, not Kafka itself")
    if source == ARCHIVE:
        sent = _archive_to_kafka(settings, progress)
    elif Path(source).is_file():
        from saylau.cli.simulation import send_file_to_kafka

        sent = send_file_to_kafka(settings, Path(source), settings.kafka_address,
                                  progress=progress)
    else:
        raise ReplayError(f"{source}: no such file (the source is archive or a FILE)")
    print(f"sent {sent} messages to Kafka ({settings.topic_prefix}.*)")
    return 0


def _archive_to_kafka(settings: Settings, progress: bool) -> int:
    """The archive in the order the worker received it, paced by those times."""
    from saylau.ingest.simulator import Progress, SimulatedMessage, feed
    from saylau.kafka.producer import EventProducer
    from saylau.streams.replay import ArchiveSource, archive_as_simulated

    archive = _open(settings, settings.warehouse)
    try:
        source = ArchiveSource(archive)
        bar = Progress(source.total, "send") if progress else None
        speed = settings.simulate_speed if settings.simulate_speed > 0 else float("inf")
        with EventProducer(settings.kafka_address, settings.topic_prefix) as producer:
            def send(message: SimulatedMessage) -> None:
                producer.send_raw(f"{settings.topic_prefix}.{message.topic_suffix}",
                                  message.key, message.value)

            sent = feed(archive_as_simulated(source.messages()), send, speed, progress=bar)
        if bar is not None:
            bar.close()
        return sent
    finally:
        archive.close()


