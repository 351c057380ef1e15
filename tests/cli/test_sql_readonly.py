"""`saylau sql` is read-only for real (issue 27, finding 3): each attack of the review, run
through the real command in a subprocess against a real chDB directory and a real
clickhouse-server, is refused with a one-line message and leaves no trace."""

from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from saylau.warehouse.client import create_schema, open_warehouse

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
SECRET_PHONE = "+7 701 555 01 99"  # a made-up observer's phone in a made-up roster
SECRET_PAGE = "internal-page-nobody-may-fetch"
EVENTS = 2


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


def saylau_sql(warehouse_url: str, query: str, tmp_path: Path,
               **settings: str) -> Result:
    """The real `saylau sql` in its own process, with a clean SAYLAU_* environment (plus
    ``settings``, as SAYLAU_<NAME>)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("SAYLAU_")}
    env.update({"PYTHONPATH": str(ROOT), "SAYLAU_DATA_DIR": str(tmp_path / "data")})
    env.update({f"SAYLAU_{name.upper()}": value for name, value in settings.items()})
    done = subprocess.run([sys.executable, "-m", "saylau", "sql", "--warehouse", warehouse_url,
                           query], env=env, capture_output=True, text=True, timeout=180,
                          check=False)
    return Result(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def warehouse(warehouse_url: str) -> str:
    """A warehouse with the schema and two events; closed again, so the command may open it
    (only one process may open a chDB directory)."""
    wh = open_warehouse(warehouse_url)
    try:
        wh.command("CREATE DATABASE IF NOT EXISTS $db")
        create_schema(wh)
        wh.insert_rows("events", ["event_id", "kind"], [{"event_id": f"e{number}",
                                                         "kind": "turnout"}
                                                        for number in range(EVENTS)])
    finally:
        wh.close()
    return warehouse_url


def state_of(warehouse_url: str) -> tuple[int, int]:
    """(whether the alerts table exists, how many events there are)."""
    wh = open_warehouse(warehouse_url)
    try:
        alerts = wh.query_df("EXISTS TABLE $db.alerts").iloc[0, 0]
        events = wh.query_df("SELECT count() AS n FROM $db.events")["n"][0]
    finally:
        wh.close()
    return int(alerts), int(events)


def assert_refused(result: Result, *words: str) -> None:
    assert result.code == 2, result
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("saylau sql: "), result.err
    assert "Traceback" not in result.err
    for word in words:
        assert word in result.err, result.err


@pytest.fixture
def roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(f"observer,phone\nobs-1,{SECRET_PHONE}\n", encoding="utf-8")
    return path


class _Page(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.hits.append(self.path)
        body = SECRET_PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def local_page() -> Iterator[tuple[str, list[str]]]:
    """A page on 127.0.0.1 only the machine itself can reach, and the requests it got."""
    hits: list[str] = []
    handler = type("Page", (_Page,), {"hits": hits})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/secret", hits
    finally:
        server.shutdown()
        server.server_close()


# --- the attacks of the review -------------------------------------------------------------


def test_a_second_statement_cannot_drop_a_table(warehouse, tmp_path):
    result = saylau_sql(warehouse, "SELECT 1; DROP TABLE $db.alerts", tmp_path)
    assert_refused(result, "one statement")
    assert state_of(warehouse) == (1, EVENTS)


def test_a_second_statement_cannot_truncate_the_archive(warehouse, tmp_path):
    result = saylau_sql(warehouse, "SELECT 1; TRUNCATE TABLE $db.events", tmp_path)
    assert_refused(result, "one statement")
    assert state_of(warehouse) == (1, EVENTS)


def test_a_second_statement_cannot_write_a_file(warehouse, tmp_path):
    target = tmp_path / "written.csv"
    query = f"SELECT 1; INSERT INTO FUNCTION file('{target}', 'CSV', 'a UInt8') SELECT 1"
    assert_refused(saylau_sql(warehouse, query, tmp_path), "one statement")
    assert not target.exists()


def test_into_outfile_cannot_write_a_file(warehouse, tmp_path):
    target = tmp_path / "outfile.csv"
    result = saylau_sql(warehouse, f"SELECT * FROM $db.events INTO OUTFILE '{target}'",
                        tmp_path)
    assert_refused(result, "OUTFILE")
    assert not target.exists()


@pytest.mark.parametrize("query", [
    "SELECT * FROM file('{path}', 'TSV', 'line String')",
    "SELECT file('{path}')",
    "SELECT \"file\"('{path}')",
    "SELECT `FILE` /* a comment */ ('{path}')",
])
def test_file_cannot_read_a_file(warehouse, tmp_path, roster, query):
    result = saylau_sql(warehouse, query.format(path=roster), tmp_path)
    assert_refused(result, "file()")
    assert SECRET_PHONE not in result.out + result.err
    assert str(roster) not in result.err  # the message names the function, not the target


def test_file_cannot_read_a_system_file(warehouse, tmp_path):
    result = saylau_sql(warehouse, "SELECT * FROM file('/etc/hostname', 'TSV', 'h String')",
                        tmp_path)
    assert_refused(result, "file()")


def test_url_cannot_fetch_a_local_page(warehouse, tmp_path, local_page):
    address, hits = local_page
    result = saylau_sql(warehouse, f"SELECT * FROM url('{address}', 'TSV', 'line String')",
                        tmp_path)
    assert_refused(result, "url()")
    assert SECRET_PAGE not in result.out
    assert hits == []


# --- limits --------------------------------------------------------------------------------

# system.numbers: ClickHouse 18.16 forbids table functions such as numbers() in readonly mode.
ENDLESS = ("SELECT count() FROM (SELECT number FROM system.numbers LIMIT 100000000000000) "
           "WHERE sipHash64(number) = 0")
HUNGRY = ("SELECT length(groupArray(toString(number))) FROM "
          "(SELECT number FROM system.numbers LIMIT 200000000)")


def test_a_query_that_runs_too_long_is_stopped(warehouse, tmp_path):
    started = time.monotonic()
    result = saylau_sql(warehouse, ENDLESS, tmp_path, sql_max_seconds="2")
    assert result.code == 1 and "saylau sql:" in result.err, result
    assert "timeout" in result.err.lower() or "TIMEOUT_EXCEEDED" in result.err, result.err
    assert time.monotonic() - started < 60


def test_a_query_s_own_settings_cannot_lift_the_limit(warehouse, tmp_path):
    result = saylau_sql(warehouse, f"{ENDLESS} SETTINGS max_execution_time = 0", tmp_path,
                        sql_max_seconds="2")
    assert result.code == 1 and "readonly" in result.err.lower(), result


def test_a_query_that_needs_too_much_memory_is_stopped(warehouse, tmp_path):
    result = saylau_sql(warehouse, HUNGRY, tmp_path, sql_max_memory_mb="64")
    assert result.code == 1 and "memory" in result.err.lower(), result


# --- what still works ----------------------------------------------------------------------


def test_a_read_only_query_still_prints_csv(warehouse, tmp_path):
    result = saylau_sql(warehouse, "SELECT count() AS n, 'a;b' AS text FROM $db.events "
                                   "-- a ; in a comment\n;", tmp_path)
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines() == ["n,text", f"{EVENTS},a;b"]
