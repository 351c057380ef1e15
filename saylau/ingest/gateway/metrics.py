"""The gateway's Prometheus metrics, in a registry of its own (one per app)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class GatewayMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.accepted = Counter("saylau_gateway_accepted_events", "events journaled",
                                ["kind"], registry=self.registry)
        self.refused = Counter("saylau_gateway_refused_events", "events refused",
                               ["reason"], registry=self.registry)
        self.requests = Histogram(
            "saylau_gateway_request_seconds", "time to answer a request", ["route"],
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5),
            registry=self.registry)

    def gauge(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        Gauge(name, documentation, registry=self.registry).set_function(read)
