"""Schemathesis: the committed OpenAPI document, fuzzed against a running gateway.

No generated input may cause a 5xx, and every 4xx must say why (a `reason`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from saylau.geo.registry import synthetic_registry, write_registry_csv
from saylau.ingest.gateway.openapi import OPENAPI_PATH
from saylau.ingest.gateway.tokens import TokenStore, tokens_path
from saylau.kafka.broker import EmbeddedBroker, free_port
from tests.ingest.gateway.conftest import PEPPER
from tests.ingest.gateway.processes import GatewayProcess

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]

schema = schemathesis.openapi.from_path(OPENAPI_PATH)


@pytest.fixture(scope="module")
def running_gateway(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory
                    ) -> Iterator[tuple[str, dict[str, str]]]:
    folder: Path = tmp_path_factory.mktemp("fuzz")
    write_registry_csv(synthetic_registry(n_stations=30, total_voters=30_000, seed=3),
                       folder / "stations.csv")
    store = TokenStore(tokens_path(folder), PEPPER)
    token = store.issue("obs-1").token
    store.close()
    env = {"SAYLAU_KAFKA_BOOTSTRAP": broker.bootstrap, "SAYLAU_TOPIC_PREFIX": "fuzz",
           "SAYLAU_DATA_DIR": str(folder), "SAYLAU_REGISTRY": str(folder / "stations.csv"),
           "SAYLAU_GATEWAY_TOKEN_PEPPER": PEPPER, "SAYLAU_GATEWAY_RATE_PER_SECOND": "100000",
           "SAYLAU_GATEWAY_RATE_BURST": "100000"}
    with GatewayProcess(env, free_port(), folder / "gateway.log") as gateway:
        yield gateway.url, {"Authorization": f"Bearer {token}"}
        assert gateway.stop() == 0


def reason_of(response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    if body.get("refused"):
        return body["refused"][0].get("reason")
    return body.get("reason") or body.get("reply")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_input_gives_a_5xx_and_every_4xx_says_why(case, running_gateway):
    url, headers = running_gateway
    response = case.call(base_url=url, headers=headers, timeout=10)
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code}"
    if response.status_code >= 400:
        assert reason_of(response), f"{case.method} {case.path} {response.status_code}: " \
                                    f"{response.text[:200]}"
