"""The ``saylau`` command. Every subcommand has ``--help``; arguments override SAYLAU_* ."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from saylau.cli.export_cmd import add_export_parser, run_export
from saylau.core.settings import Settings, load_settings

log = logging.getLogger("saylau")


def _common(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (override SAYLAU_* variables)")
    group.add_argument("--kafka-bootstrap",
                       help="external Kafka host:port[,host:port] (SAYLAU_KAFKA_BOOTSTRAP)")
    group.add_argument("--warehouse", help="chdb://DIR or clickhouse://[user@]host:port/db "
                                           "(SAYLAU_WAREHOUSE)")
    group.add_argument("--data-dir", type=Path, help="data folder (SAYLAU_DATA_DIR)")
    group.add_argument("--registry", type=Path, help="station registry CSV (SAYLAU_REGISTRY)")
    group.add_argument("--log-level", choices=["debug", "info", "warning", "error"],
                       help="SAYLAU_LOG_LEVEL")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saylau", description="Saylau: real-time election-day monitoring for observers.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run everything on one machine (broker, worker, "
                                        "warehouse, dashboard)")
    _common(up)
    up.add_argument("--simulate", action="store_true", help="feed a simulated election day")
    up.add_argument("--speed", type=float, help="simulated seconds per real second "
                                                "(SAYLAU_SIMULATE_SPEED)")
    up.add_argument("--port", type=int, help="dashboard port (SAYLAU_DASHBOARD_PORT)")
    up.add_argument("--broker-port", type=int, help="embedded broker port (SAYLAU_BROKER_PORT)")
    up.add_argument("--gateway-port", type=int, help="ingest gateway port "
                                                     "(SAYLAU_GATEWAY_PORT)")

    broker = commands.add_parser("broker", help="run the embedded Kafka-protocol broker and "
                                                "create the topics")
    _common(broker)
    broker.add_argument("--broker-port", type=int, help="SAYLAU_BROKER_PORT")

    worker = commands.add_parser("worker", help="run the stream worker (Faust)")
    _common(worker)

    dashboard = commands.add_parser("dashboard", help="serve the dashboard")
    _common(dashboard)
    dashboard.add_argument("--host", help="SAYLAU_DASHBOARD_HOST")
    dashboard.add_argument("--port", type=int, help="SAYLAU_DASHBOARD_PORT")
    dashboard.add_argument("--workers", dest="dashboard_workers", type=int, metavar="N",
                           help="serve with gunicorn, N worker processes (needs a ClickHouse "
                                "server when N > 1) (SAYLAU_DASHBOARD_WORKERS)")

    simulate = commands.add_parser("simulate", help="send (or write) a simulated election day")
    _common(simulate)

    def speed(text: str) -> float:
        return 0.0 if text.strip().lower() == "max" else float(text)

    simulate.add_argument("--speed", type=speed, help="simulated seconds per real second, e.g. "
                          "60 = 13 hours in 13 minutes; max or 0 = as fast as possible "
                          "(SAYLAU_SIMULATE_SPEED)")
    simulate.add_argument("--seed", type=int, help="SAYLAU_SIMULATE_SEED")
    simulate.add_argument("--stations", type=int, metavar="N", help="simulate a synthetic "
                          "registry of N stations (N x 1200 voters) instead of the configured one")
    where = simulate.add_mutually_exclusive_group()
    where.add_argument("--output", type=Path, metavar="FILE", help="write JSON lines (sent_at, "
                       "topic, key, value) to FILE and the ground truth to FILE's .truth.json, "
                       "instead of sending to Kafka")
    where.add_argument("--from", dest="source", type=Path, metavar="FILE",
                       help="send a day written with --output to Kafka, paced by --speed")
    for noise, meaning in (("duplicate", "sent twice"), ("late", "delivered 10 min-3 h late"),
                           ("out-of-order", "overtaken by the station's next event"),
                           ("malformed", "first sent truncated or garbled")):
        simulate.add_argument(f"--{noise}-rate", type=float, metavar="R",
                              help=f"share of events {meaning}")
    simulate.add_argument("--progress", action=argparse.BooleanOptionalAction,
                          help="progress bar on stderr (default: when stderr is a terminal)")

    from saylau.cli.stations import add_stations_parser

    add_stations_parser(commands, _common)

    from saylau.cli.gateway import add_gateway_parser

    add_gateway_parser(commands, _common)
    add_export_parser(commands, _common)

    from saylau.cli.users_cmd import add_users_parser

    add_users_parser(commands, _common)

    from saylau.cli.infra_cmd import add_infra_parser

    add_infra_parser(commands, _common)

    from saylau.cli.cases_cmd import add_cases_parser

    add_cases_parser(commands, _common)

    from saylau.cli.replay import add_replay_parser

    add_replay_parser(commands, _common)

    from saylau.cli.results_cmd import add_results_parser

    add_results_parser(commands, _common)

    sql = commands.add_parser("sql", help="run a read-only query on the warehouse, print CSV")
    _common(sql)
    sql.add_argument("query", help="SELECT … ; write $db for the database name")
    sql.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", type=_param,
                     help="bind {NAME:Type} in the query (repeatable)")
    return parser


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def settings_from_args(args: argparse.Namespace) -> Settings:
    names = set(Settings.model_fields)
    overrides = {key: value for key, value in vars(args).items() if key in names}
    if getattr(args, "speed", None) is not None:
        overrides["simulate_speed"] = args.speed
    if getattr(args, "seed", None) is not None:
        overrides["simulate_seed"] = args.seed
    if getattr(args, "port", None) is not None:
        overrides["dashboard_port"] = args.port
    if getattr(args, "host", None) is not None:
        overrides["dashboard_host"] = args.host
    return load_settings(**overrides)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = settings_from_args(args)
    except ValidationError as error:
        print(f"saylau: invalid settings:\n{_settings_errors(error)}", file=sys.stderr)
        return 2
    from saylau.cli.runtime import configure_logging

    configure_logging(settings.log_level)
    handler = COMMANDS[args.command]
    try:
        return handler(settings, args)
    except KeyboardInterrupt:
        return 130


def _settings_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        name = ".".join(str(part) for part in item["loc"])
        lines.append(f"  SAYLAU_{name.upper()}: {item['msg']}")
    return "\n".join(lines)


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.up import run_up

    if not _dashboard_secret_ok(settings):
        return 2
    run_up(settings, simulate=args.simulate)
    # Everything is stopped and stored. Leave without the interpreter's teardown: chDB's
    # static destructors crash while the dashboard's daemon thread still holds a handle.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def cmd_broker(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.runtime import prepare_topics
    from saylau.kafka.broker import EmbeddedBroker

    with EmbeddedBroker(settings.broker_port, settings.broker_bin) as broker:
        prepare_topics(settings, broker.bootstrap)
        print(f"broker ready on {broker.bootstrap} (Ctrl-C stops it)", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        signal.pause()
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.runtime import (
        load_registry,
        open_prepared_warehouse,
        prepare_topics,
    )
    from saylau.streams.app import build_app, run_worker

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    bootstrap = settings.kafka_address
    prepare_topics(settings, bootstrap)  # Kafka with auto-creation off needs them first
    registry = load_registry(settings)
    warehouse = open_prepared_warehouse(settings, registry)
    app = build_app(settings, bootstrap, warehouse, registry)
    run_worker(app, settings.log_level.replace("warning", "warn"))
    warehouse.close()
    return 0


def cmd_dashboard(settings: Settings, args: argparse.Namespace) -> int:
    if not _dashboard_secret_ok(settings):
        return 2
    if settings.dashboard_workers > 0:  # before importing the app: see saylau/cli/wsgi.py
        from saylau.cli.wsgi import serve_with_gunicorn

        return serve_with_gunicorn(settings)
    from saylau.cli.runtime import load_registry, open_prepared_warehouse
    from saylau.dashboard.app import create_dashboard

    warehouse = open_prepared_warehouse(settings, load_registry(settings))
    app = create_dashboard(settings, warehouse)
    print(f"dashboard on http://{settings.dashboard_host}:{settings.dashboard_port}/", flush=True)
    app.run(host=settings.dashboard_host, port=settings.dashboard_port, debug=False)
    return 0


def _dashboard_secret_ok(settings: Settings) -> bool:
    from saylau.dashboard.auth import AuthSetupError, check_dashboard_secret

    try:
        check_dashboard_secret(settings)
    except AuthSetupError as error:
        print(f"saylau: the dashboard refuses to start: {error}", file=sys.stderr)
        return False
    from saylau.dashboard.users import read_users

    if not read_users(settings.dashboard_users_path):
        print("saylau: no dashboard user yet, nobody can log in: saylau users add NAME "
              "--role headquarters", file=sys.stderr)
    return True


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.simulation import SimulateOptions, run_simulate

    rates = {"duplicate": args.duplicate_rate, "late": args.late_rate,
             "out_of_order": args.out_of_order_rate, "malformed": args.malformed_rate}
    options = SimulateOptions(
        stations=args.stations, output=args.output, source=args.source, progress=args.progress,
        noise={name: rate for name, rate in rates.items() if rate is not None})
    return run_simulate(settings, options, lambda: settings.kafka_address)


def cmd_cases(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.cases_cmd import run_cases

    return run_cases(settings, args)


def cmd_sql(settings: Settings, args: argparse.Namespace) -> int:
    """One read-only statement, checked before the warehouse opens, on a connection that
    is read-only itself (readonly=1): the check refuses what readonly=1 lets through (file(),
    INTO OUTFILE, several statements), the connection what the check might miss. The
    connection stops a query after SAYLAU_SQL_MAX_SECONDS or above SAYLAU_SQL_MAX_MEMORY_MB,
    limits the query's own SETTINGS cannot lift (readonly=1 forbids changing settings)."""
    from saylau.warehouse.client import (
        QueryLimits,
        WarehouseError,
        open_warehouse,
        parse_warehouse_url,
        with_database,
    )
    from saylau.warehouse.readonly import ReadOnlyViolation, check_read_only

    try:
        database = parse_warehouse_url(settings.warehouse).database
        # Checked as the engine will read it: with the database name in place of $db.
        query = check_read_only(with_database(args.query, database))
    except (ReadOnlyViolation, WarehouseError) as error:
        print(f"saylau sql: {error}", file=sys.stderr)
        return 2
    try:
        # Limits too: one careless query must not hold the warehouse's cores or memory.
        limits = QueryLimits(settings.sql_max_seconds, settings.sql_max_memory_mb * 2 ** 20)
        warehouse = open_warehouse(settings.warehouse,
                                   settings.clickhouse_password.get_secret_value(),
                                   read_only=True, limits=limits)
    except WarehouseError as error:
        print(f"saylau sql: {_first_line(error)}", file=sys.stderr)
        return 1
    try:
        frame = warehouse.query_df(query, dict(args.param))
    except WarehouseError as error:
        print(f"saylau sql: {_first_line(error)}", file=sys.stderr)
        return 1
    finally:
        warehouse.close()
    frame.to_csv(sys.stdout, index=False)
    return 0


def _first_line(error: Exception) -> str:
    """The message on one line, without the stack trace the server appends to it."""
    message = str(error).split("Stack trace:", 1)[0]
    return " ".join(line.strip() for line in message.splitlines() if line.strip())




def cmd_results(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.results_cmd import run_results

    return run_results(settings, args)


def cmd_stations(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.stations import run_stations

    return run_stations(settings, args)


def cmd_roster(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.stations import run_roster

    return run_roster(settings, args)


def cmd_gateway(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.gateway import run_gateway

    return run_gateway(settings, args)


def cmd_observers(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.gateway import run_observers

    return run_observers(settings, args)


def cmd_users(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.users_cmd import run_users

    return run_users(settings, args)


def cmd_infra(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.infra_cmd import run_infra

    return run_infra(settings, args)


def cmd_replay(settings: Settings, args: argparse.Namespace) -> int:
    from saylau.cli.replay import run_replay

    return run_replay(settings, args)


COMMANDS = {"up": cmd_up, "broker": cmd_broker, "worker": cmd_worker,
            "dashboard": cmd_dashboard, "simulate": cmd_simulate, "sql": cmd_sql,
            "stations": cmd_stations, "roster": cmd_roster, "gateway": cmd_gateway,
            "observers": cmd_observers, "users": cmd_users, "export": run_export,
            "infra": cmd_infra, "replay": cmd_replay, "cases": cmd_cases,
            "results": cmd_results}
