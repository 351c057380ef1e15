"""The worker's Prometheus metrics, served on SAYLAU_WORKER_METRICS_PORT (0 = off).

What an operator asks of a worker: how many events of each kind it stores (rate() of the
counter is events/s), what it rejects and why, how far behind the topics its consumer
group is, and how long a batch takes to store. The agent only calls :meth:`record`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from kafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from saylau.core.contract import INTAKE_TOPICS
from saylau.core.settings import Settings
from saylau.kafka.lag import LagProbe
from saylau.streams.store import Stored

log = logging.getLogger(__name__)

INSERT_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class LagCollector(Collector):
    """Consumer lag per topic and partition, read from Kafka at each scrape.

    The group's committed offsets are the truth for all its workers at once, so every
    worker reports the same numbers: aggregate with max(), not sum().
    """

    def __init__(self, bootstrap: str, group: str, topics: list[str]) -> None:
        self._args = (bootstrap, group, topics)
        self._probe: LagProbe | None = None
        self._lock = threading.Lock()  # a Kafka client is not thread-safe; scrapes may overlap

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("saylau_worker_consumer_lag",
                                   "messages not yet committed by the worker group",
                                   labels=["topic", "partition"])
        try:
            lags = self._read()
        except KafkaError as error:
            log.warning("cannot read the consumer lag: %s", type(error).__name__)
            return
        for (topic, partition), lag in sorted(lags.items()):
            family.add_metric([topic, str(partition)], lag)
        yield family

    def _read(self) -> dict[tuple[str, int], int]:
        with self._lock:
            if self._probe is None:
                self._probe = LagProbe(*self._args)
            return self._probe.lag_by_partition()


class WorkerMetrics:
    """Counters of one worker process, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events = Counter("saylau_worker_events", "events stored in the warehouse, by kind",
                              ["kind"], registry=self.registry)
        self.rejected = Counter("saylau_worker_rejected", "messages rejected, by reason",
                                ["reason"], registry=self.registry)
        self.duplicates = Counter("saylau_worker_duplicates",
                                  "resent events dropped before the warehouse",
                                  registry=self.registry)
        self.insert_seconds = Histogram(
            "saylau_worker_batch_insert_seconds",
            "time to validate and store a batch (events, protocols, exit polls, rejects)",
            buckets=INSERT_BUCKETS, registry=self.registry)
        self.last_batch = Gauge("saylau_worker_last_batch_timestamp_seconds",
                                "when the last batch was stored (Unix time)",
                                registry=self.registry)

    def record(self, stored: Stored) -> None:
        """One stored batch."""
        for kind, count in stored.kinds.items():
            self.events.labels(kind=kind).inc(count)
        for reason, count in stored.reasons.items():
            self.rejected.labels(reason=reason).inc(count)
        self.duplicates.inc(stored.duplicates)
        self.insert_seconds.observe(stored.seconds)
        self.last_batch.set(time.time())

    def watch_lag(self, bootstrap: str, group: str, topics: list[str]) -> None:
        self.registry.register(LagCollector(bootstrap, group, topics))


def start_worker_metrics(settings: Settings, bootstrap: str) -> WorkerMetrics | None:
    """Serve /metrics on the configured port; None (nothing served) when it is 0."""
    if not settings.worker_metrics_port:
        return None
    metrics = WorkerMetrics()
    metrics.watch_lag(bootstrap, settings.worker_group,
                      [f"{settings.topic_prefix}.{name}" for name in INTAKE_TOPICS])
    # All interfaces: Prometheus scrapes each worker container from elsewhere. The
    # figures are counts only, never an event's content.
    try:
        start_http_server(settings.worker_metrics_port, addr="0.0.0.0",  # noqa: S104
                          registry=metrics.registry)
    except OSError as error:
        raise SystemExit(f"saylau worker: cannot serve metrics on port "
                         f"{settings.worker_metrics_port} ({error.strerror}); set "
                         f"SAYLAU_WORKER_METRICS_PORT to a free port, or 0") from error
    log.info("worker metrics on :%d/metrics", settings.worker_metrics_port)
    return metrics
