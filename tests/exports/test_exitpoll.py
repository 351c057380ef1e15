"""Exit-poll numbers: absent before polls close, present with every mandatory statement
after, and equal to what the stored interviews give."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest

from saylau.core.election import Election
from saylau.exports import Exporter
from saylau.exports.exitpoll import EMBARGOED, TOO_FEW, exitpoll_block
from saylau.warehouse.client import Warehouse
from tests.exports.days import ELECTION, StoredDay

pytestmark = pytest.mark.timeout(300)

MANDATORY = ("conducted_by", "commissioned_by", "fieldwork_start", "fieldwork_end", "method",
             "question", "respondents", "margin_of_error_pct")
JUST_BEFORE_CLOSE = ELECTION.closes_at - dt.timedelta(seconds=1)


def summary_of(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


def interviews(day: StoredDay, as_of: dt.datetime) -> list[dict]:
    return [e for e in day.events if e["kind"] == "exitpoll"
            and dt.datetime.fromisoformat(e["occurred_at"]) <= as_of]


def test_exit_poll_numbers_are_absent_before_polls_close(
        stored: tuple[Warehouse, StoredDay], exporter: Exporter) -> None:
    _warehouse, day = stored
    assert interviews(day, JUST_BEFORE_CLOSE)  # there are numbers that could leak
    folder = exporter.export(JUST_BEFORE_CLOSE)
    block = summary_of(folder)["exit_poll"]
    assert block["status"] == EMBARGOED
    assert set(block) == {"status", "embargoed_until", "law"}
    assert block["embargoed_until"] == "2026-03-15T15:00:00Z"  # 20:00 in Almaty
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert "Embargoed until 2026-03-15T15:00:00Z" in report
    assert "Respondents" not in report and "Margin of error" not in report
    for name in ("regions.csv", "regions.geojson", "stations.csv"):
        text = (folder / name).read_text(encoding="utf-8")
        assert "amanat" not in text.lower() and "exit" not in text.lower()


def test_exit_poll_is_published_at_close_with_every_mandatory_statement(
        stored: tuple[Warehouse, StoredDay], exporter: Exporter) -> None:
    _warehouse, day = stored
    block = summary_of(exporter.export(ELECTION.closes_at))["exit_poll"]
    assert block["status"] == "published"
    for name in MANDATORY:
        assert block[name] not in (None, "", 0), name
    assert block["fieldwork_start"] == "2026-03-15T02:00:00Z"  # polls open, 07:00 local
    assert block["fieldwork_end"] == "2026-03-15T15:00:00Z"

    polled = interviews(day, ELECTION.closes_at)
    assert block["respondents"] == sum(e["interviews"] for e in polled)
    assert block["stations_sampled"] == len({e["station_id"] for e in polled})
    answers = pd.DataFrame([c for e in polled for c in e["choices"].items()],
                           columns=["option", "n"]).groupby("option")["n"].sum()
    assert block["refused"] == answers.get("refused", 0)
    votes = answers.drop(["refused", "undecided"], errors="ignore")
    results = {row["option"]: row for row in block["results"]}
    assert list(results) == list(ELECTION.options)  # every option, in ballot order
    for option, row in results.items():
        assert row["share_pct"] == round(votes.get(option, 0) * 100 / votes.sum(), 1)
        assert row["low_pct"] == round(row["share_pct"] - row["margin_pct"], 1)
    assert block["margin_of_error_pct"] == max(r["margin_pct"] for r in block["results"]) > 0

    report = (exporter.out_dir / "latest" / "report.html").read_text(encoding="utf-8")
    for statement in ("Conducted by", "Commissioned and paid for by", "Fieldwork", "Method",
                      "Question", "Respondents", "Margin of error"):
        assert statement in report


def tallies(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["region_code", "station_id", "option", "answers"])


def test_a_later_embargo_in_the_election_definition_is_kept() -> None:
    election = Election(exitpoll_embargo_until=dt.time(21, 0))
    rows = tallies([("R1", "S1", "amanat", 10), ("R1", "S2", "auyl", 5)])
    block = exitpoll_block(rows, {"R1": 10}, election, election.closes_at)
    assert block["status"] == EMBARGOED and block["embargoed_until"] == "2026-03-15T16:00:00Z"
    assert exitpoll_block(rows, {"R1": 10}, election, election.local(dt.time(21)))[
        "status"] == "published"


def test_one_sampled_station_publishes_no_shares() -> None:
    rows = tallies([("R1", "S1", "amanat", 10), ("R1", "S1", "refused", 2)])
    block = exitpoll_block(rows, {"R1": 10}, ELECTION, ELECTION.closes_at)
    assert block["status"] == TOO_FEW and block["results"] == []
    assert block["respondents"] == 12 and block["margin_of_error_pct"] is None


def test_the_election_file_sets_the_mandatory_statements(tmp_path: Path) -> None:
    from saylau.core.election import load_election
    from saylau.exports.exitpoll import disclosure

    path = tmp_path / "election.json"
    path.write_text(json.dumps({"exitpoll": {
        "conducted_by": "Demoscope Bureau", "commissioned_by": "Paid by Fund X",
        "fieldwork_start": "2026-03-15T08:00:00+05:00", "method": "tablet interviews",
        "question": "Whom did you vote for?", "confidence": 0.99}}), encoding="utf-8")
    statements = disclosure(load_election(path))
    assert statements == {
        "conducted_by": "Demoscope Bureau", "commissioned_by": "Paid by Fund X",
        "fieldwork_start": "2026-03-15T03:00:00Z", "fieldwork_end": "2026-03-15T15:00:00Z",
        "method": "tablet interviews", "question": "Whom did you vote for?",
        "confidence_pct": 99.0}
