"""POST /v1/citizen-reports against a started gateway and the real broker: accepted reports
reach PREFIX.citizen with the contact sealed and the photo stripped; every bad request is a
clear 4xx and leaves nothing behind (no file, no message)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from saylau.core.sealing import SealingError, generate_keypair, private_key_file, unseal
from saylau.ingest.citizen.protection import leading_zero_bits, work_digest
from saylau.kafka.broker import EmbeddedBroker
from tests.citizen.reports import citizen_messages, evidence, report_body, with_work
from tests.fieldapp.photos import has_metadata, jpeg_with_gps
from tests.ingest.gateway.conftest import bearer

pytestmark = pytest.mark.broker


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, str]:
    private = tmp_path / "keys" / "legal.key"
    public = generate_keypair(private, tmp_path / "keys" / "legal.key.pub")
    return private, public


@pytest.fixture
def citizen_client(gateway_client: Callable[..., TestClient], keys: tuple[Path, str]
                   ) -> Callable[..., TestClient]:
    def make(**overrides: object) -> TestClient:
        values: dict[str, object] = {"citizen_legal_public_key": keys[1],
                                     "citizen_pow_bits": 8, **overrides}
        return gateway_client(**values)
    return make


@pytest.fixture
def region(registry_frame: pd.DataFrame) -> str:
    return str(registry_frame["region_code"].iloc[0])


def files_under(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


def test_a_report_with_a_photo_and_a_contact_reaches_kafka_sealed_and_stripped(
        citizen_client: Callable[..., TestClient], keys: tuple[Path, str], region: str,
        broker: EmbeddedBroker, topic_prefix: str, tmp_path: Path) -> None:
    client = citizen_client()
    contact = "telegram @witness-7731"
    body = with_work(client, report_body(region, contact=contact,
                                         evidence=[evidence(jpeg_with_gps(seed=4))]))
    answer = client.post("/v1/citizen-reports", json=body)
    assert answer.status_code == 202, answer.text
    case_id = answer.json()["case_id"]
    client.get("/healthz")
    messages = citizen_messages(broker.bootstrap, topic_prefix, timeout_ms=3000)
    assert [event["event_id"] for event, _ in messages] == [case_id]
    event, headers = messages[0]
    assert [name for name, _ in headers] == ["saylau-received-at"]  # nothing of the sender
    assert (event["kind"], event["station_id"], event["observer_id"]) == (
        "citizen_report", "citizen", "anonymous")
    assert contact not in json.dumps(event) and "contact" not in event
    assert unseal(event["contact_sealed"], private_key_file(keys[0])) == contact
    other = tmp_path / "other.key"
    generate_keypair(other, tmp_path / "other.key.pub")
    with pytest.raises(SealingError):
        unseal(event["contact_sealed"], private_key_file(other))
    [stored] = files_under(tmp_path / "media")
    assert stored.name == f"{event['media'][0]['sha256']}.jpg"
    assert not has_metadata(stored.read_bytes())


def test_no_contact_is_taken_without_a_legal_key(
        citizen_client: Callable[..., TestClient], region: str) -> None:
    client = citizen_client(citizen_legal_public_key="")
    assert client.get("/report/config.json").json()["contact_enabled"] is False
    answer = client.post("/v1/citizen-reports",
                         json=with_work(client, report_body(region, contact="+7 701 0")))
    assert answer.status_code == 422
    assert answer.json()["reason"] == "contact_not_accepted"
    plain = client.post("/v1/citizen-reports", json=with_work(client, report_body(region)))
    assert plain.status_code == 202, plain.text


def test_the_proof_of_work_must_be_solved_fresh_and_once(
        citizen_client: Callable[..., TestClient], region: str) -> None:
    client = citizen_client(citizen_pow_bits=12, citizen_rate_burst=20)
    missing = client.post("/v1/citizen-reports", json=report_body(region))
    assert missing.status_code == 422
    challenge = client.get("/v1/citizen-reports/challenge").json()
    assert challenge["bits"] == 12
    nonce = next(str(n) for n in range(100) if leading_zero_bits(
        work_digest(challenge["challenge"], str(n))) < 12)
    wrong = report_body(region, pow={"challenge": challenge["challenge"], "nonce": nonce})
    answer = client.post("/v1/citizen-reports", json=wrong)
    assert (answer.status_code, answer.json()["reason"]) == (403, "pow_insufficient")
    forged = report_body(region, pow={"challenge": "1.2.3", "nonce": "0"})
    answer = client.post("/v1/citizen-reports", json=forged)
    assert (answer.status_code, answer.json()["reason"]) == (403, "pow_invalid")
    good = with_work(client, report_body(region))
    assert client.post("/v1/citizen-reports", json=good).status_code == 202
    again = client.post("/v1/citizen-reports", json=good)
    assert (again.status_code, again.json()["reason"]) == (403, "pow_spent")


def test_an_address_is_rate_limited_and_told_when_to_retry(
        citizen_client: Callable[..., TestClient], region: str) -> None:
    client = citizen_client(citizen_rate_burst=2, citizen_rate_per_hour=1)
    statuses = [client.post("/v1/citizen-reports",
                            json=with_work(client, report_body(region))).status_code
                for _ in range(3)]
    assert statuses == [202, 202, 429]
    limited = client.post("/v1/citizen-reports", json=with_work(client, report_body(region)))
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 60


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.bin", b"\0" * 20_000_000)
    return out.getvalue()


def pixel_bomb() -> bytes:
    """A PNG that claims 100,000 x 100,000 pixels (a decompression bomb)."""
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, format="PNG")
    data = bytearray(out.getvalue())
    data[16:24] = (100_000).to_bytes(4, "big") * 2  # IHDR width and height
    return bytes(data)


HOSTILE = [
    ("not json", b"{\"category\": ", 400, "invalid_json"),
    ("a list", b"[]", 422, "invalid_report"),
    ("wrong type", {"severity": 3}, 422, "invalid_report"),
    ("category as a number", {"category": 7}, 422, "invalid_report"),
    ("an unknown sector", {"sector": "army"}, 422, "invalid_report"),
    ("an unknown region", {"region_code": "XX999"}, 422, "unknown_region"),
    ("an empty description", {"description": ""}, 422, "invalid_report"),
    ("an oversized description", {"description": "x" * 5001}, 422, "invalid_report"),
    ("an oversized organisation", {"organisation": "o" * 301}, 422, "invalid_report"),
    ("an oversized contact", {"contact": "c" * 501}, 422, "invalid_report"),
    ("an extra field", {"ip": "10.0.0.1"}, 422, "invalid_report"),
    ("a naive time", {"occurred_at": "2026-03-10T10:00:00"}, 422, "invalid_report"),
    ("a zip bomb named .jpg", {"evidence": [evidence(zip_bomb(), name="photo.jpg")]},
     422, "unreadable_image"),
    ("a text file named .jpg", {"evidence": [evidence(b"hello " * 100, name="x.jpg")]},
     422, "unreadable_image"),
    ("a png sent as jpeg", {"evidence": [evidence(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)]},
     422, "unreadable_image"),
    ("a pixel bomb", {"evidence": [evidence(pixel_bomb(), mime="image/png")]},
     422, None),
    ("a video", {"evidence": [evidence(b"\0\0\0\x18ftypmp42" + b"\0" * 64,
                                       mime="video/mp4")]}, 422, "invalid_report"),
    ("not base64", {"evidence": [{"mime": "image/jpeg", "data": "%%%"}]},
     422, "invalid_evidence"),
    ("too many files", {"evidence": [evidence(jpeg_with_gps(seed=i)) for i in range(6)]},
     422, "too_much_evidence"),
]


@pytest.mark.parametrize(("name", "change", "status", "reason"), HOSTILE,
                         ids=[case[0] for case in HOSTILE])
def test_hostile_requests_get_a_clear_4xx_and_leave_nothing(
        citizen_client: Callable[..., TestClient], region: str, broker: EmbeddedBroker,
        topic_prefix: str, tmp_path: Path, name: str, change: object, status: int,
        reason: str | None) -> None:
    client = citizen_client(citizen_rate_burst=50)
    if isinstance(change, bytes):
        answer = client.post("/v1/citizen-reports", content=change,
                             headers={"Content-Type": "application/json"})
    else:
        assert isinstance(change, dict)
        body = with_work(client, {**report_body(region), **change})
        # a valid photo first: it must not be stored when a later part is refused
        body.setdefault("evidence", [evidence(jpeg_with_gps(seed=9))])
        if change.get("evidence"):
            body["evidence"] = [evidence(jpeg_with_gps(seed=9)), *change["evidence"]][:6]
        answer = client.post("/v1/citizen-reports", json=body)
    assert answer.status_code == status, answer.text
    if reason is not None:
        assert answer.json()["reason"] == reason
    assert files_under(tmp_path / "media") == []
    assert citizen_messages(broker.bootstrap, topic_prefix, timeout_ms=500) == []


def test_a_hostile_file_name_is_ignored_and_an_oversized_body_refused(
        citizen_client: Callable[..., TestClient], region: str, tmp_path: Path) -> None:
    client = citizen_client(citizen_max_body_bytes=200_000)
    body = with_work(client, report_body(region, evidence=[
        evidence(jpeg_with_gps(seed=2), name="../../../etc/passwd\0.jpg")]))
    assert client.post("/v1/citizen-reports", json=body).status_code == 202
    [stored] = files_under(tmp_path / "media")
    assert stored.parent.parent == tmp_path / "media" and "passwd" not in stored.name
    huge = client.post("/v1/citizen-reports", content=b"{" + b" " * 300_000 + b"}",
                       headers={"Content-Type": "application/json"})
    assert (huge.status_code, huge.json()["reason"]) == (413, "body_too_large")


def test_an_observer_token_cannot_send_citizen_kinds(
        citizen_client: Callable[..., TestClient], issue: Callable[..., str],
        region: str) -> None:
    client = citizen_client()
    event = {"kind": "citizen_report", "event_id": "5b0f8f4e-7f53-4d7e-9d43-5f0c1d3e2a10",
             "occurred_at": "2026-03-15T07:00:00+00:00", "category": "other",
             "sector": "other", "region_code": region, "description": "x"}
    answer = client.post("/v1/events", json=event, headers=bearer(issue("hq-1", role="hq")))
    assert (answer.status_code, answer.json()["reason"]) == (403, "citizen_route")


def test_the_page_and_its_texts_are_served_in_three_languages(
        citizen_client: Callable[..., TestClient]) -> None:
    client = citizen_client()
    page = client.get("/report/")
    assert page.status_code == 200 and "report.js" in page.text
    assert "set-cookie" not in page.headers
    kk = client.get("/report/i18n/kk.json").json()
    ru = client.get("/report/i18n/ru.json").json()
    assert kk["Send report"] == "Хабарлама жіберу" and ru["Send report"].startswith("Отправ")
    assert client.get("/report/report.js").status_code == 200
    assert "/v1/citizen-reports" in client.get("/openapi.json").json()["paths"]
