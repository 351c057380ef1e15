"""``saylau results import FILE``: the commission's per-station results, as published.

Reads a CSV or XLSX publication through a mapping of its column headers, checks every row
(saylau/ingest/results/checks.py) and, only if every row is valid (or with ``--keep-valid``,
the valid ones), sends each station's figures as an official ``protocol`` event to Kafka and
waits until the broker acknowledged all of them. Problems are printed one a line with their
sheet, row and column as the file shows them; nothing is sent if any is an error, and the
exit code is then 1. Texts are in the language of the terminal (LC_ALL, LC_MESSAGES, LANG).
docs/results-import.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from saylau.core import i18n
from saylau.core.contract import topic_for
from saylau.core.i18n import N_
from saylau.core.settings import Settings
from saylau.core.validation import DayWindow

DEFAULT_ACTOR = "cec-import"
ACTOR = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # the contract's ActorId
PUBLICATION = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # Protocol.publication, not empty
MAX_PROBLEMS_SHOWN = 500  # the rest are counted: a file wrong throughout floods nobody


def language() -> str:
    """The terminal's language, as the C library reads it, if Saylau has a catalog for it."""
    return i18n.choose_language([os.environ.get(name) for name in
                                 ("LC_ALL", "LC_MESSAGES", "LANG")],
                                i18n.available_languages())


def t(message: str, **params: object) -> str:
    """``message`` in the terminal's language, its ``{placeholders}`` filled."""
    text = i18n.gettext(message, language())
    return text.format(**params) if params else text


def number(value: int) -> str:
    return i18n.number(value, language())


def add_results_parser(commands: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """Add ``results import`` to the ``saylau`` subcommands."""
    from saylau.cli.stations import _settings_options

    results = commands.add_parser("results", help=t(N_("import the commission's published "
                                                       "per-station results")))
    common(results)
    actions = results.add_subparsers(dest="results_command", required=True, metavar="ACTION")
    importer = actions.add_parser(
        "import", help=t(N_("check a CSV or XLSX results publication and send its stations' "
                            "figures as official protocols")),
        description=t(N_("Every row is checked; each problem is printed with its sheet, row "
                         "and column. Nothing is imported if any row has an error, unless "
                         "--keep-valid.")))
    importer.add_argument("file", type=Path, help=t(N_("the publication, .csv or .xlsx")))
    importer.add_argument("--mapping", type=Path, metavar="FILE",
                          help=t(N_("TOML or JSON mapping of the publication's column headers "
                                    "to Saylau's fields (default: the CEC-style headers)")))
    importer.add_argument("--keep-valid", action="store_true",
                          help=t(N_("import the valid rows even if others have errors")))
    importer.add_argument("--publication", metavar="ID",
                          help=t(N_("the publication's id (default: pub- and the start of the "
                                    "file's SHA-256)")))
    importer.add_argument("--published-at", metavar="TIME",
                          help=t(N_("when the commission published it, ISO 8601 with a UTC "
                                    "offset (default: now)")))
    importer.add_argument("--by", default=DEFAULT_ACTOR, metavar="ACTOR",
                          help=t(N_("who imports it (the events' observer_id, default "
                                    "{actor})"), actor=DEFAULT_ACTOR))
    importer.add_argument("--dry-run", action="store_true",
                          help=t(N_("check and report, send nothing")))
    importer.add_argument("--progress", action=argparse.BooleanOptionalAction,
                          help=t(N_("progress bar on stderr (default: when stderr is a "
                                    "terminal)")))
    _settings_options(importer, common)


def run_results(settings: Settings, args: argparse.Namespace) -> int:
    return import_results(settings, args)


def _fail(message: str) -> int:
    print(f"saylau results import: {message}", file=sys.stderr)
    return 2


def import_results(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.ingest.results import (
        Identity,
        MappingError,
        PublicationError,
        load_mapping,
        plan_import,
        publication_id,
    )

    options = _options(args, settings)
    if isinstance(options, str):
        return _fail(options)
    occurred_at, actor = options
    if not args.file.is_file():
        return _fail(t(N_("no such file: {path}"), path=args.file))
    try:
        mapping = load_mapping(args.mapping)
    except MappingError as error:
        return _fail(t(N_("the mapping cannot be used: {error}"), error=error))
    content = args.file.read_bytes()
    identity = Identity(args.publication or publication_id(content), actor, occurred_at)
    from saylau.cli.runtime import load_registry

    registry = load_registry(settings)
    ballot = list(settings.election().options)
    try:
        plan = plan_import(args.file, content, mapping, registry, ballot, identity,
                           args.keep_valid)
    except PublicationError as error:
        return _fail(t(N_("cannot read {path}: {error}"), path=args.file, error=error))
    _print_problems(plan.problems)
    if not plan.messages:
        return _nothing_imported(plan)
    if args.dry_run:
        print(_summary(plan, identity, t(N_("dry run: nothing sent"))))
        return 0
    progress = sys.stderr.isatty() if args.progress is None else args.progress
    sent = _send(settings, plan.messages, progress)
    if isinstance(sent, str):
        return _fail(sent)
    print(_summary(plan, identity, t(N_("{sent} events sent and acknowledged to {topic}"),
                                     sent=number(sent),
                                     topic=topic_for("protocol", settings.topic_prefix))))
    return 0


def _options(args: argparse.Namespace, settings: Settings) -> tuple[dt.datetime, str] | str:
    """The publication time and the actor, or why they cannot be used."""
    if not ACTOR.match(args.by):
        return t(N_("--by must be 1-64 letters, digits, '.', '_' or '-'"))
    if args.publication is not None and not PUBLICATION.match(args.publication):
        return t(N_("--publication must be 1-64 letters, digits, '.', ':', '_' or '-'"))
    if args.published_at is None:
        moment = dt.datetime.now(dt.UTC)
    else:
        try:
            moment = dt.datetime.fromisoformat(args.published_at)
        except ValueError:
            return t(N_("--published-at is not an ISO 8601 time"))
        if moment.tzinfo is None:
            return t(N_("--published-at needs a UTC offset, e.g. 2026-03-16T09:00:00+05:00"))
    election = settings.election()
    window = DayWindow.for_election(election.date, election.tz)
    if not window.admits("protocol", moment):
        # The worker keeps protocols from the election day to a month after: it would refuse
        # every row as outside_election_day, so better not to send them at all.
        return t(N_("the publication time {time} is outside the span in which protocols are "
                    "accepted ({start} to {end} UTC), so the worker would refuse every row: "
                    "give the time with --published-at"), time=moment.isoformat(),
                 start=f"{window.start:%Y-%m-%d %H:%M}",
                 end=f"{window.results_end:%Y-%m-%d %H:%M}")
    return moment, args.by


def _print_problems(problems: list[Any]) -> None:
    gettext = lambda text: i18n.gettext(text, language())  # noqa: E731
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        print(problem.message(gettext), file=sys.stderr)
    hidden = len(problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        print(t(N_("… and {count} more problems"), count=number(hidden)), file=sys.stderr)


def _nothing_imported(plan: Any) -> int:
    print(t(N_("nothing imported: {errors} errors in {rows} rows of {stations} station rows; "
               "fix the file or import the valid rows with --keep-valid"),
            errors=number(len(plan.errors)), rows=number(plan.rows_with_errors),
            stations=number(plan.station_rows)), file=sys.stderr)
    return 1


def _summary(plan: Any, identity: Any, outcome: str) -> str:
    skipped = (t(N_("; sheets without a table, passed over: {names}"),
                 names=", ".join(plan.skipped_sheets)) if plan.skipped_sheets else "")
    return t(N_("publication {publication}, published at {time}: {stations} stations imported "
                "of {rows} station rows in {sheets} sheets; {refused} rows refused, {warnings} "
                "warnings; {outcome}{skipped}"),
             publication=identity.publication, time=identity.occurred_at.isoformat(),
             stations=number(len(plan.messages)), rows=number(plan.station_rows),
             sheets=number(len(plan.sheets)), refused=number(plan.rows_with_errors),
             warnings=number(len(plan.warnings)), outcome=outcome, skipped=skipped)


def _send(settings: Settings, messages: list[tuple[bytes, bytes]], progress: bool
          ) -> int | str:
    """How many were acknowledged, or why the sending failed."""
    from kafka.errors import KafkaError

    from saylau.ingest.simulator import Progress
    from saylau.kafka.batches import send_keyed

    bar = Progress(len(messages), t(N_("send"))) if progress else None
    try:
        sent = send_keyed(settings.kafka_address, topic_for("protocol", settings.topic_prefix),
                          messages, bar)
    except (KafkaError, OSError, TimeoutError) as error:
        return t(N_("sending to Kafka failed ({error}); importing the same file again is "
                    "safe: each station's event has the same id"),
                 error=error.__class__.__name__)
    finally:
        if bar is not None:
            bar.close()
    return sent
