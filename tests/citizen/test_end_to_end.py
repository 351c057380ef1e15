"""Citizen reports through the real gateway, broker, worker and ClickHouse: nothing that
identifies the reporter is written anywhere; the case workflow is events, so it survives a
worker restart and a replay rebuilds it; the lawyer alone opens a contact."""

from __future__ import annotations

import secrets
import struct
import uuid
from pathlib import Path

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition

from saylau.core.sealing import generate_keypair
from saylau.dashboard.actions import ActionSender, case_update_event
from saylau.warehouse.citizen import public_counts
from saylau.warehouse.client import open_warehouse
from tests.citizen.conftest import CitizenSite
from tests.citizen.reports import evidence, report_body, with_work
from tests.fieldapp.photos import jpeg_with_gps
from tests.integration.worker import WorkerProcess

pytestmark = pytest.mark.broker

# How the test photo's GPS position (43°15'30" N, 76°54'10" E) is written in EXIF:
# rationals, in either byte order, and in decimal degrees as a reader would show them.
GPS_MARKS = [struct.pack(f"{order}LLLLLL", 43, 1, 15, 1, 30, 1) for order in "<>"] + \
    [struct.pack(f"{order}LLLLLL", 76, 1, 54, 1, 10, 1) for order in "<>"] + \
    [b"43.2583", b"76.9027"]


def send(site: CitizenSite, body: dict, headers: dict[str, str] | None = None) -> str:
    with httpx.Client(base_url=site.gateway.url, timeout=30) as client:
        answer = client.post("/v1/citizen-reports", json=with_work(client, body),
                             headers=headers or {})
    assert answer.status_code == 202, answer.text
    return str(answer.json()["case_id"])


def kafka_bytes(bootstrap: str, prefix: str) -> bytes:
    """Every key, value and header of every topic of the run."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=2000,
                             auto_offset_reset="earliest", enable_auto_commit=False)
    try:
        topics = [name for name in consumer.topics() if name.startswith(f"{prefix}.")]
        consumer.assign([TopicPartition(topic, p) for topic in topics
                         for p in consumer.partitions_for_topic(topic) or ()])
        chunks = []
        for record in consumer:
            chunks += [record.key or b"", record.value or b""]
            chunks += [name.encode() + value for name, value in record.headers or []]
        assert chunks, "no message read: the search would find nothing anyway"
        return b"\n".join(chunks)
    finally:
        consumer.close()


def warehouse_bytes(url: str) -> bytes:
    warehouse = open_warehouse(url)
    try:
        tables = warehouse.query_df("SELECT name FROM system.tables WHERE database = "
                                    "{db:String}", {"db": url.rsplit("/", 1)[1]})["name"]
        assert "events" in set(tables)
        return b"\n".join(warehouse.query_df(f"SELECT * FROM $db.`{name}`").to_csv()
                          .encode("utf-8") for name in tables)
    finally:
        warehouse.close()


def files_bytes(root: Path) -> bytes:
    return b"\n".join(path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file())


def test_nothing_the_system_writes_identifies_the_reporter(citizen_site: CitizenSite) -> None:
    site = citizen_site
    marks = []
    cases = []
    for number in range(3):
        agent = f"Mozilla/5.0 (Linux; Android 9) UniqueAgent-{secrets.token_hex(6)}"
        address = f"10.{number + 7}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 2}"
        contact = f"witness-{secrets.token_hex(6)}@example.kz"
        cookie = f"sid={secrets.token_hex(8)}"
        marks += [agent, address, contact, cookie]
        cases.append(send(site, report_body(
            site.region, contact=contact, evidence=[evidence(jpeg_with_gps(seed=number))]),
            {"User-Agent": agent, "X-Forwarded-For": address, "X-Real-IP": address,
             "Cookie": cookie}))
    sender = ActionSender(site.env["SAYLAU_KAFKA_BOOTSTRAP"], site.env["SAYLAU_TOPIC_PREFIX"])
    try:
        sender.send(case_update_event(cases[0], "lawyer-1", verdict="verified"))
    finally:
        sender.close()
    site.wait_cases({cases[0]: ("verified", "new"), cases[1]: ("pending", "new"),
                     cases[2]: ("pending", "new")})
    site.worker.wait_caught_up()
    metrics = httpx.get(f"{site.gateway.url}/metrics", timeout=10).content
    export = site.saylau("export", "--out", str(site.data_dir / "exports"))
    assert export.returncode == 0, export.stderr
    written = {"files (journal, media, logs, exports)": files_bytes(site.data_dir),
               "kafka": kafka_bytes(site.env["SAYLAU_KAFKA_BOOTSTRAP"],
                                    site.env["SAYLAU_TOPIC_PREFIX"]),
               "warehouse": warehouse_bytes(site.warehouse_url), "metrics": metrics}
    # the searches do read what was stored: the report's own words are there
    for where in ("kafka", "warehouse", "files (journal, media, logs, exports)"):
        assert b"The director told all staff" in written[where], where
    for where, data in written.items():
        for mark in marks:
            assert mark.encode() not in data, f"{mark!r} found in {where}"
        for gps in GPS_MARKS:
            assert gps not in data, f"the photo's GPS position found in {where}"


def test_the_case_workflow_survives_a_restart_and_a_replay_rebuilds_it(
        citizen_site: CitizenSite, tmp_path: Path) -> None:
    site = citizen_site
    contact = f"+7 701 {secrets.randbelow(10**7):07d}"
    first = send(site, report_body(site.region, contact=contact))
    second = send(site, report_body(site.region, category="admin_resource",
                                    sector="state_body"))
    third = send(site, report_body(site.region))
    sender = ActionSender(site.env["SAYLAU_KAFKA_BOOTSTRAP"], site.env["SAYLAU_TOPIC_PREFIX"])
    try:
        for update in (case_update_event(first, "lawyer-1", verdict="verified"),
                       case_update_event(first, "lawyer-1", status="contacted",
                                         note="called back"),
                       case_update_event(second, "hq-1", verdict="rejected"),
                       case_update_event(third, "lawyer-1", verdict="duplicate",
                                         duplicate_of=first),
                       case_update_event(first, "lawyer-1", status="legal_help")):
            sender.send(update)
        site.wait_cases({first: ("verified", "legal_help"), second: ("rejected", "new"),
                         third: ("duplicate", "new")})
        assert site.worker.stop() == 0, site.worker.tail()
        site.worker = WorkerProcess(site.env, site.data_dir / "worker-2.log").start()
        sender.send(case_update_event(first, "lawyer-1", status="closed", note="done"))
    finally:
        sender.close()
    wanted = {first: ("verified", "closed"), second: ("rejected", "new"),
              third: ("duplicate", "new")}
    before = site.wait_cases(wanted)
    fresh = site.warehouse_url + "_replay"
    replay = site.saylau("replay", "kafka", "--into", fresh, timeout=300)
    assert replay.returncode == 0, replay.stderr
    after = site.wait_cases(wanted, url=fresh, timeout=10)
    columns = ["event_id", "region_code", "category", "sector", "verdict", "status"]
    assert after[columns].to_dict("records") == before[columns].to_dict("records")

    warehouse = open_warehouse(site.warehouse_url)
    try:
        counts = public_counts(warehouse)
    finally:
        warehouse.close()
    assert counts.to_dict("records") == [{"region_code": site.region,
                                          "category": "employer_pressure",
                                          "sector": "school", "reports": 1}]

    export = site.saylau("export", "--out", str(tmp_path / "exports"))
    assert export.returncode == 0, export.stderr
    text = (tmp_path / "exports" / "latest" / "citizen-reports.csv").read_text(
        encoding="utf-8")
    assert text == f"region_code,category,sector,reports\n{site.region},employer_pressure," \
                   "school,1\n"

    opened = site.saylau("cases", "contact", first, "--key", str(site.private_key))
    assert (opened.returncode, opened.stdout.strip()) == (0, contact), opened.stderr
    other = tmp_path / "stranger.key"
    generate_keypair(other, tmp_path / "stranger.key.pub")
    refused = site.saylau("cases", "contact", first, "--key", str(other))
    assert refused.returncode == 1 and contact not in refused.stdout + refused.stderr
    none = site.saylau("cases", "contact", str(uuid.uuid4()), "--key", str(site.private_key))
    assert none.returncode == 1
