"""Authorisation over real HTTP against a running dashboard: a regional lead's session gets
403 for another region's data on every data endpoint.

The endpoints are not listed here: every Dash callback comes from `app.callback_map` and
every Flask route from the server's URL map, so a new one is tested the day it appears.
Each is asked for the other region by every kind of reference a request can carry (region
code, station id, incident id, observer id, page path), in every input and state slot and
in every wildcard of a pattern-matching id.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from dash import Dash

from saylau.cli.runtime import station_index
from saylau.core.settings import Settings
from saylau.core.validation import DayWindow
from saylau.geo.registry import synthetic_registry
from saylau.geo.roster import save_roster, split_roster
from saylau.kafka.broker import EmbeddedBroker
from saylau.streams.batch import Message, RecentIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse.client import create_schema, open_warehouse
from saylau.warehouse.queries import load_stations
from tests.dashboard.conftest import (
    LEAD_REGION,
    OTHER_REGION,
    DashboardServer,
    DashboardUsers,
    KnownDay,
    election_day_now,
)

pytestmark = [pytest.mark.broker, pytest.mark.timeout(300)]

CALLBACK_PATH = "/_dash-update-component"
# Served to anyone: scripts, styles, the login page and form, the empty layout and the
# list of callbacks. They carry no data (checked below: no region's station in them).
PUBLIC_ROUTES = {"/assets/<path:filename>",
                 "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>",
                 "/_dash-layout", "/_dash-dependencies", "/_reload-hash", "/_favicon.ico",
                 "/auth/login", "/metrics"}
LOGOUT = "/auth/logout"  # public too; asked last, it would end the session under test
# Callbacks that read no data answer a lead whatever the inputs (or fail on nonsense
# ones); their answers are checked to mention no other region. Only the time-travel
# controls (ids PAGE-tt-*: slider arithmetic) are such; every other callback is data.
NO_DATA_OUTPUT = re.compile(r"^[a-z]+-tt-[a-z-]+\.[a-z_]+$")


def reads_no_data(output: str) -> bool:
    return all(NO_DATA_OUTPUT.match(part) for part in output.strip(".").split("..."))


def clientside(spec: dict[str, Any]) -> bool:
    """A callback the browser runs (the version polls, the wall's rotation): the server
    has no function for it and answers 404 (saylau/dashboard/auth.py)."""
    return spec.get("callback") is None


@dataclass
class Site:
    url: str
    warehouse_url: str
    app: Dash
    registry: pd.DataFrame
    incidents: dict[str, str]  # incident_id -> station_id
    roster: pd.DataFrame

    def references(self, region: str) -> dict[str, str]:
        """One reference of each kind to `region`'s data."""
        station = self.registry.loc[self.registry["region_code"] == region,
                                    "station_id"].iloc[0]
        incident = next(i for i, s in self.incidents.items()
                        if s.startswith(region))
        observer = self.roster.loc[self.roster["home_region"] == region,
                                   "observer_id"].iloc[-1]
        return {"region": region, "station": station, "incident": incident,
                "observer": observer, "page": f"/region/{region}",
                "station page": f"/station/{station}"}


@pytest.fixture
def site(tmp_path: Path, broker: EmbeddedBroker, topic_prefix: str) -> Iterator[Site]:
    registry = synthetic_registry(n_stations=200, total_voters=200_000, seed=11)
    election_date, now = election_day_now()
    day = KnownDay(registry, now)
    roster = split_roster(pd.DataFrame(day.roster_rows))
    save_roster(roster, tmp_path / "roster")
    url = f"chdb://{tmp_path}/warehouse"
    warehouse = open_warehouse(url)
    create_schema(warehouse)
    load_stations(warehouse, registry)
    batch = [Message("test", 0, offset, value)
             for offset, (_kind, _key, value) in enumerate(day.messages)]
    settings = Settings(kafka_bootstrap=broker.bootstrap, topic_prefix=topic_prefix,
                        warehouse=url, data_dir=tmp_path, election_date=election_date,
                        dashboard_refresh_seconds=1.0)
    window = DayWindow.for_election(election_date, settings.tz)
    result = process_batch(batch, station_index(registry), window, RecentIds(),
                           dt.datetime.now(dt.UTC))
    assert not result.rejects
    WarehouseSink(warehouse).write(result)
    warehouse.close()
    server = DashboardServer(settings, url)
    try:
        yield Site(server.url.rstrip("/"), url, server.app, registry, day.incidents, roster.public)
    finally:
        server.close()


def logged_in(site: Site, users: DashboardUsers, username: str) -> httpx.Client:
    client = httpx.Client(base_url=site.url, timeout=30)
    answer = client.post("/auth/login", data={"username": username,
                                              "password": users.passwords[username]})
    assert answer.status_code == 302 and "session" in client.cookies
    return client


# --- Requests built from the app's own list of callbacks ----------------------------------

def server_callbacks(site: Site, client: httpx.Client) -> dict[str, dict[str, Any]]:
    """Every callback of the app: app.callback_map, checked against what Dash publishes
    to browsers (so none is missed and none is made up). Clientside ones are included: a
    forged request may name them too."""
    published = client.get("/_dash-dependencies").json()
    assert set(site.app.callback_map) == {d["output"] for d in published}
    return dict(site.app.callback_map)


def _split_outputs(output: str) -> list[dict[str, Any]]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    found = []
    for part in parts:
        component, prop = part.rsplit(".", 1)
        found.append({"id": json.loads(component) if component.startswith("{") else component,
                      "property": prop})
    return found


def _slot(spec: dict[str, str], reference: str) -> Any:
    """One input or state entry carrying `reference` (a click or a tick stays a number)."""
    value: Any = 1 if spec["property"] in ("n_clicks", "n_intervals") else reference
    if spec["id"].endswith("-tt-as-of"):
        value = None  # the time-travel moment is a time, not a reference: live
    if not spec["id"].startswith("{"):
        return {"id": spec["id"], "property": spec["property"], "value": value}
    pattern = json.loads(spec["id"])
    concrete = {key: reference if isinstance(v, list) else v for key, v in pattern.items()}
    entry = {"id": concrete, "property": spec["property"], "value": value}
    wildcard = next((v[0] for v in pattern.values() if isinstance(v, list)), None)
    return [entry] if wildcard in ("ALL", "ALLSMALLER") else entry


def callback_request(output: str, spec: dict[str, Any], reference: str) -> dict[str, Any]:
    outputs = _split_outputs(output)
    inputs = [_slot(item, reference) for item in spec["inputs"]]
    first = inputs[0][0] if isinstance(inputs[0], list) else inputs[0]
    changed = first["id"] if isinstance(first["id"], str) else json.dumps(
        first["id"], separators=(",", ":"), sort_keys=True)
    return {"output": output, "outputs": outputs if output.startswith("..") else outputs[0],
            "inputs": inputs, "state": [_slot(item, reference) for item in spec["state"]],
            "changedPropIds": [f"{changed}.{first['property']}"]}


def mentions(text: str, site: Site, region: str) -> set[str]:
    ours = set(site.registry.loc[site.registry["region_code"] == region, "station_id"])
    return (set(re.findall(r"[A-Za-z0-9_-]+", text)) & ours) | (
        {region} if re.search(rf"\b{region}\b", text) else set())


# --- The tests ------------------------------------------------------------------------------

def test_a_regional_lead_gets_403_for_another_region_on_every_callback(
        site: Site, dashboard_users: DashboardUsers) -> None:
    lead = logged_in(site, dashboard_users, "lead")
    callbacks = server_callbacks(site, lead)
    assert len(callbacks) >= 5
    answers = {}
    for output, spec in callbacks.items():
        for kind, reference in site.references(OTHER_REGION).items():
            answer = lead.post(CALLBACK_PATH, json=callback_request(output, spec, reference))
            if clientside(spec):  # no function on the server: nothing to answer with
                assert answer.status_code in (403, 404), output
                assert not mentions(answer.text, site, OTHER_REGION), output
            elif reads_no_data(output) and answer.status_code != 403:
                assert not mentions(answer.text, site, OTHER_REGION), output
            else:
                answers[(output, kind)] = answer.status_code
    refused = {key: status for key, status in answers.items() if status != 403}
    assert refused == {}, f"answered without 403: {refused}"


def test_the_same_requests_for_the_lead_s_own_region_are_answered(
        site: Site, dashboard_users: DashboardUsers) -> None:
    """The 403s above are about the region, not a broken request: for their own region
    the lead's region-page and incidents callbacks answer, with the region's data."""
    lead = logged_in(site, dashboard_users, "lead")
    own = site.references(LEAD_REGION)
    for output, spec in server_callbacks(site, lead).items():
        page = output.strip(".").split("-", 1)[0]
        if reads_no_data(output) or clientside(spec):
            continue
        if page == "region" and "assign" not in output:
            answer = lead.post(CALLBACK_PATH, json=callback_request(output, spec,
                                                                    own["region"]))
            assert answer.status_code == 200, answer.text[:300]
            assert mentions(answer.text, site, LEAD_REGION)
        if page == "incidents" and "review" not in output:
            answer = lead.post(CALLBACK_PATH, json=callback_request(output, spec,
                                                                    own["region"]))
            assert answer.status_code == 200, answer.text[:300]
            assert not mentions(answer.text, site, OTHER_REGION)
    routed = callback_request(".._pages_content.children..._pages_store.data..",
                              site.app.callback_map[
                                  ".._pages_content.children..._pages_store.data.."],
                              own["page"])
    assert lead.post(CALLBACK_PATH, json=routed).status_code == 200
    # Headquarters may see the other region through the very same request.
    hq = logged_in(site, dashboard_users, "hq")
    other = site.references(OTHER_REGION)
    for output, spec in server_callbacks(site, hq).items():
        if output.strip(".").startswith("region-map"):
            answer = hq.post(CALLBACK_PATH, json=callback_request(output, spec,
                                                                  other["region"]))
            assert answer.status_code == 200 and mentions(answer.text, site, OTHER_REGION)


def _url(rule: str, reference: str) -> str:
    path = re.sub(r"<(?:[a-z]+:)?[a-z_]+>", reference.strip("/"), rule)
    return f"{path}?region={OTHER_REGION}&station={reference.strip('/')}"


def test_a_regional_lead_gets_403_for_another_region_on_every_route(
        site: Site, dashboard_users: DashboardUsers) -> None:
    lead = logged_in(site, dashboard_users, "lead")
    rules = [r for r in site.app.server.url_map.iter_rules()
             if r.rule not in (CALLBACK_PATH, LOGOUT)]
    assert {"/", "/<path:path>", "/auth/login"} <= {r.rule for r in rules}
    answers = {}
    for rule in rules:
        for method in sorted((rule.methods or set()) & {"GET", "POST"}):
            for kind, reference in site.references(OTHER_REGION).items():
                answer = lead.request(method, _url(rule.rule, reference))
                if rule.rule in PUBLIC_ROUTES:
                    assert not mentions(answer.text, site, OTHER_REGION) - {OTHER_REGION}
                else:
                    answers[(rule.rule, method, kind)] = answer.status_code
    refused = {key: status for key, status in answers.items() if status != 403}
    assert refused == {}, f"answered without 403: {refused}"
    assert lead.get(f"/region/{LEAD_REGION}").status_code == 200


def test_without_a_session_every_callback_and_page_needs_a_login(
        site: Site, dashboard_users: DashboardUsers) -> None:
    anonymous = httpx.Client(base_url=site.url, timeout=30)
    for output, spec in server_callbacks(site, anonymous).items():
        answer = anonymous.post(CALLBACK_PATH, json=callback_request(
            output, spec, f"/region/{LEAD_REGION}"))
        assert answer.status_code == 401, output
    for path in ("/", f"/region/{LEAD_REGION}", "/incidents", "/media"):
        answer = anonymous.get(path)
        assert answer.status_code == 302 and answer.headers["location"].startswith("/login")
    # A wrong password gets nothing, and says so without telling whether the user exists.
    for name in ("lead", "nobody"):
        answer = anonymous.post("/auth/login", data={"username": name, "password": "x" * 16})
        assert answer.headers["location"] == "/login?error=1"
        assert "session" not in anonymous.cookies


def test_media_sees_only_the_media_page(site: Site, dashboard_users: DashboardUsers) -> None:
    press = logged_in(site, dashboard_users, "press")
    assert press.get("/").headers["location"] == "/media"
    for path in (f"/region/{LEAD_REGION}", "/incidents", f"/station/{LEAD_REGION}-0001"):
        assert press.get(path).status_code == 403
    for output, spec in server_callbacks(site, press).items():
        # the comparison page is theirs too (its release control refuses them itself:
        # tests/tabulation/test_comparison_page.py)
        if not output.strip(".").startswith(("media", "comparison")):
            answer = press.post(CALLBACK_PATH, json=callback_request(output, spec, LEAD_REGION))
            assert answer.status_code == 403, output


def test_a_removed_user_and_an_old_session_are_logged_out(
        site: Site, dashboard_users: DashboardUsers, tmp_path: Path) -> None:
    from saylau.dashboard.users import add_user, remove_user

    add_user(dashboard_users.path, "temp-lead", "regional_lead", LEAD_REGION,
             "a-long-enough-password", {LEAD_REGION})
    dashboard_users.passwords["temp-lead"] = "a-long-enough-password"
    temp = logged_in(site, dashboard_users, "temp-lead")
    assert temp.get(f"/region/{LEAD_REGION}").status_code == 200
    assert remove_user(dashboard_users.path, "temp-lead")
    assert temp.get(f"/region/{LEAD_REGION}").status_code == 302  # back to the login

    short = Settings(dashboard_session_minutes=1 / 60, warehouse=site.warehouse_url,
                     data_dir=tmp_path)
    server = DashboardServer(short, short.warehouse)
    try:
        client = httpx.Client(base_url=server.url, timeout=30)
        client.post("/auth/login", data={"username": "hq",
                                         "password": dashboard_users.passwords["hq"]})
        assert client.get("/").status_code == 200
        time.sleep(1.5)
        assert client.get("/").status_code == 302
    finally:
        server.close()
