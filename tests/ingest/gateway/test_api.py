"""The HTTP API against the real broker: what is accepted reaches Kafka, the rest never does."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from fastapi.testclient import TestClient

from saylau.ingest.gateway.openapi import OPENAPI_PATH, render
from tests.ingest.gateway.conftest import bearer
from tests.ingest.gateway.kafka_read import event_ids_in_kafka, refused_in_kafka
from tests.integration.events import at, event

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


def station(registry_frame, number: int = 0) -> str:
    return str(registry_frame["station_id"].iloc[number])


def wait_delivered(client: TestClient, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while client.get("/healthz").json()["journal_pending"]:
        assert time.monotonic() < deadline, "the sender did not deliver the journal"
        time.sleep(0.05)


def test_an_accepted_event_reaches_kafka_once(gateway_client, issue, registry_frame, broker,
                                              topic_prefix):
    client = gateway_client()
    report = event("turnout", station(registry_frame), at(10), "obs-1", ballots_issued=12)
    answer = client.post("/v1/events", json=report, headers=bearer(issue("obs-1")))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert [item["event_id"] for item in body["accepted"]] == [report["event_id"]]
    assert body["refused"] == []
    assert body["accepted"][0]["received_at"].startswith("2026-03-15T07:00")
    wait_delivered(client)
    assert event_ids_in_kafka(broker.bootstrap, topic_prefix) == [report["event_id"]]


def test_a_batch_says_which_events_were_accepted_and_why_others_were_refused(
        gateway_client, issue, registry_frame):
    client = gateway_client()
    sid = station(registry_frame)
    good = event("checkin", sid, at(7), "obs-1")
    bad_field = event("incident", sid, at(9), "obs-1", category="other", severity=7)
    unknown = event("checkin", "NOWHERE-1", at(9), "obs-1")
    late = event("checkin", sid, "2026-03-20T12:00:00+05:00", "obs-1")
    answer = client.post("/v1/events:batch", json={"events": [good, bad_field, unknown, late,
                                                              "text"]},
                         headers=bearer(issue("obs-1")))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [item["index"] for item in body["accepted"]] == [0]
    refused = {item["index"]: item for item in body["refused"]}
    assert refused[1]["reason"] == "invalid_event"
    assert refused[1]["errors"][0]["field"] == "incident.severity"
    assert refused[2]["reason"] == "unknown_station"
    assert refused[2]["errors"][0]["field"] == "station_id"
    assert refused[3]["reason"] == "outside_election_day"
    assert refused[4]["reason"] == "invalid_event"


def test_a_known_senders_malformed_messages_are_kept_for_rejected_with_their_reason(
        gateway_client, issue, registry_frame, broker, topic_prefix):
    client = gateway_client()
    sid, token = station(registry_frame), bearer(issue("obs-1"))
    unreadable = b'{"kind": "checkin", "station_id": '
    bad_field = event("incident", sid, at(9), "obs-1", category="other", severity=7)
    not_mine = event("checkin", sid, at(9), "obs-2")  # a token's rights: refused, not kept
    assert client.post("/v1/events", content=unreadable, headers=token).status_code == 400
    assert client.post("/v1/events", content=unreadable).status_code == 400  # anonymous
    answer = client.post("/v1/events:batch", json={"events": [bad_field, not_mine, "text"]},
                         headers=token)
    assert answer.status_code == 422, answer.text
    wait_delivered(client)
    kept = refused_in_kafka(broker.bootstrap, topic_prefix)
    assert [(item["reason"], item["raw"]) for item in kept] == [
        ("invalid_json", unreadable.decode()),
        ("invalid_event", json.dumps(bad_field, ensure_ascii=False)),
        ("invalid_event", '"text"')]
    assert len({item["key"] for item in kept}) == 3
    assert event_ids_in_kafka(broker.bootstrap, topic_prefix, timeout_ms=500) == []


def test_refusals_never_echo_the_values_sent(gateway_client, issue, registry_frame):
    client = gateway_client()
    secret = "Aigerim Nurlanovna +7 701 555 1234"
    report = event("turnout", station(registry_frame), at(10), "obs-1", ballots_issued=secret)
    answer = client.post("/v1/events", json=report, headers=bearer(issue("obs-1")))
    assert answer.status_code == 422
    assert "Aigerim" not in answer.text and "555" not in answer.text
    assert answer.json()["refused"][0]["errors"][0]["field"] == "turnout.ballots_issued"


@pytest.mark.parametrize("case", ["no_token", "malformed", "expired", "revoked",
                                  "other_observer", "observer_sends_review"])
def test_a_report_without_a_valid_credential_is_refused_and_never_reaches_kafka(
        case, gateway_client, issue, registry_frame, broker, topic_prefix, tmp_path):
    from saylau.ingest.gateway.tokens import TokenStore, tokens_path
    from tests.ingest.gateway.conftest import PEPPER

    client = gateway_client()
    sid = station(registry_frame)
    report = event("turnout", sid, at(10), "obs-1", ballots_issued=5)
    headers = bearer(issue("obs-1"))
    expected = 401
    if case == "no_token":
        headers = {}
    elif case == "malformed":
        headers = bearer("sy_nothing")
    elif case == "expired":
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        headers = bearer(issue("obs-1", days=1, now=past))
    elif case == "revoked":
        store = TokenStore(tokens_path(tmp_path), PEPPER)
        issued = store.issue("obs-1")
        assert store.revoke(issued.identity.token_id)
        store.close()
        headers = bearer(issued.token)
    elif case == "other_observer":
        headers, expected = bearer(issue("obs-2")), 403
    elif case == "observer_sends_review":
        report = event("review", sid, at(12), "obs-1", incident_id=report["event_id"],
                       verdict="verified", reviewer_id="obs-1")
        expected = 403
    answer = client.post("/v1/events", json=report, headers=headers)
    assert answer.status_code == expected, answer.text
    assert answer.json()["reason"]
    batch = client.post("/v1/events:batch", json={"events": [report]}, headers=headers)
    assert batch.status_code in {401, 422}
    assert client.get("/healthz").json()["journal_next_offset"] == 0
    time.sleep(0.3)
    assert event_ids_in_kafka(broker.bootstrap, topic_prefix, timeout_ms=500) == []


def test_headquarters_send_reviews_and_assignments_in_their_own_name(
        gateway_client, issue, registry_frame):
    client = gateway_client()
    sid, target = station(registry_frame, 0), station(registry_frame, 1)
    hq = bearer(issue("hq-1", role="hq"))
    review = event("review", sid, at(12), "obs-1", incident_id=event("x", sid, "")["event_id"],
                   verdict="verified", reviewer_id="hq-1")
    move = event("assignment", sid, at(12), "obs-1", assigned_by="hq-1",
                 target_station_id=target)
    impostor = event("assignment", sid, at(12), "obs-1", assigned_by="hq-2",
                     target_station_id=target)
    answer = client.post("/v1/events:batch", json={"events": [review, move, impostor]},
                         headers=hq)
    assert [item["index"] for item in answer.json()["accepted"]] == [0, 1]
    assert answer.json()["refused"][0]["reason"] == "observer_mismatch"


def test_invalid_json_body_too_large_and_too_many_events_are_4xx_with_a_reason(
        gateway_client, issue):
    client = gateway_client(gateway_max_body_bytes=2048, gateway_max_batch=3)
    headers = bearer(issue("obs-1"))
    cases = [
        (client.post("/v1/events", content=b"{not json", headers=headers), 400),
        (client.post("/v1/events", content=b"x" * 5000, headers=headers), 413),
        (client.post("/v1/events:batch", json={"events": [{}] * 4}, headers=headers), 413),
        (client.post("/v1/events:batch", json={"events": []}, headers=headers), 422),
        (client.post("/v1/events", content=b"[NaN]", headers=headers), 422),
    ]
    for answer, status in cases:
        assert answer.status_code == status, answer.text
        assert reason_of(answer.json())


def reason_of(body: dict) -> str:
    """An error's reason, or the first refused event's."""
    return body.get("reason") or body["refused"][0]["reason"]


def test_an_observer_over_the_rate_limit_gets_429_with_retry_after(gateway_client, issue,
                                                                    registry_frame):
    client = gateway_client(gateway_rate_per_second=1.0, gateway_rate_burst=3)
    headers = bearer(issue("obs-1"))
    sid = station(registry_frame)
    codes = [client.post("/v1/events", json=event("checkin", sid, at(7), "obs-1"),
                         headers=headers).status_code for _ in range(5)]
    assert codes[:3] == [202, 202, 202] and 429 in codes[3:]
    limited = client.post("/v1/events", json=event("checkin", sid, at(7), "obs-1"),
                          headers=headers)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_me_tells_the_observer_their_token_and_assignment(gateway_client, issue):
    client = gateway_client()
    answer = client.get("/v1/me", headers=bearer(issue("obs-7")))
    assert answer.status_code == 200
    assert answer.json()["observer_id"] == "obs-7" and answer.json()["role"] == "observer"
    assert client.get("/v1/me").status_code == 401


def test_metrics_are_prometheus_text(gateway_client, issue, registry_frame):
    client = gateway_client()
    client.post("/v1/events", json=event("checkin", station(registry_frame), at(7), "obs-1"),
                headers=bearer(issue("obs-1")))
    text = client.get("/metrics").text
    assert 'saylau_gateway_accepted_events_total{kind="checkin"} 1.0' in text
    assert "saylau_gateway_journal_pending" in text


def test_committed_openapi_document_is_current():
    assert json.loads(OPENAPI_PATH.read_text(encoding="utf-8")) == json.loads(render()), \
        "run `python -m saylau.ingest.gateway.openapi` and commit saylau/ingest/openapi.json"
