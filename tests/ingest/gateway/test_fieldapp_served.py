"""The gateway serves the field app, its texts in three languages and its settings."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from saylau.ingest.gateway.fieldapp import APP_DIR, message_ids
from tests.ingest.gateway.conftest import bearer

pytestmark = pytest.mark.broker


def test_the_app_shell_manifest_and_service_worker_are_served(
        gateway_client: Callable[..., TestClient]) -> None:
    client = gateway_client()
    page = client.get("/app/")
    assert page.status_code == 200 and 'rel="manifest"' in page.text
    manifest = client.get("/app/manifest.json").json()
    assert manifest["start_url"] == "/app/" and manifest["display"] == "standalone"
    worker = client.get("/app/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert "caches" in worker.text
    for name in ("app.js", "app.css", "icon.svg"):
        assert client.get(f"/app/{name}").status_code == 200, name
    assert client.get("/app", follow_redirects=False).status_code in (307, 308)


def test_nothing_in_the_shell_comes_from_another_host() -> None:
    for path in APP_DIR.glob("*.*"):
        if path.suffix in (".html", ".js", ".css", ".json"):
            assert not re.search(r"https?://", path.read_text(encoding="utf-8")), path.name


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_texts_in_each_language(gateway_client: Callable[..., TestClient],
                                language: str) -> None:
    texts = gateway_client().get(f"/app/i18n/{language}.json").json()
    assert set(texts) == set(message_ids())
    expected = {"kk": "Хаттама көшірмесі", "ru": "Копия протокола", "en": "Protocol copy"}
    assert texts["Protocol copy"] == expected[language]


def test_an_unknown_language_is_404(gateway_client: Callable[..., TestClient]) -> None:
    assert gateway_client().get("/app/i18n/xx.json").status_code == 404


def test_every_text_of_the_app_is_in_every_catalog() -> None:
    """The English catalog lists every text the page and the script show (else it would stay
    English in Kazakh and Russian); kk and ru translate each one."""
    from saylau.ingest.gateway.fieldapp import messages

    script = (APP_DIR / "app.js").read_text(encoding="utf-8")
    page = (APP_DIR / "index.html").read_text(encoding="utf-8")
    used = set(re.findall(r'\bt\("([^"]+)"\)', script)) | set(
        re.findall(r'data-t="([^"]+)"', page))
    ids = set(message_ids())
    assert used <= ids, sorted(used - ids)
    for language in ("kk", "ru"):
        texts = messages(language)
        untranslated = [text for text in ids if texts[text] == text
                        and text not in ("Saylau observer",)]
        assert not untranslated, (language, untranslated[:5])


def test_config_has_the_ballot_and_the_field_settings(
        gateway_client: Callable[..., TestClient]) -> None:
    config = gateway_client(fieldapp_geofence_m=150.0).get("/app/config.json").json()
    assert config["geofence_m"] == 150.0
    assert "amanat" in [party["code"] for party in config["parties"]]
    assert "carousel_voting" in config["incident_categories"]
    assert len(config["election"]["reporting_times"]) == 6


def test_me_gives_the_station_position(gateway_client: Callable[..., TestClient],
                                       issue: Callable[..., str],
                                       registry_frame: pd.DataFrame, tmp_path: Path) -> None:
    me = gateway_client().get("/v1/me", headers=bearer(issue("obs-1"))).json()
    first = registry_frame.iloc[0]
    assert me["assigned_station"]["lat"] == pytest.approx(float(first["lat"]))
    assert me["assigned_station"]["lon"] == pytest.approx(float(first["lon"]))
