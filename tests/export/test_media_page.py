"""The media page in headless Chromium lists the published bundles, and its links serve
the very files the manifests describe."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from dashboard.app import create_dashboard
from dashboard.export import Exporter
from infra.broker import free_port
from saylau.settings import Settings
from tests.dashboard.test_browser import browser  # noqa: F401  (the Chromium fixture)
from tests.export.days import ELECTION, simulated_day
from warehouse.client import open_warehouse

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

TIMES = (ELECTION.local(dt.time(12)), ELECTION.local(dt.time(21)))


@pytest.fixture
def media_site(registry: pd.DataFrame, tmp_path: Path) -> Iterator[tuple[str, list[Path]]]:
    warehouse = open_warehouse(f"chdb://{tmp_path}/warehouse")
    simulated_day(warehouse, registry)
    exporter = Exporter.create(warehouse, ELECTION, tmp_path / "exports")
    bundles = [exporter.export(as_of) for as_of in TIMES]
    app = create_dashboard(Settings(export_dir=tmp_path / "exports"), warehouse)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", free_port(), app.server, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", bundles
    server.shutdown()
    warehouse.close()


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (loopback)
        return response.read()  # type: ignore[no-any-return]


def test_media_page_lists_every_bundle_with_working_download_links(
        media_site: tuple[str, list[Path]], browser: webdriver.Chrome,  # noqa: F811
        artifacts: Path) -> None:
    site, bundles = media_site
    browser.get(f"{site}/media")
    rows = WebDriverWait(browser, 60).until(lambda d: d.execute_script(
        "const rows = [...document.querySelectorAll('tr.media-bundle')];"
        "return rows.length ? rows.map(r => ({id: r.id, first: r.cells[0].textContent,"
        " links: [...r.querySelectorAll('a')].map(a => a.href)})) : null;"))
    newest, older = bundles[1], bundles[0]
    assert [row["id"] for row in rows] == [f"media-bundle-{newest.name}",
                                           f"media-bundle-{older.name}"]
    assert rows[0]["first"] == "2026-03-15T16:00:00Z (latest)"
    assert rows[1]["first"] == "2026-03-15T07:00:00Z"
    browser.save_screenshot(str(artifacts / "media.png"))
    for row, folder in zip(rows, (newest, older), strict=True):
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert len(row["links"]) == len(manifest["files"]) + 1
        for link in row["links"]:
            name = link.rsplit("/", 1)[1]
            body = fetch(link)
            if name == "manifest.json":
                assert body == (folder / name).read_bytes()
            else:
                assert hashlib.sha256(body).hexdigest() == manifest["files"][name]["sha256"]


def test_export_route_serves_latest_and_refuses_anything_else(
        media_site: tuple[str, list[Path]]) -> None:
    site, bundles = media_site
    assert fetch(f"{site}/exports/latest/summary.json") == \
        (bundles[1] / "summary.json").read_bytes()
    for bad in ("/exports/not-a-bundle/summary.json", f"/exports/{bundles[0].name}/nothing",
                f"/exports/{bundles[0].name}/..%2F..%2Fwarehouse",
                "/exports/..%2F/summary.json"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            fetch(site + bad)
        assert refused.value.code == 404, bad
