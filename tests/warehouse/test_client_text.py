"""Warehouse text helpers: URLs, SQL scripts, the database name and driver placeholders."""

import re
import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from saylau.core.contract import Turnout
from saylau.warehouse.client import (
    SCHEMA_PATH,
    WarehouseError,
    WarehouseUrl,
    parse_warehouse_url,
    split_statements,
    with_database,
)
from saylau.warehouse.server_engine import driver_placeholders

# --- parse_warehouse_url ------------------------------------------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("chdb://data/warehouse", WarehouseUrl("chdb", path="data/warehouse")),
    ("chdb:///tmp/saylau/wh", WarehouseUrl("chdb", path="/tmp/saylau/wh")),
    ("chdb://./wh", WarehouseUrl("chdb", path="./wh")),
    ("chdb://wh", WarehouseUrl("chdb", path="wh")),
    ("chdb:///tmp/wh?db=election_2026", WarehouseUrl("chdb", path="/tmp/wh",
                                                      database="election_2026")),
    ("chdb:///tmp/my%20wh", WarehouseUrl("chdb", path="/tmp/my wh")),
    ("clickhouse://ch.example.org:9440/saylau_test",
     WarehouseUrl("clickhouse", host="ch.example.org", port=9440, database="saylau_test")),
    ("clickhouse://reader@127.0.0.1:19000/t_0a1b2c",
     WarehouseUrl("clickhouse", host="127.0.0.1", port=19000, user="reader",
                  database="t_0a1b2c")),
    ("clickhouse://ch", WarehouseUrl("clickhouse", host="ch")),
    ("clickhouse://ch/", WarehouseUrl("clickhouse", host="ch")),
    ("clickhouse://ops%40team@ch/db", WarehouseUrl("clickhouse", host="ch", user="ops@team",
                                                   database="db")),
    ("clickhouse://CH.Example:9000/Saylau", WarehouseUrl("clickhouse", host="ch.example",
                                                         database="Saylau")),
    ("clickhouse://ch1:9000/saylau?cluster=saylau&alt_hosts=ch2:9000,ch3,10.0.0.4:9001",
     WarehouseUrl("clickhouse", host="ch1", cluster="saylau",
                  alt_hosts=("ch2:9000", "ch3", "10.0.0.4:9001"))),
    ("clickhouse://ch1/saylau?alt_hosts=ch2:9000", WarehouseUrl("clickhouse", host="ch1",
                                                                alt_hosts=("ch2:9000",))),
])
def test_warehouse_url_is_parsed(url, expected):
    assert parse_warehouse_url(url) == expected


def test_default_warehouse_url_is_chdb_in_the_data_folder():
    spec = parse_warehouse_url("chdb://data/warehouse")
    assert (spec.engine, spec.path, spec.database) == ("chdb", "data/warehouse", "saylau")


@pytest.mark.parametrize("url", [
    "",
    "data/warehouse",
    "postgres://db.example/saylau",
    "http://ch:8123/saylau",
    "chdb://",
    "clickhouse://",
    "clickhouse:///saylau",
    "clickhouse://ch/bad-name",
    "clickhouse://ch/a/b",
    "clickhouse://ch/1st",
    "clickhouse://ch/saylau;DROP",
    "chdb:///tmp/wh?db=bad-name",
    "chdb:///tmp/wh?db=",
    "chdb:///tmp/wh?db=x%3BDROP",
    "clickhouse://ch/saylau?cluster=bad-name",
    "clickhouse://ch/saylau?cluster=x%3BDROP",
    "clickhouse://ch/saylau?alt_hosts=ch2:9000;DROP",
    "clickhouse://ch/saylau?alt_hosts=ch2:port",
])
def test_bad_warehouse_url_raises_warehouse_error(url):
    with pytest.raises(WarehouseError):
        parse_warehouse_url(url)


def test_bad_scheme_error_says_which_urls_work():
    with pytest.raises(WarehouseError, match=r"chdb://DIR or clickhouse://"):
        parse_warehouse_url("mysql://x/y")


@pytest.mark.parametrize("url", ["clickhouse://ch:port/saylau", "clickhouse://ch:99999/saylau"])
def test_bad_port_raises_warehouse_error(url):
    with pytest.raises(WarehouseError):
        parse_warehouse_url(url)


# --- with_database ------------------------------------------------------------------------


def test_with_database_names_the_database_everywhere():
    sql = "SELECT * FROM $db.events JOIN $db.stations USING station_id"
    assert with_database(sql, "election_2026") == \
        "SELECT * FROM election_2026.events JOIN election_2026.stations USING station_id"


def test_with_database_leaves_text_without_the_marker_alone():
    assert with_database("SELECT 1", "saylau") == "SELECT 1"


@pytest.mark.parametrize("database", ["", "a-b", "x; DROP TABLE y", "1abc", "a.b", "`x`"])
def test_with_database_refuses_a_name_that_is_not_an_identifier(database):
    with pytest.raises(WarehouseError):
        with_database("SELECT * FROM $db.events", database)


# --- split_statements ---------------------------------------------------------------------


def test_split_statements_drops_comments_and_blank_statements():
    script = """
-- the schema
CREATE DATABASE IF NOT EXISTS $db;

   -- an indented comment; with a semicolon
CREATE TABLE a (x UInt8)
ENGINE = Memory;
;
SELECT 1
"""
    assert split_statements(script) == [
        "CREATE DATABASE IF NOT EXISTS $db",
        "CREATE TABLE a (x UInt8)\nENGINE = Memory",
        "SELECT 1",
    ]


@pytest.mark.parametrize("script", ["", "\n\n", "-- only a comment\n", ";;;", " ;\n  -- x\n ;"])
def test_script_without_statements_gives_none(script):
    assert split_statements(script) == []


def test_split_statements_drops_a_trailing_comment_on_a_code_line():
    assert split_statements("SELECT 1 -- one\n;") == ["SELECT 1"]


def test_comment_after_the_last_semicolon_is_not_a_statement():
    script = "CREATE TABLE a (x UInt8) ENGINE = Memory; -- small on purpose\n"
    assert split_statements(script) == ["CREATE TABLE a (x UInt8) ENGINE = Memory"]


def test_schema_file_splits_into_create_statements():
    statements = split_statements(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert len(statements) > 1
    for statement in statements:
        # CREATE …, or the back-fill of the latest-state tables (INSERT … SELECT)
        assert statement.upper().startswith(("CREATE", "INSERT INTO")), statement[:60]
        assert "\n--" not in statement


# --- driver_placeholders ------------------------------------------------------------------


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT * FROM t WHERE station_id = {station_id:String}",
     "SELECT * FROM t WHERE station_id = %(station_id)s"),
    ("SELECT {a:UInt8}, {b:Nullable(String)}", "SELECT %(a)s, %(b)s"),
    # An array keeps its type: an empty [] would be Array(Nothing) on ClickHouse 18.16.
    ("WHERE has({ids:Array(String)}, id)", "WHERE has(CAST(%(ids)s AS Array(String)), id)"),
    ("WHERE t >= {since:DateTime('UTC')}", "WHERE t >= %(since)s"),
    ("WHERE m = {m:Map(String, UInt64)}", "WHERE m = %(m)s"),
    ("WHERE station_id LIKE 'KAZ%'", "WHERE station_id LIKE 'KAZ%%'"),
    ("WHERE s LIKE '%a%' AND n = {n:UInt32}", "WHERE s LIKE '%%a%%' AND n = %(n)s"),
    ("SELECT 10 % 3", "SELECT 10 %% 3"),
    ("SELECT 1", "SELECT 1"),
    ("SELECT '{not_a_param}'", "SELECT '{not_a_param}'"),
])
def test_driver_placeholders(sql, expected):
    assert driver_placeholders(sql) == expected


def test_driver_placeholders_bind_through_pyformat():
    converted = driver_placeholders("SELECT {n:UInt8} WHERE s LIKE 'a%'")
    assert converted % {"n": "7"} == "SELECT 7 WHERE s LIKE 'a%'"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=80))
def test_text_without_placeholders_survives_the_driver_formatting(sql):
    assert driver_placeholders(sql) % {} == sql


@pytest.mark.parametrize("url", ["clickhouse://writer:s3cr3t-pw@ch:9000/saylau",
                                 "clickhouse://writer:s3cr3t-pw@/saylau"])
def test_password_in_the_url_is_refused_without_repeating_it(url):
    with pytest.raises(WarehouseError, match="SAYLAU_CLICKHOUSE_PASSWORD") as raised:
        parse_warehouse_url(url)
    assert "s3cr3t-pw" not in str(raised.value)


def test_turnout_sources_stored_as_enum_are_the_contracts():
    """turnout_reports keeps the source in one byte: an event with a source the Enum lacks
    would fail its whole batch's insert, so the Enum names the contract's sources exactly."""
    schema = SCHEMA_PATH.read_text()
    declared = re.findall(r"Enum8\(([^)]*)\)", schema)
    assert len(declared) == 3  # the table, its view and the back-fill
    sources = set(typing.get_args(Turnout.model_fields["source"].annotation))
    for names in declared:
        assert set(re.findall(r"'([^']+)' = \d+", names)) == sources
