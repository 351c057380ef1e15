"""The `saylau` command: help for everything, arguments over SAYLAU_*, a read-only `sql`."""

import argparse
import os
from pathlib import Path

import pytest

from saylau.cli.main import COMMANDS, build_parser, main, settings_from_args

SUBCOMMANDS = ["up", "broker", "worker", "dashboard", "simulate", "sql", "stations", "roster",
               "gateway", "observers", "users", "export", "infra", "replay", "cases", "results"]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.upper().startswith("SAYLAU_"):
            monkeypatch.delenv(name)


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def exit_code(argv: list[str]) -> int:
    """What the shell would see: main's return value or the code argparse exits with."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else 1


def subcommand_names() -> set[str]:
    (subparsers,) = [action for action in build_parser()._actions
                     if isinstance(action, argparse._SubParsersAction)]
    return set(subparsers.choices)


def test_every_subcommand_has_a_handler():
    assert subcommand_names() == set(COMMANDS) == set(SUBCOMMANDS)


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        parse(command, "--help")
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: saylau {command}")
    assert "--warehouse" in out and "SAYLAU_" in out


def test_top_level_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as stop:
        parse("--help")
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: saylau")
    for command in SUBCOMMANDS:
        assert command in out


def test_missing_subcommand_is_a_usage_error(capsys):
    assert exit_code([]) == 2
    assert "usage: saylau" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys):
    assert exit_code(["worker", "--speed", "3"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


# --- settings_from_args -------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "field", "expected"), [
    (["up", "--speed", "600"], "simulate_speed", 600.0),
    (["simulate", "--speed", "2.5"], "simulate_speed", 2.5),
    (["up", "--port", "8123"], "dashboard_port", 8123),
    (["dashboard", "--port", "8124"], "dashboard_port", 8124),
    (["dashboard", "--host", "0.0.0.0"], "dashboard_host", "0.0.0.0"),
    (["simulate", "--seed", "42"], "simulate_seed", 42),
    (["up", "--broker-port", "19092"], "broker_port", 19092),
    (["broker", "--broker-port", "19093"], "broker_port", 19093),
    (["worker", "--kafka-bootstrap", "kafka:9092"], "kafka_bootstrap", "kafka:9092"),
    (["worker", "--warehouse", "chdb:///tmp/wh"], "warehouse", "chdb:///tmp/wh"),
    (["worker", "--data-dir", "/srv/d"], "data_dir", Path("/srv/d")),
    (["worker", "--registry", "/srv/r.csv"], "registry", Path("/srv/r.csv")),
    (["worker", "--log-level", "debug"], "log_level", "debug"),
])
def test_arguments_map_to_settings(argv, field, expected):
    assert getattr(settings_from_args(parse(*argv)), field) == expected


def test_arguments_override_the_environment(monkeypatch):
    monkeypatch.setenv("SAYLAU_DASHBOARD_PORT", "8111")
    monkeypatch.setenv("SAYLAU_SIMULATE_SPEED", "60")
    settings = settings_from_args(parse("up", "--port", "9000"))
    assert settings.dashboard_port == 9000
    assert settings.simulate_speed == 60.0  # not given: the environment stays


def test_absent_arguments_leave_defaults():
    settings = settings_from_args(parse("worker"))
    assert (settings.dashboard_port, settings.simulate_speed, settings.warehouse) == \
        (8050, 120.0, "chdb://data/warehouse")


def test_simulate_speed_zero_means_as_fast_as_possible():
    assert settings_from_args(parse("simulate", "--speed", "0")).simulate_speed == 0


# --- main: invalid settings ---------------------------------------------------------------


def test_invalid_setting_exits_2_naming_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("SAYLAU_LOG_LEVEL", "loud")
    assert exit_code(["sql", "SELECT 1"]) == 2
    assert "SAYLAU_LOG_LEVEL" in capsys.readouterr().err


def test_placeholder_password_exits_2_without_printing_it(monkeypatch, capsys):
    monkeypatch.setenv("SAYLAU_CLICKHOUSE_PASSWORD", "changeme")
    assert exit_code(["sql", "SELECT 1"]) == 2
    captured = capsys.readouterr()
    assert "SAYLAU_CLICKHOUSE_PASSWORD" in captured.err
    assert "changeme" not in captured.err + captured.out


def test_unknown_time_zone_exits_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("SAYLAU_ELECTION_TIMEZONE", "Mars/Olympus")
    assert exit_code(["sql", "--warehouse", f"chdb://{tmp_path}/wh", "SELECT 1"]) == 2
    assert "SAYLAU_ELECTION_TIMEZONE" in capsys.readouterr().err


# --- main: sql is read-only ---------------------------------------------------------------


@pytest.mark.parametrize("query", [
    "DROP TABLE x",
    "drop database saylau",
    "  TRUNCATE TABLE $db.events",
    "INSERT INTO $db.events SELECT * FROM $db.events",
    "ALTER TABLE $db.events DELETE WHERE 1",
    "CREATE TABLE x (a UInt8) ENGINE = Memory",
    "OPTIMIZE TABLE $db.events FINAL",
    "SYSTEM SHUTDOWN",
    "KILL QUERY WHERE 1",
    "RENAME TABLE a TO b",
    "-- looks harmless\nDROP TABLE x",
    "/* SELECT */ DROP TABLE x",
    "",
])
def test_sql_refuses_a_query_that_is_not_read_only_before_opening_a_warehouse(
        query, tmp_path, capsys):
    warehouse_dir = tmp_path / "wh"
    assert exit_code(["sql", "--warehouse", f"chdb://{warehouse_dir}", query]) == 2
    assert "read-only" in capsys.readouterr().err
    assert not warehouse_dir.exists()


def test_sql_param_without_equals_sign_is_a_usage_error(tmp_path, capsys):
    warehouse_dir = tmp_path / "wh"
    code = exit_code(["sql", "--warehouse", f"chdb://{warehouse_dir}", "SELECT {n:UInt8}",
                      "--param", "n"])
    assert code == 2
    assert not warehouse_dir.exists()
