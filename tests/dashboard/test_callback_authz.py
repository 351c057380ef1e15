"""Issue 27: attacks on the dashboard's callback endpoint, made over real HTTP against a
running dashboard (real warehouse, real broker where an action is sent).

- a callback request whose inputs do not match the callback's registration (the page
  router judged by one input and run with another) gets nothing, anonymously or as any role;
- exit-poll figures stay off every page until the embargo ends, as in the exports;
- /metrics labels only the app's own callbacks;
- a regional lead's region check reads decoded values;
- an action from another site (Origin / Referer) is refused.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dash
import flask
import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.exceptions import Forbidden

from saylau.analysis.report import analysis_tables
from saylau.core.contract import topic_for
from saylau.core.settings import Settings
from saylau.dashboard.app import create_dashboard
from saylau.dashboard.auth import may_open, page_of_path
from saylau.exports.bundle import Exporter
from saylau.warehouse.client import Warehouse, open_warehouse
from tests.dashboard.conftest import LEAD_REGION, OTHER_REGION, DashboardUsers
from tests.dashboard.served import serve
from tests.dashboard.test_authz import Site, callback_request, site
from tests.dashboard.wall_day import KnownDay, load_day
from tests.integration.events import at

__all__ = ["site"]  # a fixture, used by name below
pytestmark = [pytest.mark.timeout(300)]

CALLBACK_PATH = "/_dash-update-component"
ROUTER = ".._pages_content.children..._pages_store.data.."
STATION_REFRESH = ("..station-turnout.figure...station-incidents.children...station-exitpoll"
                   ".children...station-protocols.children...station-timeline.children..")
USERS = ("hq", "lead", "other-lead", "press")


# --- A day whose data ends before the polls close: the exit poll is embargoed ----------------

@dataclass
class EmbargoedDay:
    url: str
    warehouse: Warehouse
    settings: Settings
    day: KnownDay
    station: str  # a station with exit-poll interviews, in the lead's region


def exitpoll_day() -> KnownDay:
    """Check-ins, turnout and exit-poll batches at stations of three regions, the last
    report at 17:00 local: three hours before the polls close."""
    from saylau.geo.registry import synthetic_registry

    day = KnownDay(synthetic_registry(n_stations=200, total_voters=200_000, seed=11))
    for region in (LEAD_REGION, OTHER_REGION, "KAZ002"):
        for number, station in enumerate(day.stations(region)[:4]):
            observer = f"obs-{region}-{number}"
            day.add("checkin", station, at(7, 30), observer, role="observer")
            day.add("turnout", station, at(12), observer,
                    ballots_issued=day.voters(station) // 4)
            for hour, (a, b) in ((15, (20 + number, 10)), (17, (30, 12 + number))):
                day.add("exitpoll", station, at(hour), observer, window_start=at(hour - 1),
                        window_end=at(hour), interviews=a + b + 3,
                        choices={"amanat": a, "auyl": b, "against_all": 3})
    return day


@pytest.fixture
def embargoed(tmp_path: Path) -> Iterator[EmbargoedDay]:
    day = exitpoll_day()
    warehouse = open_warehouse(f"chdb://{tmp_path}/warehouse")
    load_day(warehouse, day)
    settings = Settings(dashboard_refresh_seconds=1.0, data_dir=tmp_path)
    with serve(settings, warehouse) as url:
        yield EmbargoedDay(url, warehouse, settings, day, day.stations(LEAD_REGION)[0])
    warehouse.close()


def client(url: str, users: DashboardUsers | None = None, name: str | None = None
           ) -> httpx.Client:
    """Anonymous, or logged in as `name` through the login form's POST."""
    session = httpx.Client(base_url=url, timeout=60)
    if users is not None and name is not None:
        answer = session.post("/auth/login", data={"username": name,
                                                   "password": users.passwords[name]})
        assert answer.status_code == 302 and "session" in session.cookies
    return session


def router_request(pathname: str, search: str = "") -> dict[str, Any]:
    """The page router's request, as the Dash front end sends it."""
    return {"output": ROUTER,
            "outputs": [{"id": "_pages_content", "property": "children"},
                        {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": pathname},
                       {"id": "_pages_location", "property": "search", "value": search}],
            "changedPropIds": ["_pages_location.pathname"]}


def decoy_router_request() -> dict[str, Any]:
    """The attack of finding 1: judged by the input named _pages_location (/login), run
    with the first input's value (/analysis)."""
    body = router_request("/analysis")
    body["inputs"] = [{"id": "decoy", "property": "pathname", "value": "/analysis"},
                      {"id": "_pages_location", "property": "pathname", "value": "/login"}]
    return body


def exported_exit_poll(day: EmbargoedDay) -> dict[str, Any]:
    """The exit-poll block `saylau export` writes at this moment (its default as-of)."""
    exporter = Exporter.create(day.warehouse, day.settings.election(),
                               day.settings.export_path, day.settings.registry_path)
    folder = exporter.export(exporter.default_as_of())
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))["exit_poll"]


def test_the_router_cannot_be_judged_by_one_input_and_run_with_another(
        embargoed: EmbargoedDay, dashboard_users: DashboardUsers) -> None:
    """Finding 1: the decoy request gets nothing, whoever sends it; the real router
    request for /analysis is headquarters' only, and even they see no exit-poll figure
    while the exports hold the block back."""
    assert exported_exit_poll(embargoed)["status"] == "embargoed"
    for name in (None, *USERS):
        session = client(embargoed.url, dashboard_users, name)
        answer = session.post(CALLBACK_PATH, json=decoy_router_request())
        assert answer.status_code in (400, 401, 403), (name, answer.status_code)
        assert "analysis-estimate" not in answer.text, name
    for name, allowed in ((None, False), ("lead", False), ("press", False), ("hq", True)):
        answer = client(embargoed.url, dashboard_users, name).post(
            CALLBACK_PATH, json=router_request("/analysis"))
        assert (answer.status_code == 200) == allowed, (name, answer.status_code)
        assert "analysis-estimate-exitpoll" not in answer.text, name
    assert "analysis-estimate-observer_copy" not in answer.text  # no protocols yet
    assert "embargoed until" in answer.text.lower()


def test_the_analysis_page_and_its_downloads_hold_back_the_exit_poll_until_the_embargo_ends(
        embargoed: EmbargoedDay, dashboard_users: DashboardUsers) -> None:
    """The exit-poll estimates exist (analysis_tables has them), yet neither the page's
    layout (its stores feed the charts) nor any CSV download carries one, for headquarters;
    no other role gets a download at all."""
    tables = analysis_tables(embargoed.warehouse, embargoed.settings.election())
    assert "exitpoll" in set(tables["estimates"]["source"])
    hq = client(embargoed.url, dashboard_users, "hq")
    page = hq.post(CALLBACK_PATH, json=router_request("/analysis"))
    assert page.status_code == 200 and '"exitpoll"' not in page.text
    for name in tables:
        answer = hq.get(f"/analysis/tables/{name}.csv")
        assert answer.status_code == 200 and "exitpoll" not in answer.text, name
    assert hq.get("/analysis/tables/no_such_table.csv").status_code == 404
    for name, refused in ((None, 302), ("lead", 403), ("other-lead", 403), ("press", 403)):
        answer = client(embargoed.url, dashboard_users, name).get(
            "/analysis/tables/estimates.csv")
        assert answer.status_code == refused, (name, answer.status_code)
        assert "exitpoll" not in answer.text and "observer_copy" not in answer.text


def test_the_station_page_holds_back_the_exit_poll_until_the_embargo_ends(
        embargoed: EmbargoedDay, dashboard_users: DashboardUsers) -> None:
    hq = client(embargoed.url, dashboard_users, "hq")
    spec = hq.get("/_dash-dependencies").json()
    assert STATION_REFRESH in {d["output"] for d in spec}
    body = {"output": STATION_REFRESH,
            "outputs": [{"id": f"station-{name}", "property": prop} for name, prop in (
                ("turnout", "figure"), ("incidents", "children"), ("exitpoll", "children"),
                ("protocols", "children"), ("timeline", "children"))],
            "inputs": [{"id": "station-tick", "property": "n_intervals", "value": 1},
                       {"id": "station-tt-as-of", "property": "data", "value": None}],
            "state": [{"id": "station-id", "property": "data", "value": embargoed.station}],
            "changedPropIds": ["station-tick.n_intervals"]}
    answer = hq.post(CALLBACK_PATH, json=body)
    assert answer.status_code == 200, answer.text[:300]
    exitpoll = json.dumps(answer.json()["response"]["station-exitpoll"])
    assert "station-exitpoll-total" not in exitpoll and "%" not in exitpoll
    assert "embargoed until" in exitpoll.lower()


# --- Every callback, its inputs permuted, renamed, duplicated and dropped -------------------

def _renamed(slot: Any) -> Any:
    if isinstance(slot, list):
        return [_renamed(entry) for entry in slot]
    component = slot["id"]
    decoy = ({**component, "type": f"decoy-{component.get('type')}"}
             if isinstance(component, dict) else f"decoy-{component}")
    return {**slot, "id": decoy}


def _property_renamed(slot: Any) -> Any:
    if isinstance(slot, list):
        return [_property_renamed(entry) for entry in slot]
    return {**slot, "property": "children" if slot["property"] != "children" else "title"}


def mutations(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what was changed, the request) for every way a request can differ from its
    registration: order, ids, properties, extra and missing slots, claimed outputs."""
    for name in ("inputs", "state"):
        slots = list(body.get(name) or [])
        if len(slots) > 1 and slots != slots[::-1]:
            yield f"{name} permuted", {**body, name: slots[::-1]}
        for i, slot in enumerate(slots):
            yield f"{name}[{i}] dropped", {**body, name: slots[:i] + slots[i + 1:]}
            yield f"{name}[{i}] duplicated", {**body, name: [*slots[:i + 1], slot,
                                                               *slots[i + 1:]]}
            yield f"{name}[{i}] renamed", {**body, name: [*slots[:i], _renamed(slot),
                                                            *slots[i + 1:]]}
            yield f"{name}[{i}] property renamed", {
                **body, name: [*slots[:i], _property_renamed(slot), *slots[i + 1:]]}
        if slots:
            yield f"{name} given twice", {**body, name: slots + slots}
    if body.get("state") and body["state"] != body["inputs"]:
        yield "inputs and state swapped", {**body, "inputs": body["state"],
                                           "state": body["inputs"]}
    media = {"id": "media-bundles", "property": "children"}
    if body["output"] != "media-bundles.children":
        claimed = [media] * len(body["outputs"]) if isinstance(body["outputs"], list) \
            else media
        yield "outputs claim the media page", {**body, "outputs": claimed}


def test_every_callback_that_differs_from_its_registration_is_refused(
        embargoed: EmbargoedDay, dashboard_users: DashboardUsers) -> None:
    sessions = {name or "anonymous": client(embargoed.url, dashboard_users, name)
                for name in (None, *USERS)}
    published = sessions["anonymous"].get("/_dash-dependencies").json()
    app_callbacks = {d["output"]: d for d in published}
    assert len(app_callbacks) >= 15 and ROUTER in app_callbacks
    answered, tried = {}, 0
    for output, spec in app_callbacks.items():
        body = callback_request(output, spec, f"/region/{LEAD_REGION}")
        # The same request as registered is not refused as malformed.
        assert sessions["hq"].post(CALLBACK_PATH, json=body).status_code != 400, output
        for change, mutated in mutations(body):
            for name, session in sessions.items():
                answer = session.post(CALLBACK_PATH, json=mutated)
                tried += 1
                if answer.status_code not in (400, 401, 403) or '"response"' in answer.text:
                    answered[(output[:60], change, name)] = answer.status_code
    assert tried > 500
    assert answered == {}, f"{len(answered)} of {tried} answered: {answered}"


# --- Every page's layout checks the role itself ---------------------------------------------

def test_every_page_layout_refuses_a_user_whose_role_may_not_open_it(
        embargoed: EmbargoedDay, dashboard_users: DashboardUsers) -> None:
    """Behind the guard, each layout() checks the role again: a router request that got
    past the guard for another page still renders nothing."""
    app = create_dashboard(embargoed.settings, embargoed.warehouse)
    app.server.test_client().get("/_dash-dependencies")  # Dash registers its pages
    from saylau.dashboard.users import UserDirectory

    directory = UserDirectory(dashboard_users.path)
    users = {name: directory.get(name) for name in USERS}
    refused = {}
    for page in dash.page_registry.values():
        name = page_of_path(page["path"])
        for username, user in (("anonymous", None), *users.items()):
            if may_open(user, name):
                continue
            with app.server.test_request_context(page["path"]):
                flask.g.saylau_user = user
                try:
                    page["layout"](code=LEAD_REGION, station_id=embargoed.station)
                except Forbidden:
                    continue
            refused[(name, username)] = "rendered"
    assert refused == {}


# --- Finding 4: /metrics labels only the app's own callbacks --------------------------------

def series(url: str) -> set[tuple[tuple[str, str], ...]]:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    return {tuple(sorted(sample.labels.items()))
            for family in text_string_to_metric_families(text)
            if family.name == "saylau_dashboard_requests"
            for sample in family.samples if sample.name.endswith("_total")}


def test_anonymous_made_up_callbacks_do_not_grow_the_metrics(
        embargoed: EmbargoedDay, dashboard_users: DashboardUsers) -> None:
    hq = client(embargoed.url, dashboard_users, "hq")
    assert hq.post(CALLBACK_PATH, json=router_request("/")).status_code == 200
    before = series(embargoed.url)
    anonymous = client(embargoed.url)
    for number in range(500):
        made_up = f"made-up-{number}"
        anonymous.post(CALLBACK_PATH, json={
            "output": f"{made_up}.children", "outputs": {"id": made_up, "property": "children"},
            "inputs": [], "changedPropIds": []})
    after = series(embargoed.url)
    assert len(after - before) <= 3, sorted(after - before)[:5]
    handlers = {dict(labels)["handler"] for labels in after}
    assert f"callback:{ROUTER}" in handlers  # the app's own callbacks keep their label
    assert not any("made-up" in handler for handler in handlers)


# --- A regional lead: decoded values name the region ----------------------------------------

def test_an_escaped_region_code_does_not_slip_past_the_lead_s_region_check(
        site: Site, dashboard_users: DashboardUsers) -> None:
    lead = client(site.url, dashboard_users, "lead")
    assert lead.get(f"/region/{LEAD_REGION}").status_code == 200
    percent = OTHER_REGION.replace("K", "%4B", 1)  # %4B is K
    answer = lead.get(f"/region/{LEAD_REGION}?region={percent}")
    assert answer.status_code == 403 and answer.json()["reason"] == "another region's data"

    output = "..incidents-table.children...incidents-count.children...incidents-table-shown.data.."
    body = callback_request(output, site.app.callback_map[output], OTHER_REGION)
    escaped = json.dumps(body).replace(f'"{OTHER_REGION}"', '"\\u004b' + OTHER_REGION[1:] + '"')
    assert escaped != json.dumps(body)
    answer = lead.post(CALLBACK_PATH, content=escaped,
                       headers={"content-type": "application/json"})
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("application/json"), answer.text[:200]
    assert answer.json()["reason"] == "another region's data"
    routed = router_request(f"/region/{LEAD_REGION}", f"?region={percent}")
    answer = lead.post(CALLBACK_PATH, json=routed)
    assert answer.status_code == 403 and answer.json()["reason"] == "another region's data"


# --- CSRF: Verify from another site ----------------------------------------------------------

def reviews_on_topic(site: Site, bootstrap: str, prefix: str) -> list[dict]:
    topic = topic_for("review", prefix)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, consumer_timeout_ms=3000,
                             auto_offset_reset="earliest")
    consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
    found = [json.loads(record.value) for record in consumer]
    consumer.close()
    return [message for message in found if message.get("kind") == "review"]


def verify_request(incident_id: str) -> dict[str, Any]:
    button = {"incident": incident_id, "type": "incidents-review", "verdict": "verified"}
    return {"output": "incidents-review-result.children",
            "outputs": {"id": "incidents-review-result", "property": "children"},
            "inputs": [[{"id": button, "property": "n_clicks", "value": 1}]],
            "state": [{"id": "incidents-region", "property": "value", "value": None},
                      {"id": "incidents-tt-as-of", "property": "data", "value": None}],
            "changedPropIds": [json.dumps(button, separators=(",", ":"), sort_keys=True)
                               + ".n_clicks"]}


def test_an_action_sent_from_another_site_is_refused(
        site: Site, dashboard_users: DashboardUsers, broker: Any, topic_prefix: str) -> None:
    hq = client(site.url, dashboard_users, "hq")
    incident = next(iter(site.incidents))
    sibling = "http://evil.dashboard.example"  # a sibling subdomain shares SameSite=Lax
    for headers in ({"Origin": sibling}, {"Referer": f"{sibling}/verify"},
                    {"Origin": "null"}):
        answer = hq.post(CALLBACK_PATH, json=verify_request(incident), headers=headers)
        assert answer.status_code == 403, (headers, answer.status_code, answer.text[:200])
    assert reviews_on_topic(site, broker.bootstrap, topic_prefix) == []
    # The dashboard's own page, and a client that is no browser (no Origin), are served.
    own = site.url.rstrip("/")
    for headers in ({"Origin": own}, {"Referer": f"{own}/incidents"}, {}):
        answer = hq.post(CALLBACK_PATH, json=verify_request(incident), headers=headers)
        assert answer.status_code == 200 and "Sent: verified" in answer.text, answer.text[:300]
    sent = reviews_on_topic(site, broker.bootstrap, topic_prefix)
    assert len(sent) == 3 and {m["incident_id"] for m in sent} == {incident}
    assert dt.datetime.fromisoformat(sent[0]["occurred_at"]) <= dt.datetime.now(dt.UTC)


def test_a_body_nested_too_deep_to_parse_gets_400_not_500(
        embargoed: EmbargoedDay, dashboard_users: DashboardUsers) -> None:
    deep = "[" * 5000 + "]" * 5000
    for name in (None, "hq", "lead"):
        answer = client(embargoed.url, dashboard_users, name).post(
            CALLBACK_PATH, content=deep, headers={"content-type": "application/json"})
        assert answer.status_code == 400, (name, answer.status_code)
