"""What the double-entry tests share: protocol photos and entries as real contract events,
and a warehouse filled through the worker's own batch path."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pandas as pd
import pytest
from kafka import KafkaConsumer, TopicPartition

from saylau.core.contract import KIND_TOPIC, Event, Media, Protocol, event_to_json
from saylau.core.election import Election
from saylau.core.settings import Settings
from saylau.core.validation import DayWindow, station_index
from saylau.dashboard.actions import protocol_entry_event
from saylau.dashboard.users import add_user
from saylau.geo.registry import synthetic_registry, write_registry_csv
from saylau.ingest.media import MediaStore, Stored, allowed_types
from saylau.kafka.broker import EmbeddedBroker
from saylau.kafka.producer import EventProducer
from saylau.streams.batch import Message, RecentIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse.client import Warehouse, open_warehouse
from saylau.warehouse.tabulation_queries import tabulation_photos
from tests.dashboard.conftest import DashboardServer, election_day_now
from tests.fieldapp.photos import jpeg_with_gps
from tests.integration.events import encode
from tests.integration.worker import WorkerProcess
from tests.support.clickhouse_server import ClickHouseServer

T = TypeVar("T")

PARTIES = tuple(Election().options)  # the default ballot, against_all last


def store_photo(media_dir: Path, seed: int) -> Stored:
    """A real JPEG (with GPS tags the store strips) put in the media store."""
    store = MediaStore(media_dir, allowed_types("image/jpeg"), 10**7)
    return store.put(jpeg_with_gps(seed=seed, size=(320, 240)), "image/jpeg")


def photo_protocol(station_id: str, observer_id: str, sha256: str,
                   occurred_at: dt.datetime | None = None) -> Protocol:
    """The observer's protocol event carrying the photo of the signed protocol; figures
    zero (the field app's copy before anyone typed it), which add up."""
    return Protocol.model_validate({
        "kind": "protocol", "source": "observer_copy", "event_id": uuid.uuid4(),
        "station_id": station_id, "observer_id": observer_id,
        "occurred_at": occurred_at or dt.datetime.now(dt.UTC), "registered": 0,
        "ballots_received": 0, "ballots_issued": 0, "ballots_cast": 0, "invalid": 0,
        "votes": {}, "media": [Media(sha256=sha256, mime="image/jpeg")]})


def protocol_figures(cast: int, registered: int = 1500) -> tuple[dict[str, int], dict[str, int]]:
    """Figures that add up (cast = votes + invalid), different for each `cast`."""
    invalid = 7
    votes = dict.fromkeys(PARTIES, 0)
    share = (cast - invalid) // len(PARTIES)
    for party in PARTIES:
        votes[party] = share
    votes[PARTIES[0]] += cast - invalid - share * len(PARTIES)
    return ({"registered": registered, "ballots_received": registered,
             "ballots_issued": cast + 3, "ballots_cast": cast, "invalid": invalid}, votes)


def entry_event(sha256: str, station_id: str, volunteer: str, cast: int,
                occurred_at: dt.datetime | None = None) -> Event:
    fields, votes = protocol_figures(cast)
    return protocol_entry_event(sha256, station_id, volunteer, fields, votes, occurred_at)


def store_events(warehouse: Warehouse, registry: pd.DataFrame, events: Sequence[Event],
                 times: int = 1) -> None:
    """Through the worker's batch path into the warehouse, `times` times (a re-delivered
    batch: the tables must not double count)."""
    messages = [Message("test", 0, offset, event_to_json(event).encode())
                for offset, event in enumerate(events)]
    now = dt.datetime.now(dt.UTC)
    result = process_batch(messages, station_index(registry),
                           DayWindow(now - dt.timedelta(days=1), now + dt.timedelta(days=1)),
                           RecentIds(), now)
    assert not result.rejects, result.rejects
    for _ in range(times):
        WarehouseSink(warehouse).write(result)


# --- A live site: broker, `saylau worker`, clickhouse-server, the dashboard ----------------

LEAD_REGION, OTHER_REGION = "KAZ011", "KAZ001"
# name -> (role, region): three volunteers for every region, one limited to LEAD_REGION.
USERS = {"hq": ("headquarters", None), "tab1": ("tabulator", None),
         "tab2": ("tabulator", None), "tab3": ("tabulator", None),
         "tab-own": ("tabulator", LEAD_REGION)}


@dataclass
class EntrySite:
    url: str
    warehouse_url: str
    registry: pd.DataFrame
    bootstrap: str
    prefix: str
    media_dir: Path
    worker: WorkerProcess
    passwords: dict[str, str]
    _photos: int = 0

    def station(self, region: str, number: int = 0) -> str:
        return str(self.registry[self.registry["region_code"] == region]
                   ["station_id"].iloc[number])

    def send_photo(self, station_id: str, observer_id: str = "obs-1") -> str:
        """An observer's protocol photo, stored and sent through the broker as the field app
        would; returns its hash once the worker has stored it."""
        self._photos += 1
        stored = store_photo(self.media_dir, seed=self._photos)
        event = photo_protocol(station_id, observer_id, stored.sha256,
                               dt.datetime.now(dt.UTC) - dt.timedelta(minutes=60 - self._photos))
        with EventProducer(self.bootstrap, self.prefix) as producer:
            producer.send_raw(f"{self.prefix}.{KIND_TOPIC['protocol']}",
                              station_id, event_to_json(event).encode())
        self.wait_for(lambda wh: stored.sha256 in set(tabulation_photos(wh)["sha256"]),
                      "the photo never reached the tabulation table")
        return stored.sha256

    def wait_for(self, condition: Callable[[Warehouse], bool], message: str,
                 timeout: float = 60) -> None:
        warehouse = open_warehouse(self.warehouse_url)
        try:
            deadline = time.monotonic() + timeout
            while not condition(warehouse):
                assert time.monotonic() < deadline, message
                time.sleep(0.3)
        finally:
            warehouse.close()

    def query(self, read: Callable[[Warehouse], T]) -> T:
        warehouse = open_warehouse(self.warehouse_url)
        try:
            return read(warehouse)
        finally:
            warehouse.close()

    def messages(self, suffix: str) -> list[dict]:
        """Every message on the site's topic ``suffix``, from the start."""
        topic = f"{self.prefix}.{suffix}"
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, consumer_timeout_ms=3000,
                                 auto_offset_reset="earliest")
        consumer.assign([TopicPartition(topic, p)
                         for p in consumer.partitions_for_topic(topic)])
        found = [json.loads(record.value) for record in consumer]
        consumer.close()
        return found

    def client(self, username: str) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30)
        answer = client.post("/auth/login", data={"username": username,
                                                  "password": self.passwords[username]})
        assert answer.status_code == 302, answer.text
        return client


@contextlib.contextmanager
def entry_site(broker: EmbeddedBroker, topic_prefix: str, clickhouse_server: ClickHouseServer,
               tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EntrySite]:
    users, passwords = tmp_path / "users.json", {}
    for name, (role, region) in USERS.items():
        passwords[name] = secrets.token_urlsafe(16)
        add_user(users, name, role, region, passwords[name], {LEAD_REGION, OTHER_REGION})
    monkeypatch.setenv("SAYLAU_DASHBOARD_USERS", str(users))
    monkeypatch.setenv("SAYLAU_DASHBOARD_SECRET", secrets.token_urlsafe(32))
    registry = synthetic_registry(n_stations=200, total_voters=200_000, seed=11)
    write_registry_csv(registry, tmp_path / "stations.csv")
    election_date, _now = election_day_now()
    url = (f"clickhouse://default@127.0.0.1:{clickhouse_server.tcp_port}/"
           f"t_{uuid.uuid4().hex[:10]}")
    env = {"SAYLAU_KAFKA_BOOTSTRAP": broker.bootstrap, "SAYLAU_TOPIC_PREFIX": topic_prefix,
           "SAYLAU_WORKER_GROUP": f"{topic_prefix}-worker", "SAYLAU_WAREHOUSE": url,
           "SAYLAU_DATA_DIR": str(tmp_path), "SAYLAU_REGISTRY": str(tmp_path / "stations.csv"),
           "SAYLAU_WORKER_BATCH_SECONDS": "0.2", "SAYLAU_LOG_LEVEL": "info",
           "SAYLAU_ELECTION_DATE": election_date.isoformat()}
    media_dir = tmp_path / "media"
    # One check-in first: the worker has caught up only once it has stored something, so
    # its warehouse exists before the dashboard reads it.
    first = registry["station_id"].iloc[0]
    with EventProducer(broker.bootstrap, topic_prefix) as producer:
        producer.send_raw(f"{topic_prefix}.{KIND_TOPIC['checkin']}", first, encode({
            "schema": "saylau.event/1", "event_id": str(uuid.uuid4()), "kind": "checkin",
            "station_id": first, "observer_id": "obs-1", "role": "observer",
            "occurred_at": dt.datetime.now(dt.UTC).isoformat()}))
    worker = WorkerProcess(env, tmp_path / "worker.log").start()
    try:
        worker.wait_caught_up()
        settings = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=topic_prefix,
                            warehouse=url, data_dir=tmp_path, election_date=election_date,
                            media_dir=media_dir, dashboard_refresh_seconds=1.0)
        server = DashboardServer(settings, url)
        try:
            yield EntrySite(server.url.rstrip("/"), url, registry, broker.bootstrap,
                            topic_prefix, media_dir, worker, passwords)
        finally:
            server.close()
        assert worker.stop() == 0, worker.tail()
    finally:
        worker.__exit__(None, None, None)
