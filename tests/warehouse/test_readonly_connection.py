"""A read-only warehouse connection (what `saylau sql` uses) writes nothing on either engine,
even with a statement the text check would have refused; normal connections still write."""

from __future__ import annotations

import uuid

import pytest

from saylau.warehouse.client import WarehouseError, open_warehouse

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def filled(warehouse_url: str) -> str:
    wh = open_warehouse(warehouse_url)
    try:
        wh.command("CREATE DATABASE IF NOT EXISTS $db")
        wh.command("CREATE TABLE $db.t (a UInt8) ENGINE = MergeTree() ORDER BY a")
        wh.command("INSERT INTO $db.t SELECT number + 1 FROM numbers(2)")
    finally:
        wh.close()
    return warehouse_url


def rows(warehouse_url: str) -> int:
    wh = open_warehouse(warehouse_url)
    try:
        return int(wh.query_df("SELECT count() AS n FROM $db.t")["n"][0])
    finally:
        wh.close()


@pytest.mark.parametrize("statement", [
    "TRUNCATE TABLE $db.t",
    "DROP TABLE $db.t",
    "INSERT INTO $db.t SELECT 3",
    "ALTER TABLE $db.t DELETE WHERE 1",
    "CREATE TABLE $db.u (a UInt8) ENGINE = Memory",
    "SET readonly = 0",
    "SELECT 1 SETTINGS readonly = 0",
])
def test_a_read_only_connection_refuses_every_write(filled, statement):
    wh = open_warehouse(filled, read_only=True)
    try:
        assert int(wh.query_df("SELECT count() AS n FROM $db.t")["n"][0]) == 2
        with pytest.raises(WarehouseError, match="readonly|READONLY"):
            wh.command(statement)
    finally:
        wh.close()
    assert rows(filled) == 2


def test_a_second_statement_on_a_read_only_connection_cannot_write(filled):
    # chDB runs every statement of a text (the server refuses such a text on its own): the
    # session's readonly=1 covers the second one, a per-query SETTINGS would not.
    wh = open_warehouse(filled, read_only=True)
    try:
        with pytest.raises(WarehouseError):
            wh.query_df("SELECT 1 SETTINGS readonly = 1; TRUNCATE TABLE $db.t")
    finally:
        wh.close()
    assert rows(filled) == 2


def test_a_reader_of_a_read_only_warehouse_is_read_only_too(filled):
    wh = open_warehouse(filled, read_only=True)
    reader = wh.reader()
    try:
        with pytest.raises(WarehouseError):
            reader.command("TRUNCATE TABLE $db.t")
    finally:
        reader.close()
        wh.close()
    assert rows(filled) == 2


def test_a_normal_connection_still_writes(filled):
    wh = open_warehouse(filled)
    try:
        wh.command("INSERT INTO $db.t SELECT 3")
        wh.insert_rows("t", ["a"], [{"a": 4}])
    finally:
        wh.close()
    assert rows(filled) == 4


def test_a_server_user_with_a_read_only_profile_reads_through_a_read_only_connection(
        clickhouse_server):
    # The production set-up: `saylau sql` logs in as a user whose profile has readonly=1
    # (Debian's users.xml ships one, `readonly`). Our own readonly=1 must not clash with it.
    database = f"t_{uuid.uuid4().hex[:10]}"
    writer = open_warehouse(f"clickhouse://default@127.0.0.1:{clickhouse_server.tcp_port}/"
                            f"{database}")
    try:
        writer.command("CREATE DATABASE $db")
        writer.command("CREATE TABLE $db.t (a UInt8) ENGINE = MergeTree() ORDER BY a")
        writer.command("INSERT INTO $db.t SELECT 1")
    finally:
        writer.close()
    wh = open_warehouse(f"clickhouse://readonly@127.0.0.1:{clickhouse_server.tcp_port}/"
                        f"{database}", read_only=True)
    try:
        assert int(wh.query_df("SELECT count() AS n FROM $db.t")["n"][0]) == 1
        with pytest.raises(WarehouseError, match="readonly|READONLY"):
            wh.command("TRUNCATE TABLE $db.t")
    finally:
        wh.close()
