"""Session services for the integration tests: the embedded broker and a ClickHouse server.

Both are real processes, started once per session on free ports. Each test gets its own
topic prefix, consumer group and database, so tests never see each other's data.
A missing service skips the tests that need it with a message saying how to install it,
except under CI=true, where a missing service fails them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from saylau.kafka.broker import EmbeddedBroker, free_port
from saylau.kafka.topics import ensure_topics, topic_names
from tests.support.clickhouse_cluster import ClickHouseCluster
from tests.support.clickhouse_server import (
    INSTALL_HINT,
    ClickHouseServer,
    clickhouse_server_available,
)
from tests.support.zookeeper import INSTALL_HINT as ZOOKEEPER_HINT
from tests.support.zookeeper import zookeeper_available

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
ARTIFACTS = Path(os.environ.get("ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))


def require(available: bool, what: str, how: str) -> None:
    """Skip (fail under CI) a test whose service is missing, saying how to install it."""
    if available:
        return
    message = f"{what} is not installed: {how}"
    if CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(free_port(), log_path=None) as running:
        yield running


@pytest.fixture
def topic_prefix(broker: EmbeddedBroker) -> str:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    ensure_topics(broker.bootstrap, topic_names(prefix), partitions=3)
    return prefix


@pytest.fixture(scope="session")
def clickhouse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseServer]:
    require(clickhouse_server_available(), "clickhouse-server", INSTALL_HINT)
    server = ClickHouseServer(tmp_path_factory.mktemp("clickhouse")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def clickhouse_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseCluster]:
    """One ZooKeeper and 2 shards × 2 replicas of clickhouse-server, once per session (five
    processes on two cores): tests use databases of their own, and restart what they kill."""
    require(clickhouse_server_available(), "clickhouse-server", INSTALL_HINT)
    require(zookeeper_available(), "zookeeper", ZOOKEEPER_HINT)
    with ClickHouseCluster(tmp_path_factory.mktemp("cluster")) as cluster:
        yield cluster


@pytest.fixture(params=["chdb", "clickhouse"])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty warehouse on each engine."""
    if request.param == "chdb":
        return f"chdb://{tmp_path}/warehouse"
    server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
    return f"clickhouse://default@127.0.0.1:{server.tcp_port}/t_{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def chromium_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    require(bool(browser and driver), "chromium and chromium-driver",
            "apt-get install chromium chromium-driver (make test does this as root on Debian)")
    assert browser and driver
    return browser, driver


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
