"""A real `saylau gateway` child process, and an observer client that retries as phones do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from warehouse.client import open_warehouse


class GatewayProcess:
    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = {**os.environ, **env}
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> GatewayProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", "saylau", "gateway", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"gateway exited:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"gateway did not start:\n{self.tail()}")
            time.sleep(0.1)

    def health(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.url}/healthz", timeout=5).json())

    def wait_delivered(self, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (health := self.health())["journal_pending"]:
            assert time.monotonic() < deadline, f"journal not delivered: {health}\n{self.tail()}"
            time.sleep(0.2)
        return health

    def stop(self, timeout: float = 20.0) -> int:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired as expired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(f"gateway ignored SIGTERM:\n{self.tail()}") from expired

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class RetryingObserver(threading.Thread):
    """Sends each event until the gateway answers (the same event_id every time)."""

    def __init__(self, url: str, token: str, events: list[dict[str, Any]],
                 pause: float = 0.0, give_up_after: float = 90.0) -> None:
        super().__init__(daemon=True)
        self.url, self.events, self.pause = url, events, pause
        self.headers = {"Authorization": f"Bearer {token}"}
        self.give_up_after = give_up_after
        self.acknowledged: list[str] = []
        self.refused: list[int] = []
        self.retries = 0

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            for event in self.events:
                self._send(client, event)
                time.sleep(self.pause)

    def _send(self, client: httpx.Client, event: dict[str, Any]) -> None:
        deadline = time.monotonic() + self.give_up_after
        while time.monotonic() < deadline:
            try:
                answer = client.post(f"{self.url}/v1/events", json=event, headers=self.headers)
            except httpx.HTTPError:
                self.retries += 1
                time.sleep(0.1)
                continue
            if answer.status_code == 202:
                self.acknowledged.append(event["event_id"])
                return
            if answer.status_code < 500 and answer.status_code != 429:
                self.refused.append(answer.status_code)
                return
            self.retries += 1
            time.sleep(0.1)


def warehouse_event_ids(url: str) -> tuple[set[str], int]:
    """The event_ids in the archive, and how many rows remain after de-duplication."""
    try:
        warehouse = open_warehouse(url)
    except Exception:  # the worker has not created the database yet
        return set(), 0
    try:
        frame = warehouse.query_df("SELECT event_id FROM $db.events FINAL")
    except Exception:  # nor the table
        return set(), 0
    finally:
        warehouse.close()
    return set(frame["event_id"].astype(str)), len(frame)
