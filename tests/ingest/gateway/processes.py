"""A real `saylau gateway` child process, and an observer client that retries as phones do."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx

from saylau.warehouse.client import open_warehouse
from tests.integration.worker import SaylauProcess


class GatewayProcess(SaylauProcess):
    name = "gateway"

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        super().__init__(env, log_path)
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> GatewayProcess:
        self.spawn("gateway", "--port", str(self.port))
        assert self.process is not None
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
        return super().stop(timeout)

    def __enter__(self) -> GatewayProcess:
        return self.start()


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
