"""The worker's publisher (alerts, rejects) keeps publishing after the broker restarts empty.

Found by the soak (bench/soak.py): the embedded broker keeps everything in memory, so after a
restart it no longer knows the idempotent producer's id, and kafka-python then fails every
send with UnknownProducerIdError for good. Every stored batch publishes its alerts, so each
worker stopped ("cannot store a batch") at its next batch, again after every restart.
"""

from __future__ import annotations

import pytest

from saylau.kafka.broker import EmbeddedBroker, free_port
from saylau.kafka.topics import ensure_topics, topic_names
from saylau.streams.store import Publisher

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


def test_publisher_sends_again_after_the_broker_restarted_empty(tmp_path):
    port, prefix = free_port(), "pub"
    broker = EmbeddedBroker(port, log_path=tmp_path / "broker-1.log").start()
    try:
        ensure_topics(broker.bootstrap, topic_names(prefix), partitions=2)
        publisher = Publisher(broker.bootstrap, prefix)
        publisher.send(publisher.alerts_topic, [(f"KAZ011-{n:04d}", b'{"n": 1}')
                                                for n in range(20)])
        publisher.flush()
        process = broker._process  # noqa: SLF001 - SIGKILL, as a crash
        assert process is not None
        process.kill()
        process.wait(10)
        broker.stop()
        broker = EmbeddedBroker(port, log_path=tmp_path / "broker-2.log").start()
        ensure_topics(broker.bootstrap, topic_names(prefix), partitions=2)
        publisher.send(publisher.alerts_topic, [(f"KAZ011-{n:04d}", b'{"n": 2}')
                                                for n in range(20)])
        publisher.flush()  # raised PublishError(UnknownProducerIdError) before the fix
        publisher.send(publisher.rejected_topic, [("KAZ011-0001", b"{}")])
        publisher.flush()
        publisher.close()
    finally:
        broker.stop()
