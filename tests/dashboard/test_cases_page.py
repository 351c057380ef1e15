"""The citizen report cases page over real HTTP: the legal team and headquarters moderate
and see evidence; a regional lead sees only their region's verified reports, without
evidence; the media and anonymous visitors see neither."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from saylau.cli.runtime import station_index
from saylau.core.contract import CitizenReport, Media, event_to_json
from saylau.core.settings import Settings
from saylau.core.validation import DayWindow
from saylau.dashboard.actions import case_update_event
from saylau.dashboard.users import add_user
from saylau.geo.registry import synthetic_registry
from saylau.ingest.media import MediaStore, allowed_types
from saylau.kafka.broker import EmbeddedBroker
from saylau.streams.batch import Message, RecentIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse.client import create_schema, open_warehouse
from saylau.warehouse.queries import load_stations
from tests.citizen.reports import citizen_messages
from tests.dashboard.conftest import LEAD_REGION, OTHER_REGION, DashboardServer
from tests.fieldapp.photos import jpeg_with_gps

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]

CALLBACK = "/_dash-update-component"
TABLE = "..cases-table.children...cases-table-shown.data.."
USERS = (("hq", "headquarters", None), ("lawyer", "legal", None),
         ("lead", "regional_lead", LEAD_REGION), ("press", "media", None))


@dataclass
class CasesSite:
    url: str
    passwords: dict[str, str]
    cases: dict[str, str]  # name -> case id
    evidence: str  # the sha256 of case "pending_own"'s and "verified_own"'s photo
    bootstrap: str
    prefix: str

    def client(self, username: str | None) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30)
        if username is not None:
            answer = client.post("/auth/login", data={
                "username": username, "password": self.passwords[username]})
            assert answer.status_code == 302, answer.text
        return client


def report(region: str, words: str, media: list[Media]) -> CitizenReport:
    return CitizenReport.model_validate({
        "kind": "citizen_report", "event_id": uuid.uuid4(),
        "occurred_at": dt.datetime.now(dt.UTC), "category": "employer_pressure",
        "sector": "national_company", "region_code": region, "organisation": "KazCo",
        "description": words, "media": media, "contact_sealed": "c2VhbGVk"})


@pytest.fixture
def cases_site(tmp_path: Path, broker: EmbeddedBroker, topic_prefix: str,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[CasesSite]:
    users = tmp_path / "users.json"
    passwords = {}
    for name, role, region in USERS:
        passwords[name] = secrets.token_urlsafe(16)
        add_user(users, name, role, region, passwords[name], {LEAD_REGION, OTHER_REGION})
    monkeypatch.setenv("SAYLAU_DASHBOARD_USERS", str(users))
    registry = synthetic_registry(n_stations=200, total_voters=200_000, seed=11)
    media_dir = tmp_path / "media"
    stored = MediaStore(media_dir, allowed_types("image/jpeg"), 10**7).put(
        jpeg_with_gps(seed=5), "image/jpeg")
    photo = [Media(sha256=stored.sha256, mime="image/jpeg")]
    events = {"verified_own": report(LEAD_REGION, "verified-own-words", photo),
              "pending_own": report(LEAD_REGION, "pending-own-words", photo),
              "verified_other": report(OTHER_REGION, "verified-other-words", [])}
    cases = {name: str(event.event_id) for name, event in events.items()}
    updates = [case_update_event(cases[name], "lawyer", verdict="verified")
               for name in ("verified_own", "verified_other")]
    url = f"chdb://{tmp_path}/warehouse"
    warehouse = open_warehouse(url)
    create_schema(warehouse)
    load_stations(warehouse, registry)
    messages = [Message("test", 0, offset, event_to_json(event).encode())
                for offset, event in enumerate([*events.values(), *updates])]
    now = dt.datetime.now(dt.UTC)
    result = process_batch(messages, station_index(registry),
                           DayWindow(now - dt.timedelta(days=1), now + dt.timedelta(days=1)),
                           RecentIds(), now)
    assert not result.rejects
    WarehouseSink(warehouse).write(result)
    warehouse.close()
    settings = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=topic_prefix,
                        warehouse=url, data_dir=tmp_path, media_dir=media_dir,
                        dashboard_refresh_seconds=1.0)
    server = DashboardServer(settings, url)
    try:
        yield CasesSite(server.url.rstrip("/"), passwords, cases, stored.sha256,
                        broker.bootstrap, topic_prefix)
    finally:
        server.close()


def table_request() -> dict[str, Any]:
    return {"output": TABLE, "outputs": [{"id": "cases-table", "property": "children"},
                                          {"id": "cases-table-shown", "property": "data"}],
            "inputs": [{"id": "cases-tick", "property": "n_intervals", "value": 1}],
            "state": [{"id": "cases-table-shown", "property": "data", "value": None}],
            "changedPropIds": ["cases-tick.n_intervals"]}


def verdict_request(case_id: str, verdict: str) -> dict[str, Any]:
    button = {"type": "cases-verdict", "case": case_id, "verdict": verdict}
    changed = json.dumps(button, separators=(",", ":"), sort_keys=True)

    def states(kind: str) -> list[dict[str, Any]]:
        return [{"id": {"type": kind, "case": case_id}, "property": "value", "value": None}]
    return {"output": "cases-result.children",
            "outputs": {"id": "cases-result", "property": "children"},
            "inputs": [[{"id": button, "property": "n_clicks", "value": 1}],
                       [{"id": {"type": "cases-set-status", "case": case_id},
                         "property": "n_clicks", "value": 0}]],
            "state": [states("cases-status"), states("cases-note"),
                      states("cases-duplicate-of")],
            "changedPropIds": [f"{changed}.n_clicks"]}


def shown(answer: httpx.Response) -> str:
    """The callback's answer as text, decoded (Dash escapes "/" in its JSON)."""
    return json.dumps(answer.json(), ensure_ascii=False)


def test_the_legal_team_and_headquarters_see_every_report_with_its_evidence(
        cases_site: CasesSite) -> None:
    for username in ("lawyer", "hq"):
        with closing(cases_site.client(username)) as client:
            answer = client.post(CALLBACK, json=table_request())
            assert answer.status_code == 200, answer.text[:300]
            for case_id in cases_site.cases.values():
                assert case_id in shown(answer)
            assert f"/evidence/{cases_site.evidence}" in shown(answer)
            assert "c2VhbGVk" not in shown(answer)  # not even the sealed contact
            photo = client.get(f"/evidence/{cases_site.evidence}")
            assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"
            assert client.get("/cases").status_code == 200


def test_a_regional_lead_sees_only_the_region_s_verified_reports_without_evidence(
        cases_site: CasesSite) -> None:
    with closing(cases_site.client("lead")) as lead:
        answer = lead.post(CALLBACK, json=table_request())
        assert answer.status_code == 200, answer.text[:300]
        assert cases_site.cases["verified_own"] in shown(answer)
        assert "verified-own-words" in shown(answer)
        for hidden in ("pending_own", "verified_other"):
            assert cases_site.cases[hidden] not in shown(answer)
        assert "pending-own-words" not in shown(answer)
        assert "verified-other-words" not in shown(answer)
        assert "/evidence/" not in shown(answer) and "c2VhbGVk" not in answer.text
        assert lead.get(f"/evidence/{cases_site.evidence}").status_code == 403
        moderate = lead.post(CALLBACK, json=verdict_request(cases_site.cases["verified_own"],
                                                            "rejected"))
        assert moderate.status_code == 403
    assert citizen_messages(cases_site.bootstrap, cases_site.prefix, timeout_ms=500) == []


def test_the_media_and_anonymous_visitors_see_no_case(cases_site: CasesSite) -> None:
    with closing(cases_site.client("press")) as press:
        assert press.post(CALLBACK, json=table_request()).status_code == 403
        assert press.get("/cases").status_code == 403
        assert press.get(f"/evidence/{cases_site.evidence}").status_code == 403
    with closing(cases_site.client(None)) as anonymous:
        assert anonymous.post(CALLBACK, json=table_request()).status_code == 401
        assert anonymous.get(f"/evidence/{cases_site.evidence}").status_code in (302, 401)


def test_a_lawyer_s_verdict_is_a_case_update_on_kafka(cases_site: CasesSite) -> None:
    case_id = cases_site.cases["pending_own"]
    with closing(cases_site.client("lawyer")) as lawyer:
        answer = lawyer.post(CALLBACK, json=verdict_request(case_id, "spam"))
        assert answer.status_code == 200, answer.text[:300]
        assert "cases-sent" in shown(answer)
    [(event, _headers)] = citizen_messages(cases_site.bootstrap, cases_site.prefix)
    assert (event["kind"], event["case_id"], event["verdict"], event["observer_id"]) == (
        "case_update", case_id, "spam", "lawyer")
