"""`saylau up --simulate` runs the gateway too: /healthz answers and /app/ is served."""

from __future__ import annotations

import secrets
import signal
import time
from pathlib import Path

import httpx
import pytest

from saylau.kafka.broker import free_port
from tests.integration.worker import SaylauProcess

pytestmark = pytest.mark.timeout(240)


def wait_for(url: str, process: SaylauProcess, timeout: float = 150.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        assert process.process is not None and process.process.poll() is None, process.tail()
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200:
                return answer
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} never answered\n{process.tail()}"
        time.sleep(0.5)


def wait_worker_storing(bootstrap: str, process: SaylauProcess, timeout: float = 150) -> None:
    """Until the worker's group has committed an offset: Ctrl-C then finds it running (Faust
    does not stop cleanly in the middle of its start-up)."""
    from kafka import KafkaConsumer, TopicPartition

    topic = "saylau.turnout"
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id="saylau-worker",
                             enable_auto_commit=False)
    try:
        deadline = time.monotonic() + timeout
        partitions = [TopicPartition(topic, p)
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        while not any(consumer.committed(tp) for tp in partitions):
            assert time.monotonic() < deadline, process.tail()
            time.sleep(0.5)
    finally:
        consumer.close(autocommit=False)


def test_up_serves_the_gateway_and_the_field_app(tmp_path: Path) -> None:
    ports = {"dashboard": free_port(), "broker": free_port(), "gateway": free_port()}
    env = {"SAYLAU_DATA_DIR": str(tmp_path), "SAYLAU_WAREHOUSE": f"chdb://{tmp_path}/wh",
           "SAYLAU_REGISTRY_STATIONS": "40", "SAYLAU_EXPORT_INTERVAL_SECONDS": "0",
           "SAYLAU_DASHBOARD_SECRET": secrets.token_urlsafe(24), "SAYLAU_LOG_LEVEL": "info",
           "SAYLAU_SIMULATE_SPEED": "600"}
    up = SaylauProcess(env, tmp_path / "up.log")
    up.spawn("up", "--simulate", "--port", str(ports["dashboard"]), "--broker-port",
             str(ports["broker"]), "--gateway-port", str(ports["gateway"]))
    try:
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        health = wait_for(f"{gateway}/healthz", up).json()
        assert health["status"] == "ok"
        assert 'rel="manifest"' in wait_for(f"{gateway}/app/", up).text
        assert wait_for(f"{gateway}/app/manifest.json", up).json()["start_url"] == "/app/"
        wait_for(f"http://127.0.0.1:{ports['dashboard']}/login", up)
        log = up.log_path.read_text(encoding="utf-8")
        assert f"gateway on http://127.0.0.1:{ports['gateway']}/" in log
        assert "pepper made for this run" in log
        assert up.process is not None
        wait_worker_storing(f"127.0.0.1:{ports['broker']}", up)
        up.process.send_signal(signal.SIGINT)  # Ctrl-C
        assert up.process.wait(60) == 0, up.tail()
        assert "Saylau stopped." in up.log_path.read_text(encoding="utf-8")
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{gateway}/healthz", timeout=2)
    finally:
        up.__exit__(None, None, None)
