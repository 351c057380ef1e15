"""POST /v1/media: photos stored once by SHA-256 without their metadata; bad uploads are 4xx."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.fieldapp.photos import has_metadata, jpeg_with_gps
from tests.ingest.gateway.conftest import bearer

pytestmark = pytest.mark.broker


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def test_a_photo_with_gps_tags_is_stored_once_without_them(
        gateway_client: Callable[..., TestClient], issue: Callable[..., str],
        tmp_path: Path) -> None:
    client = gateway_client()
    photo = jpeg_with_gps()
    assert has_metadata(photo)  # the test picture does carry GPS and the phone model
    headers = {**bearer(issue("obs-1")), "Content-Type": "image/jpeg"}
    first = client.post("/v1/media", content=photo, headers=headers)
    again = client.post("/v1/media", content=photo, headers=headers)
    assert first.status_code == again.status_code == 201, first.text
    assert first.json()["sha256"] == again.json()["sha256"]
    assert (first.json()["created"], again.json()["created"]) == (True, False)
    files = stored_files(tmp_path / "media")
    assert len(files) == 1
    data = files[0].read_bytes()
    assert hashlib.sha256(data).hexdigest() == first.json()["sha256"]
    assert files[0].name == f"{first.json()['sha256']}.jpg"
    assert not has_metadata(data)
    assert Image.open(io.BytesIO(data)).size == (64, 48)


def test_headquarters_may_upload_and_a_missing_token_may_not(
        gateway_client: Callable[..., TestClient], issue: Callable[..., str]) -> None:
    client = gateway_client()
    photo = jpeg_with_gps(seed=3)
    assert client.post("/v1/media", content=photo,
                       headers={"Content-Type": "image/jpeg"}).status_code == 401
    answer = client.post("/v1/media", content=photo,
                         headers={**bearer(issue("hq-1", role="hq")),
                                  "Content-Type": "image/jpeg"})
    assert answer.status_code == 201


@pytest.mark.parametrize(("content", "content_type", "status", "reason"), [
    (b"%PDF-1.4 not a photo", "application/pdf", 415, "unsupported_media_type"),
    (b"\xff\xd8\xff\xe0 broken jpeg", "image/jpeg", 422, "unreadable_image"),
    (b"", "image/jpeg", 422, "empty_upload"),
    (b"not a video at all, no ftyp box", "video/mp4", 422, "type_mismatch"),
])
def test_bad_uploads_get_a_clear_4xx(gateway_client: Callable[..., TestClient],
                                     issue: Callable[..., str], tmp_path: Path,
                                     content: bytes, content_type: str, status: int,
                                     reason: str) -> None:
    client = gateway_client()
    answer = client.post("/v1/media", content=content,
                         headers={**bearer(issue("obs-1")), "Content-Type": content_type})
    assert answer.status_code == status, answer.text
    assert answer.json()["reason"] == reason
    assert stored_files(tmp_path / "media") == []


def test_a_png_sent_as_jpeg_is_refused(gateway_client: Callable[..., TestClient],
                                       issue: Callable[..., str]) -> None:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="PNG")
    answer = gateway_client().post("/v1/media", content=out.getvalue(),
                                   headers={**bearer(issue("obs-1")),
                                            "Content-Type": "image/jpeg"})
    assert (answer.status_code, answer.json()["reason"]) == (422, "type_mismatch")


def test_uploads_larger_than_the_media_limit_are_413(
        gateway_client: Callable[..., TestClient], issue: Callable[..., str]) -> None:
    client = gateway_client(media_max_bytes=2048)
    answer = client.post("/v1/media", content=jpeg_with_gps(size=(400, 300)),
                         headers={**bearer(issue("obs-1")), "Content-Type": "image/jpeg"})
    assert (answer.status_code, answer.json()["reason"]) == (413, "body_too_large")


def test_the_media_limit_is_its_own_and_not_the_events_limit(
        gateway_client: Callable[..., TestClient], issue: Callable[..., str]) -> None:
    """A photo larger than SAYLAU_GATEWAY_MAX_BODY_BYTES is still taken by /v1/media."""
    client = gateway_client(gateway_max_body_bytes=1024)
    photo = jpeg_with_gps(size=(200, 150))
    assert len(photo) > 1024
    answer = client.post("/v1/media", content=photo,
                         headers={**bearer(issue("obs-1")), "Content-Type": "image/jpeg"})
    assert answer.status_code == 201, answer.text
