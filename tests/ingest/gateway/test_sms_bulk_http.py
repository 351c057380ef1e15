"""SMS reports and bulk CSV uploads through the HTTP API."""

from __future__ import annotations

import pytest

from tests.ingest.gateway.conftest import bearer

pytestmark = [pytest.mark.broker, pytest.mark.timeout(120)]


def test_an_sms_report_is_journaled_and_a_bad_one_gets_a_reply(gateway_client, issue,
                                                                registry_frame):
    client = gateway_client()
    station_id = str(registry_frame["station_id"].iloc[0])
    headers = bearer(issue("obs-1"))
    ok = client.post("/v1/sms", json={"text": f"T {station_id} 120", "message_id": "m1"},
                     headers=headers)
    assert ok.status_code == 202 and ok.json()["ok"], ok.text
    bad = client.post("/v1/sms", json={"text": f"T {station_id}"}, headers=headers)
    assert bad.status_code == 422 and "Ballots" in bad.json()["reply"]


def test_official_results_csv_accepts_valid_rows_and_names_the_bad_lines(
        gateway_client, issue, registry_frame):
    client = gateway_client()
    a, b = (str(s) for s in registry_frame["station_id"].iloc[:2])
    csv_text = ("station_id,registered,ballots_received,ballots_issued,ballots_cast,invalid,"
                f"amanat,against_all\n{a},900,900,500,500,20,400,80\n"
                f"{b},900,900,500,500,20,400,81\n")
    answer = client.post("/v1/bulk/results", content=csv_text.encode(),
                         headers={**bearer(issue("hq-1", role="hq")),
                                  "Content-Type": "text/csv"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == 1
    assert [(r["line"], r["reason"]) for r in answer.json()["refused"]] == [
        (3, "protocol_arithmetic")]
    observer = client.post("/v1/bulk/results", content=csv_text.encode(),
                           headers=bearer(issue("obs-1")))
    assert observer.status_code == 403
