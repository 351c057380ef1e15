"""Citizen reports against the real parts: the embedded broker, a `saylau gateway` child, a
`saylau worker` child and a ClickHouse server; the legal team's key pair on disk."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from saylau.core.sealing import generate_keypair
from saylau.geo.registry import synthetic_registry, write_registry_csv
from saylau.kafka.broker import EmbeddedBroker, free_port
from saylau.warehouse.citizen import cases
from saylau.warehouse.client import open_warehouse
from tests.fieldapp.conftest import election_date_now
from tests.ingest.gateway.processes import GatewayProcess
from tests.integration.worker import WorkerProcess
from tests.support.clickhouse_server import ClickHouseServer

PEPPER = "citizen-test-pepper-0123456789"


@dataclass
class CitizenSite:
    gateway: GatewayProcess
    worker: WorkerProcess
    env: dict[str, str]
    warehouse_url: str
    data_dir: Path
    registry: pd.DataFrame
    private_key: Path

    @property
    def region(self) -> str:
        return str(self.registry["region_code"].iloc[0])

    def cases(self, url: str | None = None) -> pd.DataFrame:
        warehouse = open_warehouse(url or self.warehouse_url)
        try:
            return cases(warehouse)
        except Exception:  # the worker has not made the tables yet
            return pd.DataFrame({"event_id": [], "verdict": [], "status": []})
        finally:
            warehouse.close()

    def wait_cases(self, wanted: dict[str, tuple[str, str]], timeout: float = 90.0,
                   url: str | None = None) -> pd.DataFrame:
        """Until every case_id in ``wanted`` has its (verdict, status)."""
        deadline = time.monotonic() + timeout
        while True:
            frame = self.cases(url)
            state = {row.event_id: (row.verdict, row.status) for row in frame.itertuples()}
            if all(state.get(case) == value for case, value in wanted.items()):
                return frame
            assert time.monotonic() < deadline, (state, wanted, self.worker.tail())
            time.sleep(0.5)

    def saylau(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "saylau", *args], env=self.worker.env,
                              capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture
def citizen_site(broker: EmbeddedBroker, topic_prefix: str,
                 clickhouse_server: ClickHouseServer, tmp_path: Path) -> Iterator[CitizenSite]:
    registry = synthetic_registry(n_stations=40, total_voters=80_000, seed=23)
    write_registry_csv(registry, tmp_path / "stations.csv")
    private_key = tmp_path / "lawyer" / "legal.key"
    public_key = generate_keypair(private_key, tmp_path / "lawyer" / "legal.key.pub")
    url = (f"clickhouse://default@127.0.0.1:{clickhouse_server.tcp_port}/"
           f"c_{uuid.uuid4().hex[:10]}")
    env = {"SAYLAU_KAFKA_BOOTSTRAP": broker.bootstrap, "SAYLAU_TOPIC_PREFIX": topic_prefix,
           "SAYLAU_WORKER_GROUP": f"{topic_prefix}-worker", "SAYLAU_WAREHOUSE": url,
           "SAYLAU_DATA_DIR": str(tmp_path / "data"),
           "SAYLAU_REGISTRY": str(tmp_path / "stations.csv"),
           "SAYLAU_WORKER_BATCH_SECONDS": "0.2", "SAYLAU_LOG_LEVEL": "debug",
           "SAYLAU_GATEWAY_TOKEN_PEPPER": PEPPER, "SAYLAU_CITIZEN_POW_BITS": "8",
           "SAYLAU_CITIZEN_LEGAL_PUBLIC_KEY": public_key,
           "SAYLAU_ELECTION_DATE": election_date_now().isoformat()}
    (tmp_path / "data").mkdir()
    worker = WorkerProcess(env, tmp_path / "data" / "worker.log").start()
    gateway = GatewayProcess(env, free_port(), tmp_path / "data" / "gateway.log")
    try:
        gateway.start()
        yield CitizenSite(gateway, worker, env, url, tmp_path / "data", registry, private_key)
        assert gateway.stop() == 0, gateway.tail()
        if worker.process is not None and worker.process.poll() is None:
            assert worker.stop() == 0, worker.tail()
    finally:
        gateway.__exit__(None, None, None)
        worker.__exit__(None, None, None)
