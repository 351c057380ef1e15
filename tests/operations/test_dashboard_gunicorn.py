"""`saylau dashboard --workers N`: the dashboard behind gunicorn, on a real ClickHouse server.

The command runs as a real process (as in the compose file), is asked for pages and
/metrics over HTTP, and stops on SIGTERM.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import pytest

from saylau.cli.main import main
from saylau.dashboard.users import add_user
from saylau.kafka.broker import free_port
from saylau.warehouse.client import open_warehouse
from tests.integration.worker import child_processes
from tests.support.clickhouse_server import ClickHouseServer

pytestmark = pytest.mark.timeout(300)

START_TIMEOUT_S = 180  # two processes each import Dash and load 200 stations on 2 cores
STOP_TIMEOUT_S = 30


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=20) as answer:  # noqa: S310  # our own server
        return answer.status, answer.read().decode("utf-8")


def wait_until_serving(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the dashboard exited with {process.returncode}")
        try:
            get(url)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise AssertionError(f"no answer from {url} within {START_TIMEOUT_S} s")


def status_page_count(metrics: str) -> float:
    """Requests for /status counted, whatever their answer (with a session or without)."""
    label = 'saylau_dashboard_requests_total{handler="page:/status",'
    return sum(float(line.split()[-1]) for line in metrics.splitlines()
               if line.startswith(label))


def test_several_workers_on_chdb_are_refused_with_a_reason(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAYLAU_DASHBOARD_SECRET", secrets.token_urlsafe(32))
    code = main(["dashboard", "--workers", "2", "--warehouse", f"chdb://{tmp_path}/wh",
                 "--data-dir", str(tmp_path)])
    assert code == 2
    error = capsys.readouterr().err
    assert "chDB allows one process per data folder" in error
    assert "clickhouse://" in error
    assert not (tmp_path / "wh").exists(), "nothing may be opened before refusing"


def test_two_gunicorn_workers_serve_pages_and_metrics_and_stop_on_sigterm(
        clickhouse_server: ClickHouseServer, tmp_path: Path) -> None:
    port = free_port()
    password = secrets.token_urlsafe(16)  # the dashboard needs a secret and a user
    add_user(tmp_path / "users.json", "hq", "headquarters", None, password, set())
    env = {**os.environ, "SAYLAU_DATA_DIR": str(tmp_path), "SAYLAU_REGISTRY_STATIONS": "200",
           "SAYLAU_WAREHOUSE":
               f"clickhouse://default@127.0.0.1:{clickhouse_server.tcp_port}/gunicorn_test",
           "SAYLAU_DASHBOARD_SECRET": secrets.token_urlsafe(32),
           "SAYLAU_DASHBOARD_USERS": str(tmp_path / "users.json")}
    log = (tmp_path / "dashboard.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "saylau", "dashboard", "--workers", "2", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(process, base + "/")
        assert len(child_processes(process.pid)) == 2, "gunicorn should run two worker processes"
        # Logged in on one worker, the session is good on the other (one secret).
        client = httpx.Client(base_url=base, timeout=20)
        assert client.post("/auth/login", data={"username": "hq",
                                                "password": password}).status_code == 302
        for path in ("/", "/status", "/_dash-layout", "/", "/status"):
            assert client.get(path).status_code == 200, path
        # Requests on new connections, answered by either worker; every scrape (also
        # answered by either) must count all of them: the workers' counts are summed.
        statuses = 2 + sum(get(base + "/status")[0] == 200 for _ in range(10))  # to /login
        for _ in range(4):
            status, metrics = get(base + "/metrics")
            assert status == 200
            assert status_page_count(metrics) == statuses
        # Logged out on one worker, a copy of the cookie is refused by both: each replay
        # is a new connection, answered by either worker (the end of a session is kept in
        # the users file, which every worker reads, not in one worker's memory).
        copied = {"session": str(client.cookies["session"])}
        assert client.post("/auth/logout").status_code == 302
        replays = [httpx.get(base + "/status", cookies=copied, timeout=20).status_code
                   for _ in range(20)]
        assert replays == [302] * 20, "a worker still honoured the logged-out session"
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert process.wait(timeout=STOP_TIMEOUT_S) == 0
        assert time.monotonic() - started < STOP_TIMEOUT_S
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()
    output = (tmp_path / "dashboard.log").read_text()
    warehouse = open_warehouse(env["SAYLAU_WAREHOUSE"])
    try:  # the workers prepared the server's warehouse: schema and the 200 stations
        stations = warehouse.query_df("SELECT uniqExact(station_id) AS n FROM $db.stations")
    finally:
        warehouse.close()
    assert int(stations["n"][0]) == 200
    assert "gunicorn, 2 workers" in output
    assert output.count("Booting worker") == 2, output[-3000:]
    assert "Shutting down" in output
    assert "Control socket" not in output
