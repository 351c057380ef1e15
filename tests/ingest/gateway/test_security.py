"""Issue 27: attacks on the running gateway app (real broker), each refused with a 4xx.

Who may send what: official figures only with a headquarters token; an observer only for
the station the roster, an assignment by headquarters or (unrostered) their first check-in
places them at. Then the SMS parser, the token cache, the rate limiter and a journal whose
disk fills up.
"""

from __future__ import annotations

import errno
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from saylau.ingest.gateway.journal import SEGMENT_SUFFIX, Entry
from tests.conftest import CI
from tests.ingest.gateway.conftest import bearer
from tests.ingest.gateway.kafka_read import event_ids_in_kafka
from tests.integration.events import at, event

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


def two_regions(registry_frame) -> tuple[str, str]:
    """A station, and a station of another region."""
    home = registry_frame.iloc[0]
    other = registry_frame[registry_frame["region_code"] != home["region_code"]].iloc[0]
    return str(home["station_id"]), str(other["station_id"])


def official_protocol(station_id: str, observer_id: str) -> dict:
    return event("protocol", station_id, at(21), observer_id, source="official",
                 registered=900, ballots_received=900, ballots_issued=500, ballots_cast=500,
                 invalid=20, votes={"amanat": 400, "against_all": 80})


def wait_delivered(client: TestClient, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/healthz").json()["journal_pending"]:
        assert time.monotonic() < deadline, "the sender did not deliver the journal"
        time.sleep(0.05)


# --- finding 2: official figures and other stations -----------------------------------------
def test_an_observer_token_cannot_send_official_figures_nor_report_a_station_not_its_own(
        gateway_client, issue, registry_frame, broker, topic_prefix):
    home, elsewhere = two_regions(registry_frame)
    client = gateway_client(roster={"obs-1": home})
    observer = bearer(issue("obs-1"))
    attacks = {
        "official_source_not_allowed": [
            official_protocol(elsewhere, "obs-1"), official_protocol(home, "obs-1"),
            event("turnout", elsewhere, at(12), "obs-1", ballots_issued=400,
                  source="official")],
        "station_not_assigned": [
            event("turnout", elsewhere, at(12), "obs-1", ballots_issued=400),
            event("checkin", elsewhere, at(8), "obs-1")],
    }
    refused_ids = []
    for reason, reports in attacks.items():
        for report in reports:
            answer = client.post("/v1/events", json=report, headers=observer)
            assert (answer.status_code, answer.json().get("reason")) == (403, reason), answer.text
            refused_ids.append(report["event_id"])
    batch = client.post("/v1/events:batch", json={"events": attacks["station_not_assigned"]},
                        headers=observer)
    assert batch.status_code == 422
    assert {item["reason"] for item in batch.json()["refused"]} == {"station_not_assigned"}
    sms = client.post("/v1/sms", json={"text": f"T {elsewhere} 400"}, headers=observer)
    assert sms.status_code == 422 and "assigned" in sms.json()["reply"]

    own = event("turnout", home, at(12), "obs-1", ballots_issued=400)
    assert client.post("/v1/events", json=own, headers=observer).status_code == 202
    hq = bearer(issue("hq-1", role="hq"))
    commission = official_protocol(elsewhere, "hq-1")
    assert client.post("/v1/events", json=commission, headers=hq).status_code == 202
    wait_delivered(client)
    in_kafka = set(event_ids_in_kafka(broker.bootstrap, topic_prefix))
    assert in_kafka == {own["event_id"], commission["event_id"]}
    assert not in_kafka & set(refused_ids)


def test_an_assignment_by_headquarters_places_an_observer_at_another_station(
        gateway_client, issue, registry_frame):
    home, elsewhere = two_regions(registry_frame)
    client = gateway_client(roster={"obs-1": home})
    observer = bearer(issue("obs-1"))
    report = event("turnout", elsewhere, at(14), "obs-1", ballots_issued=10)
    assert client.post("/v1/events", json=report, headers=observer).status_code == 403
    move = event("assignment", home, at(13), "obs-1", assigned_by="hq-1",
                 target_station_id=elsewhere)
    assert client.post("/v1/events", json=move,
                       headers=bearer(issue("hq-1", role="hq"))).status_code == 202
    again = event("turnout", elsewhere, at(14), "obs-1", ballots_issued=10)
    assert client.post("/v1/events", json=again, headers=observer).status_code == 202


def test_without_a_roster_an_observers_first_checkin_places_them_and_nothing_else_does(
        gateway_client, issue, registry_frame):
    home, elsewhere = two_regions(registry_frame)
    client = gateway_client(roster=None)
    observer = bearer(issue("obs-5"))
    before = event("turnout", home, at(9), "obs-5", ballots_issued=3)
    answer = client.post("/v1/events", json=before, headers=observer)
    assert (answer.status_code, answer.json().get("reason")) == (403, "station_not_assigned")
    assert client.post("/v1/events", json=event("checkin", home, at(8), "obs-5"),
                       headers=observer).status_code == 202
    assert client.post("/v1/events", json=before, headers=observer).status_code == 202
    for report in (event("checkin", elsewhere, at(9), "obs-5"),
                   event("turnout", elsewhere, at(9), "obs-5", ballots_issued=3)):
        answer = client.post("/v1/events", json=report, headers=observer)
        assert (answer.status_code, answer.json().get("reason")) == (403, "station_not_assigned")


def test_a_checkin_placement_survives_a_gateway_restart(gateway_client, issue,
                                                        registry_frame):
    home, elsewhere = two_regions(registry_frame)
    first = gateway_client(roster=None)
    observer = bearer(issue("obs-5"))
    assert first.post("/v1/events", json=event("checkin", home, at(8), "obs-5"),
                      headers=observer).status_code == 202
    first.__exit__(None, None, None)
    second = gateway_client(roster=None)
    answer = second.post("/v1/events", json=event("checkin", elsewhere, at(9), "obs-5"),
                         headers=observer)
    assert (answer.status_code, answer.json().get("reason")) == (403, "station_not_assigned")


# --- SMS digits ------------------------------------------------------------------------------
@pytest.mark.parametrize("ballots", ["²", "1²", "١٢", "１２"])
def test_an_sms_whose_number_is_not_ascii_digits_gets_a_422_reply(gateway_client, issue,
                                                                   registry_frame, ballots):
    client = gateway_client()
    station_id = str(registry_frame["station_id"].iloc[0])
    answer = client.post("/v1/sms", json={"text": f"T {station_id} {ballots}"},
                         headers=bearer(issue("obs-1")))
    assert answer.status_code == 422, answer.text
    assert "whole number" in answer.json()["reply"]


# --- token cache -----------------------------------------------------------------------------
def test_authorization_values_that_are_not_tokens_are_not_cached(gateway_client, issue,
                                                                 registry_frame):
    client = gateway_client()
    tokens = client.app.state.gateway.tokens  # type: ignore[attr-defined]
    for number in range(30):
        junk = f"{number:04d}" + "x" * 12_000
        assert client.get("/v1/me", headers=bearer(junk)).status_code == 401
    assert tokens.cache_size == 0
    assert client.get("/v1/me", headers=bearer(issue("obs-1"))).status_code == 200
    assert tokens.cache_size == 1


# --- rate limit ------------------------------------------------------------------------------
def test_a_batch_is_charged_one_per_event_even_above_the_burst(gateway_client, issue,
                                                               registry_frame):
    client = gateway_client(gateway_rate_per_second=100.0, gateway_rate_burst=200)
    headers = bearer(issue("obs-1"))
    station_id = str(registry_frame["station_id"].iloc[0])
    batch = [event("checkin", station_id, at(7), "obs-1") for _ in range(1000)]
    answer = client.post("/v1/events:batch", json={"events": batch}, headers=headers)
    assert answer.status_code == 200 and len(answer.json()["accepted"]) == 1000
    # 1,000 events against a burst of 200 at 100/s: 800 owed, 8 s before the next report
    after = client.post("/v1/events", json=event("checkin", station_id, at(7), "obs-1"),
                        headers=headers)
    assert after.status_code == 429, after.text
    assert int(after.headers["Retry-After"]) >= 6


# --- the journal on a full disk --------------------------------------------------------------
@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs (we are root in the test container), unmounted afterwards."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                             capture_output=True, text=True, timeout=30)
    if mounted.returncode != 0:
        message = f"cannot mount a tmpfs (needs root): {mounted.stderr.strip()}"
        if CI:
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False, timeout=30)


def fill(folder: Path) -> Path:
    """Write a file until the file system is full."""
    path = folder / "filler"
    with open(path, "wb", buffering=0) as file:
        try:
            while True:
                file.write(b"\0" * 1024)
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return path


def journal_lines(folder: Path) -> list[bytes]:
    return [line for path in sorted(folder.glob(f"*{SEGMENT_SUFFIX}"))
            for line in path.read_bytes().splitlines(keepends=True)]


def test_a_journal_append_on_a_full_disk_leaves_nothing_behind(
        tiny_filesystem, gateway_client, issue, registry_frame, broker, topic_prefix):
    journal = tiny_filesystem / "journal"
    client = gateway_client(gateway_journal_dir=journal)
    headers = bearer(issue("obs-1"))
    station_id = str(registry_frame["station_id"].iloc[0])
    first = event("checkin", station_id, at(7), "obs-1")
    assert client.post("/v1/events", json=first, headers=headers).status_code == 202
    wait_delivered(client)  # the marker is written while there is room
    filler = fill(tiny_filesystem)
    # Larger than the room left in the segment's last page: part of it reaches the file.
    refused = [event("incident", station_id, at(9), "obs-1", category="other", severity=1,
                     description="x" * 1500) for _ in range(20)]
    answer = client.post("/v1/events:batch", json={"events": refused}, headers=headers)
    assert (answer.status_code, answer.json().get("reason")) == (503, "journal_unavailable")
    filler.unlink()
    second = event("checkin", station_id, at(8), "obs-1")
    accepted = client.post("/v1/events", json=second, headers=headers)
    assert accepted.status_code == 202 and accepted.json()["accepted"][0]["offset"] == 1
    wait_delivered(client)

    lines = journal_lines(journal)
    assert all(line.endswith(b"\n") for line in lines), "a torn line is left in the journal"
    entries = [Entry.parse(line) for line in lines]
    assert [entry.offset for entry in entries] == [0, 1]
    assert [json.loads(entry.record.value)["event_id"] for entry in entries] == [
        first["event_id"], second["event_id"]]
    in_kafka = set(event_ids_in_kafka(broker.bootstrap, topic_prefix))
    assert not in_kafka & {report["event_id"] for report in refused}
