"""Failed logins make logins from that address wait (saylau/dashboard/throttle.py and
auth.py)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from saylau.core.settings import Settings
from saylau.dashboard.auth import login_message as message
from saylau.dashboard.throttle import ADDRESS_FACTOR, DELAY_STEP_S, MAX_DELAY_S, LoginThrottle
from tests.dashboard.conftest import DashboardServer, DashboardUsers, bare_dashboard
from tests.dashboard.test_authz import Site, site  # noqa: F401  (the fixture)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_name_waits_after_its_failures_until_the_oldest_leaves_the_window(clock: Clock):
    throttle = LoginThrottle(3, 600, clock)
    for _ in range(3):
        assert throttle.wait_seconds("10.0.0.1", "hq") == 0
        throttle.failed("10.0.0.1", "hq")
        clock.now += 10
    assert throttle.wait_seconds("10.0.0.1", "hq") == pytest.approx(600 - 30)
    clock.now = 1000 + 600  # the first failure leaves the window
    assert throttle.wait_seconds("10.0.0.1", "hq") == 0


def test_other_names_and_other_addresses_go_on(clock: Clock):
    throttle = LoginThrottle(3, 600, clock)
    for _ in range(3):
        throttle.failed("10.0.0.1", "hq")
    assert throttle.wait_seconds("10.0.0.1", "hq") > 0
    assert throttle.wait_seconds("10.0.0.1", "lead") == 0
    assert throttle.wait_seconds("10.0.0.2", "hq") == 0


def test_many_names_from_one_address_slow_logins_from_there_down_but_refuse_none(
        clock: Clock):
    throttle = LoginThrottle(3, 600, clock)
    for number in range(3 * ADDRESS_FACTOR - 1):
        throttle.failed("10.0.0.1", f"name-{number}")  # under the limit for each name
    assert throttle.delay_seconds("10.0.0.1") == 0
    throttle.failed("10.0.0.1", "one-more")
    assert throttle.wait_seconds("10.0.0.1", "a-new-name") == 0
    assert throttle.delay_seconds("10.0.0.1") == DELAY_STEP_S
    assert throttle.delay_seconds("10.0.0.2") == 0
    for number in range(100):
        throttle.failed("10.0.0.1", f"more-{number}")
    assert throttle.delay_seconds("10.0.0.1") == MAX_DELAY_S  # longer, but bounded
    clock.now += 600
    assert throttle.delay_seconds("10.0.0.1") == 0


def test_a_huge_typed_name_is_kept_short(clock: Clock):
    throttle = LoginThrottle(1, 600, clock)
    throttle.failed("10.0.0.1", "x" * 1_000_000)
    assert throttle.wait_seconds("10.0.0.1", "x" * 1_000_001) > 0  # the same first 200
    assert max(len(part) for key in throttle._failures for part in key) <= 200


def test_a_successful_login_clears_its_name(clock: Clock):
    throttle = LoginThrottle(3, 600, clock)
    for _ in range(2):
        throttle.failed("10.0.0.1", "hq")
    throttle.succeeded("10.0.0.1", "hq")
    throttle.failed("10.0.0.1", "hq")
    assert throttle.wait_seconds("10.0.0.1", "hq") == 0


def test_the_login_page_says_how_long_to_wait():
    assert message({"wait": "61"}) == ("Too many failed logins from here. "
                                       "Try again in 2 minutes.")
    assert message({"wait": "30"}).endswith("Try again in 1 minute.")
    assert message({"error": "1"}) == "Wrong user name or password."
    assert message({}) == ""


def test_over_http_the_right_password_waits_too_after_too_many_failures(
        site: Site, dashboard_users: DashboardUsers, tmp_path: Path) -> None:  # noqa: F811
    settings = Settings(warehouse=site.warehouse_url, data_dir=tmp_path,
                        dashboard_login_attempts=3)
    server = DashboardServer(settings, settings.warehouse)
    try:
        client = httpx.Client(base_url=server.url, timeout=30)
        for _ in range(3):
            wrong = client.post("/auth/login", data={"username": "hq", "password": "guess"})
            assert wrong.headers["location"] == "/login?error=1"
        right = client.post("/auth/login", data={"username": "hq",
                                                 "password": dashboard_users.passwords["hq"]})
        assert right.headers["location"].startswith("/login?wait=")
        assert 0 < int(right.headers["location"].split("=")[1]) <= 15 * 60
        assert "session" not in client.cookies
        lead = client.post("/auth/login", data={"username": "lead",
                                                "password": dashboard_users.passwords["lead"]})
        assert lead.status_code == 302 and "session" in client.cookies
    finally:
        server.close()


def login(client: httpx.Client, username: str, password: str) -> str:
    """Where a login sends the browser: /login?error=1, /login?wait=…, or a page."""
    answer = client.post("/auth/login", data={"username": username, "password": password})
    assert answer.status_code == 302
    return str(answer.headers["location"])


def test_many_names_failing_from_one_address_do_not_refuse_a_right_password(
        tmp_path: Path, dashboard_users: DashboardUsers) -> None:
    """The attack: behind the TLS proxy every user has the proxy's address, and someone
    there fails with many names; headquarters must still get in."""
    with bare_dashboard(tmp_path, dashboard_login_attempts=2) as url:
        shared = httpx.Client(base_url=url, timeout=60)
        for number in range(2 * ADDRESS_FACTOR):
            assert login(shared, f"guess-{number}", "guess") == "/login?error=1"
        started = time.monotonic()
        assert login(shared, "hq", dashboard_users.passwords["hq"]) == "/"
        assert "session" in shared.cookies
        assert time.monotonic() - started >= DELAY_STEP_S  # slowed down, not refused


def test_behind_a_trusted_proxy_one_clients_failures_do_not_refuse_another(
        tmp_path: Path, dashboard_users: DashboardUsers) -> None:
    with bare_dashboard(tmp_path, dashboard_login_attempts=2,
                        dashboard_trusted_proxies=1) as url:
        attacker = httpx.Client(base_url=url, timeout=30,
                                headers={"X-Forwarded-For": "203.0.113.7"})
        for _ in range(2):
            assert login(attacker, "hq", "guess") == "/login?error=1"
        assert login(attacker, "hq", dashboard_users.passwords["hq"]).startswith("/login?wait=")
        colleague = httpx.Client(base_url=url, timeout=30,
                                 headers={"X-Forwarded-For": "198.51.100.20"})
        assert login(colleague, "hq", dashboard_users.passwords["hq"]) == "/"


def test_without_a_trusted_proxy_a_forged_forwarded_for_header_changes_nothing(
        tmp_path: Path, dashboard_users: DashboardUsers) -> None:
    with bare_dashboard(tmp_path, dashboard_login_attempts=2) as url:
        guesser = httpx.Client(base_url=url, timeout=30)
        for _ in range(2):
            assert login(guesser, "hq", "guess") == "/login?error=1"
        guesser.headers["X-Forwarded-For"] = "198.51.100.99"  # "I am someone else"
        assert login(guesser, "hq", dashboard_users.passwords["hq"]).startswith("/login?wait=")
