"""The media page in headless Chromium lists the published bundles, and its links serve
the very files the manifests describe."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
from selenium import webdriver
from selenium.webdriver.support.ui import WebDriverWait

from saylau.core.settings import Settings
from saylau.exports import Exporter
from saylau.warehouse.client import open_warehouse
from tests.dashboard.conftest import (  # noqa: F401  (Chromium, users who can log in)
    DashboardUsers,
    chrome,
    dashboard_env,
    dashboard_users,
    log_in,
)
from tests.dashboard.served import serve
from tests.exports.days import ELECTION, simulated_day

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

TIMES = (ELECTION.local(dt.time(12)), ELECTION.local(dt.time(21)))


@pytest.fixture
def media_site(registry: pd.DataFrame, tmp_path: Path) -> Iterator[tuple[str, list[Path]]]:
    warehouse = open_warehouse(f"chdb://{tmp_path}/warehouse")
    simulated_day(warehouse, registry)
    exporter = Exporter.create(warehouse, ELECTION, tmp_path / "exports")
    bundles = [exporter.export(as_of) for as_of in TIMES]
    with serve(Settings(export_dir=tmp_path / "exports"), warehouse) as url:
        yield url, bundles
    warehouse.close()


def fetch(url: str, session: str) -> bytes:
    """A file, asked for with a logged-in session's cookie."""
    request = urllib.request.Request(url, headers={"Cookie": f"session={session}"})
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        return response.read()  # type: ignore[no-any-return]


def session_of(site: str, users: DashboardUsers, username: str) -> str:
    answer = httpx.post(f"{site}/auth/login", data={"username": username,
                                                   "password": users.passwords[username]})
    assert answer.status_code == 302
    return str(answer.cookies["session"])


def test_media_page_lists_every_bundle_with_working_download_links(
        media_site: tuple[str, list[Path]], chrome: webdriver.Chrome,  # noqa: F811
        dashboard_users: DashboardUsers, artifacts: Path) -> None:  # noqa: F811
    site, bundles = media_site
    browser = chrome
    log_in(browser, site, "press", dashboard_users.passwords["press"])
    session = str(browser.get_cookie("session")["value"])  # type: ignore[index]
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
            body = fetch(link, session)
            if name == "manifest.json":
                assert body == (folder / name).read_bytes()
            else:
                assert hashlib.sha256(body).hexdigest() == manifest["files"][name]["sha256"]


def test_export_route_serves_latest_and_refuses_anything_else(
        media_site: tuple[str, list[Path]], dashboard_users: DashboardUsers) -> None:  # noqa: F811
    site, bundles = media_site
    session = session_of(site, dashboard_users, "press")
    assert fetch(f"{site}/exports/latest/summary.json", session) == \
        (bundles[1] / "summary.json").read_bytes()
    # Media and headquarters only: without a session, the login; a regional lead, 403.
    anonymous = httpx.get(f"{site}/exports/latest/summary.json")
    assert anonymous.status_code == 302 and anonymous.headers["location"].startswith("/login")
    lead = session_of(site, dashboard_users, "lead")
    with pytest.raises(urllib.error.HTTPError) as refused:
        fetch(f"{site}/exports/latest/summary.json", lead)
    assert refused.value.code == 403
    for bad in ("/exports/not-a-bundle/summary.json", f"/exports/{bundles[0].name}/nothing",
                f"/exports/{bundles[0].name}/..%2F..%2Fwarehouse",
                "/exports/..%2F/summary.json"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            fetch(site + bad, session)
        assert refused.value.code == 404, bad
