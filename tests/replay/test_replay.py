"""A simulated day through the live path (broker + `saylau worker`), then `saylau replay`
from Kafka, from the warehouse archive and from the day's file into fresh databases: every
table must equal the live run's, row for row, on both warehouse engines."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest
from kafka import KafkaConsumer, TopicPartition

from saylau.core.contract import (
    EVENT_TOPICS,
    Digitisation,
    Event,
    Media,
    PhotoRelease,
    Protocol,
    ProtocolEntry,
    event_to_json,
    topic_for,
)
from saylau.core.election import Election
from saylau.ingest.simulator import NoiseRates, Scenario, simulate_day
from saylau.kafka.broker import EmbeddedBroker
from saylau.kafka.producer import EventProducer
from saylau.warehouse.client import Warehouse, open_warehouse
from tests.integration.snapshot import assert_same_tables, snapshot
from tests.integration.test_pipeline import worker_env
from tests.integration.worker import WorkerProcess

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]

NOISE = NoiseRates(duplicate=0.03, late=0.03, out_of_order=0.03, malformed=0.01)
# Compared beyond the worker's snapshot: the registry, and (archive replay) the live times.
STATIONS = "SELECT * FROM $db.stations FINAL ORDER BY station_id"
RECEIVED = "SELECT event_id, received_at FROM $db.events FINAL ORDER BY event_id"
REJECTED_AT = ("SELECT source_topic, source_partition, source_offset, rejected_at "
               "FROM $db.rejected FINAL ORDER BY source_topic, source_partition, source_offset")


def sibling(url: str, name: str) -> str:
    """A fresh database beside ``url``: the same chDB directory (one per process) or server."""
    return f"{url}?db={name}" if url.startswith("chdb://") else f"{url}_{name}"


def read(url: str, extra: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    wh: Warehouse = open_warehouse(url)  # one at a time: chDB opens one directory per process
    try:
        tables = snapshot(wh)
        tables.update({name: wh.query_df(sql) for name, sql in (extra or {}).items()})
        return tables
    finally:
        wh.close()


def saylau(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "saylau", *args], env={**os.environ, **env},
                          cwd=env.get("SAYLAU_DATA_DIR"), text=True, capture_output=True,
                          timeout=300, check=False)


def replay(env: dict[str, str], *args: str) -> str:
    done = saylau(env, "replay", *args, "--no-progress")
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def tabulation_events(station_id: str) -> list[Event]:
    """A protocol photo's life, which the simulator does not make: the observer's photo,
    two volunteers' agreeing entries, the digitised copy, its release and a commission
    publication (docs/tabulation.md)."""
    at = dt.datetime(2026, 3, 15, 21, 30, tzinfo=dt.UTC)
    photo = "c0" * 32
    figures = {"registered": 1000, "ballots_received": 1000, "ballots_issued": 600,
               "ballots_cast": 600, "invalid": 10,
               "votes": {next(iter(Election().options)): 300, "against_all": 290}}
    sent = Protocol(event_id=uuid.uuid4(), station_id=station_id, observer_id="obs-photo",
                    occurred_at=at, kind="protocol", source="observer_copy",
                    media=[Media(sha256=photo, mime="image/jpeg")], **figures)
    entries = [ProtocolEntry(event_id=uuid.uuid4(), station_id=station_id, observer_id=who,
                             occurred_at=at, kind="protocol_entry", photo_sha256=photo,
                             **figures) for who in ("vol-1", "vol-2")]
    agreed = Protocol(event_id=uuid.uuid4(), station_id=station_id, observer_id="obs-photo",
                      occurred_at=at, kind="protocol", source="observer_copy",
                      media=[Media(sha256=photo, mime="image/jpeg")],
                      digitised=Digitisation(photo_sha256=photo,
                                             entry_ids=[e.event_id for e in entries],
                                             entered_by=["vol-1", "vol-2"]), **figures)
    release = PhotoRelease(event_id=uuid.uuid4(), station_id=station_id, observer_id="hq-1",
                           occurred_at=at, kind="photo_release", photo_sha256=photo)
    official = Protocol(event_id=uuid.uuid4(), station_id=station_id, observer_id="cec",
                        occurred_at=at, kind="protocol", source="official",
                        publication="pub-test", **figures)
    return [sent, *entries, agreed, release, official]


def send_day(broker: EmbeddedBroker, prefix: str, registry: pd.DataFrame, path: Path) -> int:
    day = simulate_day(registry, Election(), Scenario(seed=3, noise=NOISE))
    day.write(path, prefix)
    extra = tabulation_events(str(registry["station_id"].iloc[0]))
    with path.open("a", encoding="utf-8") as out:  # the day's file holds them too
        for event in extra:
            out.write(json.dumps({"sent_at": event.occurred_at.isoformat(),
                                  "topic": topic_for(event.kind, prefix),
                                  "key": event.station_id,
                                  "value": json.loads(event_to_json(event))}) + "\n")
    with EventProducer(broker.bootstrap, prefix) as producer:
        for message in day.messages():
            producer.send_raw(f"{prefix}.{message.topic_suffix}", message.key, message.value)
        for event in extra:
            producer.send_raw(topic_for(event.kind, prefix), event.station_id,
                              event_to_json(event).encode())
    return len(day) + len(extra)


def wait_committed(env: dict[str, str], sent: int, timeout: float = 120.0) -> None:
    """Until the worker's group has committed all ``sent`` messages. Offsets run from 0 in
    each partition, so the committed offsets add up to the messages consumed. (The lag
    probe alone is not enough: the embedded broker under-reports a partition's end offset.)"""
    prefix, group = env["SAYLAU_TOPIC_PREFIX"], env["SAYLAU_WORKER_GROUP"]
    consumer = KafkaConsumer(bootstrap_servers=env["SAYLAU_KAFKA_BOOTSTRAP"], group_id=group,
                             enable_auto_commit=False)
    try:
        partitions = [TopicPartition(f"{prefix}.{name}", p) for name in EVENT_TOPICS
                      for p in sorted(consumer.partitions_for_topic(f"{prefix}.{name}") or ())]
        deadline = time.monotonic() + timeout
        while (done := sum(consumer.committed(tp) or 0 for tp in partitions)) < sent:
            assert time.monotonic() < deadline, f"the worker committed {done} of {sent}"
            time.sleep(0.5)
    finally:
        consumer.close(autocommit=False)


def rejected_by_content(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Rejections without their Kafka position (a file or a re-stream has other positions)."""
    return sorted(zip(frame["reason"], frame["detail"], frame["raw"], strict=True))


def test_replays_from_kafka_archive_and_file_equal_the_live_run(
        broker: EmbeddedBroker, topic_prefix: str, warehouse_url: str, tmp_path: Path,
        registry: pd.DataFrame) -> None:
    sent = send_day(broker, topic_prefix, registry, tmp_path / "day.jsonl")
    env = {**worker_env(broker, topic_prefix, warehouse_url, tmp_path),
           "SAYLAU_WORKER_BATCH_SIZE": "400"}  # many batches live, other batches replayed
    with WorkerProcess(env, tmp_path / "worker.log") as worker:
        worker.wait_caught_up()
        wait_committed(env, sent)
        assert worker.stop() == 0

    from_kafka, from_archive, from_file = (sibling(warehouse_url, name)
                                           for name in ("kafka", "archive", "file"))
    assert f"replayed {sent} messages" in replay(env, "kafka", "--into", from_kafka)
    replay(env, "archive", "--into", from_archive)
    assert f"replayed {sent} messages" in replay(env, str(tmp_path / "day.jsonl"),
                                                 "--into", from_file)

    extra = {"stations": STATIONS, "received": RECEIVED, "rejected_at": REJECTED_AT}
    live = read(warehouse_url, extra)
    for name in ("events", "rejected", "protocols", "exitpolls", "turnout_15m",
                 "incidents_15m", "alerts", "stations", "turnout_latest", "observer_latest",
                 "incident_reports", "turnout_reports", "tabulation"):
        assert len(live[name]) > 0, f"the live run left {name} empty: the test would prove nothing"
    assert set(live["alerts"]["kind"]) >= {"station_uncovered", "protocol_mismatch",
                                          "observer_removed"}

    kafka = read(from_kafka, extra)
    assert_same_tables(live, kafka)
    pd.testing.assert_frame_equal(live["stations"], kafka["stations"])

    archive = read(from_archive, extra)
    assert_same_tables(live, archive)
    pd.testing.assert_frame_equal(live["stations"], archive["stations"])
    # The archive also keeps when the live worker received each event and rejected each message.
    pd.testing.assert_frame_equal(live["received"], archive["received"])
    pd.testing.assert_frame_equal(live["rejected_at"], archive["rejected_at"])

    file = read(from_file, extra)
    assert_same_tables({**live, "rejected": live["rejected"].iloc[:0]},
                       {**file, "rejected": file["rejected"].iloc[:0]})
    assert rejected_by_content(live["rejected"]) == rejected_by_content(file["rejected"])


def test_archive_re_streamed_to_kafka_replays_to_the_same_tables(
        broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path,
        registry: pd.DataFrame) -> None:
    """`replay archive --to-kafka` sends the day again; replaying those topics gives the same
    tables (rejections compared by content: they now sit at new Kafka positions)."""
    live_url = f"chdb://{tmp_path}/warehouse"
    env = worker_env(broker, topic_prefix, live_url, tmp_path)
    sent = send_day(broker, topic_prefix, registry, tmp_path / "day.jsonl")
    replay(env, "kafka", "--into", live_url)  # the archive to re-stream

    again = f"{topic_prefix}x"
    again_env = {**env, "SAYLAU_TOPIC_PREFIX": again}
    from saylau.kafka.topics import ensure_topics, topic_names

    ensure_topics(broker.bootstrap, topic_names(again), partitions=3)
    out = replay(again_env, "archive", "--to-kafka", "--speed", "max")
    live = read(live_url)
    assert f"sent {len(live['events']) + len(live['rejected'])} messages" in out
    assert len(live["events"]) < sent  # duplicates were dropped: the archive has each once
    replay(again_env, "kafka", "--into", sibling(live_url, "again"))
    restreamed = read(sibling(live_url, "again"))
    assert_same_tables({**live, "rejected": live["rejected"].iloc[:0]},
                       {**restreamed, "rejected": restreamed["rejected"].iloc[:0]})
    assert rejected_by_content(live["rejected"]) == rejected_by_content(restreamed["rejected"])


def test_replay_refuses_a_warehouse_that_is_not_fresh(tmp_path: Path,
                                                      registry: pd.DataFrame) -> None:
    env = {"SAYLAU_DATA_DIR": str(tmp_path), "SAYLAU_REGISTRY": str(tmp_path / "stations.csv")}
    day = simulate_day(registry, Election(), Scenario(seed=4))
    day.write(tmp_path / "day.jsonl")
    target = f"chdb://{tmp_path}/warehouse"
    replay(env, str(tmp_path / "day.jsonl"), "--into", target)
    again = saylau(env, "replay", str(tmp_path / "day.jsonl"), "--into", target)
    assert again.returncode == 2
    assert "is not a fresh warehouse" in again.stderr
    assert "Traceback" not in again.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["archive", "--into", "chdb://elsewhere"], "chDB opens one directory per process"),
    (["archive", "--into", "chdb://warehouse"], "names the archive itself"),
    (["no-such-file.jsonl", "--into", "chdb://x"], "no such file"),
    (["kafka", "--to-kafka"], "re-streams the archive or a FILE"),
])
def test_replay_explains_what_it_cannot_do(tmp_path: Path, args: list[str], message: str) -> None:
    env = {"SAYLAU_DATA_DIR": str(tmp_path), "SAYLAU_WAREHOUSE": "chdb://warehouse",
           "SAYLAU_REGISTRY_STATIONS": "20"}
    done = saylau(env, "replay", *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
