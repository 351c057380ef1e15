"""Gateway test fixtures: a small registry, settings in a temporary folder, tokens, a client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from saylau.core.settings import Settings
from saylau.geo.registry import synthetic_registry, write_registry_csv
from saylau.geo.roster import save_roster, split_roster
from saylau.ingest.gateway.app import create_app
from saylau.ingest.gateway.tokens import TokenStore, tokens_path
from saylau.kafka.broker import EmbeddedBroker

PEPPER = "test-pepper-0123456789abcdef"
ELECTION_NOON = dt.datetime(2026, 3, 15, 7, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def registry_frame() -> pd.DataFrame:
    return synthetic_registry(n_stations=60, total_voters=60_000, seed=5)


@pytest.fixture
def registry_file(tmp_path: Path, registry_frame: pd.DataFrame) -> Path:
    path = tmp_path / "stations.csv"
    write_registry_csv(registry_frame, path)
    return path


@pytest.fixture
def make_settings(tmp_path: Path, registry_file: Path) -> Callable[..., Settings]:
    def make(**overrides: object) -> Settings:
        values: dict[str, object] = {"data_dir": tmp_path, "registry": registry_file,
                                     "gateway_token_pepper": PEPPER,
                                     "gateway_journal_retain_seconds": 0.0, **overrides}
        return Settings(**values)  # type: ignore[arg-type]
    return make


@pytest.fixture
def issue(tmp_path: Path) -> Callable[..., str]:
    """Issue a token in the gateway's store: issue("obs-1"), issue("hq-1", role="hq")."""
    def make(observer_id: str, role: str = "observer", days: float = 1.0,
             now: dt.datetime | None = None) -> str:
        store = TokenStore(tokens_path(tmp_path), PEPPER)
        try:
            return store.issue(observer_id, role, days, now).token
        finally:
            store.close()
    return make


def write_roster(data_dir: Path, placed: dict[str, str]) -> None:
    """The stored roster (as `saylau roster import` leaves it): observer_id -> station."""
    frame = pd.DataFrame({
        "observer_id": list(placed), "name": [f"Observer {i}" for i in range(len(placed))],
        "phone": ["+7 700 000 0000"] * len(placed), "home_region": [""] * len(placed),
        "organisation": [""] * len(placed), "assigned_station": list(placed.values())})
    save_roster(split_roster(frame), data_dir / "roster")


@pytest.fixture
def gateway_client(make_settings: Callable[..., Settings], broker: EmbeddedBroker,
                   topic_prefix: str, registry_frame: pd.DataFrame, tmp_path: Path
                   ) -> Iterator[Callable[..., TestClient]]:
    """A started gateway app (against the session broker) in a test client.

    ``roster``: observer_id -> assigned station, stored before the gateway starts; by default
    obs-0 … obs-9 are all assigned to the registry's first station; None stores no roster.
    """
    clients: list[TestClient] = []
    first_station = str(registry_frame["station_id"].iloc[0])
    default_roster = {f"obs-{number}": first_station for number in range(10)}

    def make(roster: dict[str, str] | None = default_roster, **overrides: object
             ) -> TestClient:
        if roster is not None:
            write_roster(tmp_path, roster)
        settings = make_settings(kafka_bootstrap=broker.bootstrap, topic_prefix=topic_prefix,
                                 **overrides)
        app = create_app(settings, registry=registry_frame, token_cache_seconds=0.0,
                         clock=lambda: ELECTION_NOON)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
