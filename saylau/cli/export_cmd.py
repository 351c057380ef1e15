"""`saylau export [--as-of TIME] [--out DIR]`: one media snapshot bundle, now.

`saylau export --every SECONDS` keeps running (the compose ``exporter`` service): a bundle
now and then one every SECONDS, until SIGTERM or Ctrl-C. Also ``start_scheduled_exports``,
which ``saylau up`` calls to export every SAYLAU_EXPORT_INTERVAL_SECONDS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from saylau.core.settings import Settings


def add_export_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    export = commands.add_parser(
        "export", help="write a media snapshot bundle (summary, CSV, GeoJSON, maps, report, "
                       "checksums) and point `latest` at it")
    common(export)
    when = export.add_mutually_exclusive_group()
    when.add_argument("--every", type=_positive_seconds, metavar="SECONDS",
                      help="keep running: export now, then every SECONDS, until SIGTERM or "
                           "Ctrl-C (each bundle as of the latest report)")
    when.add_argument("--as-of", dest="as_of_text", metavar="TIME",
                        help="data as of this time: ISO 8601 (no offset = the election's time "
                             "zone) or HH:MM on the election day; default: the latest report, "
                             "never later than now")
    export.add_argument("--out", dest="export_dir", type=Path,
                        help="export folder (SAYLAU_EXPORT_DIR, default DATA_DIR/exports)")


def _positive_seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, got {text!r}")
    return seconds


def parse_as_of(text: str, election_day: dt.date, tz: ZoneInfo) -> dt.datetime:
    """ISO 8601 (``2026-03-15T21:00``, ``…+05:00``, ``…Z``) or ``HH:MM`` on the election day;
    a time without an offset is the election's local time."""
    text = text.strip()
    try:
        if len(text) <= 5 and ":" in text:
            moment = dt.datetime.combine(election_day, dt.time.fromisoformat(text))
        else:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise ValueError(f"--as-of {text!r} is not a time (ISO 8601 or HH:MM)") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def run_export(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.runtime import load_registry, open_prepared_warehouse
    from saylau.exports.bundle import Exporter
    from saylau.exports.manifest import verify_bundle

    if getattr(args, "every", None):
        return run_export_loop(settings, args.every)
    election = settings.election()
    now = dt.datetime.now(dt.UTC)
    try:
        as_of = (parse_as_of(args.as_of_text, election.date, election.tz)
                 if args.as_of_text else None)
    except ValueError as error:
        print(f"saylau export: {error}", file=sys.stderr)
        return 2
    if as_of is not None and as_of > now:
        # An as-of in the future could lift the exit-poll embargo before polls close.
        print("saylau export: --as-of is in the future; a snapshot can only be of the past",
              file=sys.stderr)
        return 2
    warehouse = open_prepared_warehouse(settings, load_registry(settings))
    try:
        exporter = Exporter.create(warehouse, election, settings.export_path,
                                   settings.registry_path,
                                   forensics_threshold=settings.forensics_threshold,
                                   languages=settings.export_language_list)
        folder = exporter.export(as_of or exporter.default_as_of(now))
    finally:
        warehouse.close()
    problems = verify_bundle(folder)
    for problem in problems:
        print(f"saylau export: {folder}: {problem}", file=sys.stderr)
    print(f"wrote {folder}")
    return 1 if problems else 0


def start_scheduled_exports(settings: Settings, warehouse: Any,
                            stop: threading.Event) -> threading.Thread | None:
    """Export every SAYLAU_EXPORT_INTERVAL_SECONDS from ``saylau up`` (0 = never)."""
    from saylau.exports.bundle import Exporter
    from saylau.exports.schedule import start_export_thread

    if settings.export_interval_seconds <= 0:
        return None
    exporter = Exporter.create(warehouse, settings.election(), settings.export_path,
                               settings.registry_path,
                               forensics_threshold=settings.forensics_threshold,
                               languages=settings.export_language_list)
    return start_export_thread(exporter, settings.export_interval_seconds, stop)


def run_export_loop(settings: Settings, every_s: float) -> int:
    """Export now and every ``every_s`` seconds until SIGTERM or SIGINT; the bundle being
    written when the signal comes is finished and published first."""
    from saylau.cli.runtime import load_registry, open_prepared_warehouse
    from saylau.exports.bundle import Exporter

    warehouse = open_prepared_warehouse(settings, load_registry(settings))
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set())
                for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        exporter = Exporter.create(warehouse, settings.election(), settings.export_path,
                                   settings.registry_path,
                                   forensics_threshold=settings.forensics_threshold,
                                   languages=settings.export_language_list)
        print(f"exporting to {settings.export_path} every {every_s:g} s", flush=True)
        thread = threading.Thread(target=export_every, args=(exporter, every_s, stop),
                                  name="saylau-export", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(0.5)  # short joins: the main thread must stay free for signals
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        warehouse.close()
    print("export loop stopped", flush=True)
    return 0


def export_every(exporter: Any, every_s: float, stop: threading.Event) -> None:
    """A bundle now (the media page should not wait a whole interval), then periodically."""
    from saylau.exports.schedule import export_now, run_periodically

    try:
        export_now(exporter)
    except Exception:  # as in run_periodically: the next tick may succeed
        logging.getLogger("saylau.export").exception(
            "snapshot export failed; retrying in %.0f s", every_s)
    run_periodically(exporter, every_s, stop)
