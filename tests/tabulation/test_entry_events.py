"""The events double entry sends and what it accepts: a volunteer's entry, the digitised
copy (its id depends only on the photo and the agreeing entries), the typed figures, who
may see which region's photos, and the tabulator role on the command line."""

from __future__ import annotations

import datetime as dt
import io
import uuid
from pathlib import Path

import pytest

from saylau.cli.main import main
from saylau.core.contract import EVENT_ADAPTER, event_to_json
from saylau.dashboard.actions import (
    digitised_copy_event,
    digitised_copy_id,
    protocol_entry_event,
)
from saylau.dashboard.double_entry import Figures
from saylau.dashboard.tabulation_service import EntryRefused, photo_regions, read_figures
from saylau.dashboard.users import User, read_users
from saylau.ingest.gateway.intake import authorize
from saylau.ingest.gateway.tokens import Identity

SHA = "ab" * 32
FIELDS = {"registered": 1500, "ballots_received": 1500, "ballots_issued": 903,
          "ballots_cast": 900, "invalid": 7}
VOTES = {"amanat": 500, "against_all": 393}


def test_an_entry_is_the_volunteer_s_in_whole_seconds() -> None:
    entry = protocol_entry_event(SHA, "KAZ011-0001", "tab1", FIELDS, VOTES)
    assert (entry.kind, entry.observer_id, entry.photo_sha256) == ("protocol_entry", "tab1", SHA)
    assert entry.occurred_at.microsecond == 0
    assert EVENT_ADAPTER.validate_json(event_to_json(entry)) == entry


def test_the_copy_s_id_is_the_photo_and_its_agreeing_entries() -> None:
    first, second, third = (str(uuid.uuid4()) for _ in range(3))
    assert digitised_copy_id(SHA, [first, second]) == digitised_copy_id(SHA, [second, first])
    assert digitised_copy_id(SHA, [first, second]) != digitised_copy_id(SHA, [first, third])
    assert digitised_copy_id(SHA, [first, second]) != digitised_copy_id("cd" * 32,
                                                                        [first, second])
    copy = digitised_copy_event(SHA, "image/jpeg", "KAZ011-0001", "obs-7", [first, second],
                                ["tab1", "tab2"], FIELDS, VOTES)
    assert (copy.source, copy.observer_id, copy.station_id) == (
        "observer_copy", "obs-7", "KAZ011-0001")
    assert [m.sha256 for m in copy.media] == [SHA]
    assert copy.digitised is not None and copy.digitised.entered_by == ["tab1", "tab2"]
    assert [str(e) for e in copy.digitised.entry_ids] == [first, second]
    assert copy.event_id == digitised_copy_id(SHA, [first, second])


def test_no_token_may_send_an_entry_or_a_digitised_copy() -> None:
    entry = protocol_entry_event(SHA, "KAZ011-0001", "obs-7", FIELDS, VOTES)
    copy = digitised_copy_event(SHA, "image/jpeg", "KAZ011-0001", "obs-7",
                                [str(uuid.uuid4()), str(uuid.uuid4())], ["tab1", "tab2"],
                                FIELDS, VOTES)
    for role in ("observer", "hq"):
        identity = Identity("t1", "obs-7", role, dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
        for event in (entry, copy):
            refusal = authorize(event, identity)
            assert refusal is not None and refusal.reason == "dashboard_only"


def test_typed_figures_are_whole_numbers_and_none_is_blank() -> None:
    typed = {name: str(value) for name, value in FIELDS.items()}
    assert read_figures(typed, VOTES) == Figures.of(FIELDS, VOTES)
    assert read_figures({**FIELDS, "invalid": 7.0}, VOTES).invalid == 7
    for bad in (None, "", -1, 2.5, True, "seven", 10**8):
        with pytest.raises(EntryRefused):
            read_figures({**FIELDS, "invalid": bad}, VOTES)
        with pytest.raises(EntryRefused):
            read_figures(FIELDS, {**VOTES, "amanat": bad})


def test_who_sees_which_region_s_photos() -> None:
    assert photo_regions(User("hq", "headquarters")) is None
    assert photo_regions(User("tab1", "tabulator")) is None
    assert photo_regions(User("tab2", "tabulator", "KAZ011")) == frozenset({"KAZ011"})
    assert photo_regions(User("lead", "regional_lead", "KAZ011")) == frozenset()
    assert photo_regions(None) == frozenset()


def test_saylau_users_adds_a_tabulator_with_or_without_a_region(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users.json"
    monkeypatch.setenv("SAYLAU_DASHBOARD_USERS", str(path))
    for name, region in (("tab-all", []), ("tab-own", ["--region", "KAZ011"])):
        monkeypatch.setattr("sys.stdin", io.StringIO("a long test password\n"))
        assert main(["users", "add", name, "--role", "tabulator", *region,
                     "--password-stdin"]) == 0
    users = read_users(path)
    assert (users["tab-all"].role, users["tab-all"].region) == ("tabulator", None)
    assert (users["tab-own"].role, users["tab-own"].region) == ("tabulator", "KAZ011")
    assert users["tab-own"].home_path == "/tabulation"
    monkeypatch.setattr("sys.stdin", io.StringIO("a long test password\n"))
    assert main(["users", "add", "tab-x", "--role", "tabulator", "--region", "NOWHERE",
                 "--password-stdin"]) == 2
