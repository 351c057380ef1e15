"""`saylau export [--as-of TIME] [--out DIR]`: one media snapshot bundle, now.

Also ``start_scheduled_exports``, which ``saylau up`` calls to export every
SAYLAU_EXPORT_INTERVAL_SECONDS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from saylau.settings import Settings


def add_export_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    export = commands.add_parser(
        "export", help="write a media snapshot bundle (summary, CSV, GeoJSON, maps, report, "
                       "checksums) and point `latest` at it")
    common(export)
    export.add_argument("--as-of", dest="as_of_text", metavar="TIME",
                        help="data as of this time: ISO 8601 (no offset = the election's time "
                             "zone) or HH:MM on the election day; default: the latest report, "
                             "never later than now")
    export.add_argument("--out", dest="export_dir", type=Path,
                        help="export folder (SAYLAU_EXPORT_DIR, default DATA_DIR/exports)")


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
    from dashboard.export.bundle import Exporter
    from dashboard.export.manifest import verify_bundle
    from saylau.runtime import load_registry, open_prepared_warehouse

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
                                   settings.registry_path)
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
    from dashboard.export.bundle import Exporter
    from dashboard.export.schedule import start_export_thread

    if settings.export_interval_seconds <= 0:
        return None
    exporter = Exporter.create(warehouse, settings.election(), settings.export_path,
                               settings.registry_path)
    return start_export_thread(exporter, settings.export_interval_seconds, stop)
