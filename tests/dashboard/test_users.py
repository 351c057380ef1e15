"""Dashboard users: hashed passwords, the users file, `saylau users`, the session secret."""

from __future__ import annotations

import io
import stat
import threading
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from saylau.cli.main import main
from saylau.core.settings import Settings
from saylau.dashboard.auth import AuthSetupError, Regions, check_dashboard_secret
from saylau.dashboard.regional import free_observers
from saylau.dashboard.users import (
    UserDirectory,
    UsersError,
    add_user,
    end_sessions,
    hash_password,
    read_users,
    remove_user,
    verify_password,
)

PASSWORD = "correct horse battery"


def test_a_password_is_stored_only_as_a_salted_scrypt_hash(tmp_path: Path) -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)
    assert first != second and first.startswith("scrypt$")  # a salt per hash
    assert verify_password(PASSWORD, first) and not verify_password(PASSWORD + "!", first)
    assert not verify_password(PASSWORD, "not a hash")
    path = tmp_path / "users.json"
    add_user(path, "lead", "regional_lead", "KAZ011", PASSWORD, {"KAZ011"})
    assert PASSWORD not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert UserDirectory(path).authenticate("lead", PASSWORD) == read_users(path)["lead"]
    assert UserDirectory(path).authenticate("lead", "wrong password!") is None
    assert UserDirectory(path).authenticate("nobody", PASSWORD) is None


@pytest.mark.parametrize(("name", "role", "region", "password", "problem"), [
    ("a b", "media", None, PASSWORD, "user name"),
    ("lead", "king", None, PASSWORD, "role"),
    ("lead", "regional_lead", None, PASSWORD, "region"),
    ("lead", "regional_lead", "KAZ999", PASSWORD, "region"),
    ("press", "media", "KAZ011", PASSWORD, "only a regional lead"),
    ("press", "media", None, "short", "at least"),
])
def test_a_bad_user_is_refused_without_repeating_the_password(
        tmp_path: Path, name: str, role: str, region: str | None, password: str,
        problem: str) -> None:
    with pytest.raises(UsersError, match=problem) as refused:
        add_user(tmp_path / "users.json", name, role, region, password, {"KAZ011"})
    assert password not in str(refused.value)
    assert not (tmp_path / "users.json").exists()


def test_ending_sessions_changes_only_that_users_version(tmp_path: Path) -> None:
    path = tmp_path / "users.json"
    for name in ("hq", "lead"):
        add_user(path, name, "headquarters", None, PASSWORD, set())
    before = read_users(path)
    assert end_sessions(path, "hq") and not end_sessions(path, "nobody")
    after = read_users(path)
    assert after["hq"].session_version not in ("", before["hq"].session_version)
    assert after["lead"].session_version == before["lead"].session_version
    assert after["hq"].password_hash == before["hq"].password_hash


def test_logouts_and_a_removal_at_the_same_moment_lose_no_change(tmp_path: Path) -> None:
    """The dashboard's processes (logouts) and `saylau users remove` rewrite the file at
    once; without the lock one would write back what another had just changed."""
    path = tmp_path / "users.json"
    names = [f"user-{number}" for number in range(8)]
    for name in [*names, "removed"]:
        add_user(path, name, "headquarters", None, PASSWORD, set())
    before = read_users(path)
    start = threading.Barrier(len(names) + 1)

    def log_out_often(name: str) -> None:
        start.wait()
        for _ in range(5):
            end_sessions(path, name)

    def remove() -> None:
        start.wait()
        remove_user(path, "removed")

    threads = [threading.Thread(target=log_out_often, args=(name,)) for name in names]
    threads.append(threading.Thread(target=remove))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    after = read_users(path)
    assert "removed" not in after, "a logout wrote a removed user back"
    assert all(after[name].session_version != before[name].session_version for name in names)


def test_saylau_users_adds_lists_and_removes_without_printing_passwords(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SAYLAU_DASHBOARD_USERS", str(tmp_path / "users.json"))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "lead-11", "--role", "regional_lead", "--region", "KAZ011",
                 "--password-stdin"]) == 0
    assert main(["users", "list"]) == 0
    assert main(["users", "remove", "lead-11"]) == 0
    assert main(["users", "remove", "lead-11"]) == 1
    out = capsys.readouterr()
    assert "lead-11\tregional_lead\tKAZ011" in out.out
    assert PASSWORD not in out.out + out.err and "scrypt" not in out.out + out.err


def test_the_dashboard_refuses_to_start_without_a_real_secret(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(dashboard_secret="changeme")  # type: ignore[arg-type]
    for weak in ("", "short"):
        with pytest.raises(AuthSetupError, match="SAYLAU_DASHBOARD_SECRET"):
            check_dashboard_secret(Settings(dashboard_secret=weak))  # type: ignore[arg-type]
    monkeypatch.setenv("SAYLAU_DASHBOARD_SECRET", "")
    assert main(["dashboard"]) == 2
    assert "refuses to start" in capsys.readouterr().err


def test_regions_are_found_by_code_and_by_station_anywhere_in_a_request() -> None:
    regions = Regions(lambda: (frozenset({"KAZ001", "KAZ011"}),
                               {"KAZ011-0001": "KAZ011", "X-9": "KAZ001"}))
    assert regions.mentioned('{"value": "/region/KAZ011?x=1"}') == {"KAZ011"}
    assert regions.mentioned('{"id": {"station": "X-9"}}') == {"KAZ001"}
    assert regions.mentioned("KAZ0111 and KAZ011-00012") == set()


def test_free_observers_are_those_checked_out_or_in_reserve_and_not_on_their_way() -> None:
    roster = pd.DataFrame({
        "observer_id": ["a", "b", "c", "d", "e", "f"],
        "home_region": ["R", "R", "R", "R", "R", "Q"],
        "organisation": ["o"] * 6,
        "assigned_station": ["s1", "s2", "", "s4", "s5", "s6"]})
    whereabouts = pd.DataFrame({
        "observer_id": ["a", "b", "d", "e", "f"],
        "last_status": ["checkin", "checkout:removed", "checkout:shift_end",
                        "checkout:removed", "checkout:removed"],
        "last_station": ["s1", "s2", "s4", "s5", "s6"],
        "changed_ts": [10, 10, 10, 10, 10], "assigned_ts": [0, 0, 5, 20, 0],
        "assigned_to": ["", "", "s9", "s9", ""]})
    free = free_observers(roster, whereabouts, "R")
    # a is present; e was sent on after its removal; f is another region's.
    assert free[["observer_id", "reason", "position_station"]].values.tolist() == [
        ["b", "removed", "s2"], ["c", "reserve", ""], ["d", "shift ended", "s4"]]
