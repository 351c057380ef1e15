"""A session ends on the server: at logout, at a password change and at a removal
(saylau/dashboard/auth.py, saylau/dashboard/users.py), against a dashboard served over real HTTP.

The attack in each test: a session cookie copied while it was good (from a shared
computer, a proxy's log, a browser profile) is replayed afterwards by someone else.
"""

from __future__ import annotations

import io
import secrets
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from saylau.cli.main import main
from saylau.dashboard.users import add_user
from tests.dashboard.conftest import LEAD_REGION, DashboardUsers, bare_dashboard
from tests.dashboard.served import Served, browser, served

pytestmark = pytest.mark.timeout(180)
__all__ = ["browser", "served"]  # fixtures used by name below


def logged_in(url: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=30)
    answer = client.post("/auth/login", data={"username": username, "password": password})
    assert answer.status_code == 302 and "session" in client.cookies, answer.headers
    return client


def copied_cookie(client: httpx.Client) -> dict[str, str]:
    return {"session": str(client.cookies["session"])}


def opens_status(url: str, cookie: dict[str, str]) -> bool:
    """Whether a new client holding only `cookie` gets the headquarters' status page
    (without a good session it is sent to the login page)."""
    with httpx.Client(base_url=url, timeout=30, cookies=cookie) as replay:
        answer = replay.get("/status")
    assert answer.status_code in (200, 302), answer.status_code
    return answer.status_code == 200


def saylau_users(monkeypatch: pytest.MonkeyPatch, *args: str, password: str = "") -> int:
    """`saylau users …`, the command an administrator types (the password on stdin)."""
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return main(["users", *args])


def test_a_copied_session_cookie_is_refused_after_logout(
        tmp_path: Path, dashboard_users: DashboardUsers) -> None:
    with bare_dashboard(tmp_path) as url:
        user = logged_in(url, "hq", dashboard_users.passwords["hq"])
        copied = copied_cookie(user)
        assert opens_status(url, copied)
        answer = user.post("/auth/logout")
        assert (answer.status_code, answer.headers["location"]) == (302, "/login")
        assert not opens_status(url, copied), "the copied cookie outlived the logout"
        again = logged_in(url, "hq", dashboard_users.passwords["hq"])
        assert opens_status(url, copied_cookie(again))  # a new login is a new session
        assert not opens_status(url, copied)


def test_logout_is_a_post_only_so_a_link_cannot_log_anyone_out(
        tmp_path: Path, dashboard_users: DashboardUsers) -> None:
    with bare_dashboard(tmp_path) as url:
        user = logged_in(url, "hq", dashboard_users.passwords["hq"])
        assert user.get("/auth/logout").status_code == 405
        assert opens_status(url, copied_cookie(user))


def test_a_login_or_logout_sent_from_another_site_is_refused(
        tmp_path: Path, dashboard_users: DashboardUsers) -> None:
    """Login CSRF: a sibling subdomain's form (the same site for SameSite=Lax) must not sign
    a browser into the attacker's account, nor log the user out."""
    sibling = "http://evil.dashboard.example"
    credentials = {"username": "hq", "password": dashboard_users.passwords["hq"]}
    with bare_dashboard(tmp_path) as url:
        for headers in ({"Origin": sibling}, {"Referer": f"{sibling}/form"}, {"Origin": "null"}):
            with httpx.Client(base_url=url, timeout=30) as stranger:
                answer = stranger.post("/auth/login", data=credentials, headers=headers)
                assert answer.status_code == 403, (headers, answer.status_code)
                assert "session" not in stranger.cookies
        user = logged_in(url, "hq", dashboard_users.passwords["hq"])
        cookie = copied_cookie(user)
        assert user.post("/auth/logout", headers={"Origin": sibling}).status_code == 403
        assert opens_status(url, cookie)
        own = url.rstrip("/")
        assert user.post("/auth/logout", headers={"Origin": own}).status_code == 302
        assert not opens_status(url, cookie)
        with httpx.Client(base_url=url, timeout=30) as browser_client:  # its own login form
            answer = browser_client.post("/auth/login", data=credentials,
                                         headers={"Origin": own})
            assert answer.status_code == 302 and "session" in browser_client.cookies


def test_a_password_change_and_a_removal_end_the_users_sessions(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    users = tmp_path / "users.json"
    monkeypatch.setenv("SAYLAU_DASHBOARD_USERS", str(users))
    old, new = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    add_user(users, "hq", "headquarters", None, old, set())
    with bare_dashboard(tmp_path, dashboard_users=users) as url:
        before_change = copied_cookie(logged_in(url, "hq", old))
        assert saylau_users(monkeypatch, "add", "hq", "--role", "headquarters",
                            "--password-stdin", password=new) == 0
        assert not opens_status(url, before_change), "the old password's session lives on"
        before_removal = copied_cookie(logged_in(url, "hq", new))
        assert opens_status(url, before_removal)
        assert saylau_users(monkeypatch, "remove", "hq") == 0
        # Added back under the same name and password: still a new person's account.
        assert saylau_users(monkeypatch, "add", "hq", "--role", "headquarters",
                            "--password-stdin", password=new) == 0
        assert not opens_status(url, before_removal), "a removed user's session came back"


@pytest.mark.browser
@pytest.mark.parametrize("page", [f"/region/{LEAD_REGION}", "/incidents"])
def test_the_pages_log_out_button_ends_the_session_on_the_server(
        served: Served, browser: webdriver.Chrome, page: str) -> None:
    browser.get(served.url + page)
    WebDriverWait(browser, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".logout button"))
    copied = {"session": browser.get_cookie("session")["value"]}
    assert opens_status(served.url, copied)
    browser.find_element(By.CSS_SELECTOR, ".logout button").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url.endswith("/login"))
    assert not opens_status(served.url, copied)
