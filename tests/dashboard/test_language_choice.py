"""Which language a request's pages are in: ?lang=, the page a callback comes from, the
session, the user's default (saylau users add --language), the browser, English."""

from __future__ import annotations

import io
from pathlib import Path

import flask
import pytest

from saylau.cli.main import main
from saylau.dashboard.language import SESSION_KEY, current_language, remember_asked_language
from saylau.dashboard.users import User, read_users

PASSWORD = "a long enough password"


@pytest.fixture
def app() -> flask.Flask:
    server = flask.Flask(__name__)
    server.secret_key = "a test secret that is long enough for flask sessions"
    return server


def test_the_language_is_chosen_in_order(app: flask.Flask) -> None:
    kazakh_user = User("lead", "headquarters", language="kk")
    with app.test_request_context("/", headers={"Accept-Language": "ru-RU,ru;q=0.9"}):
        assert current_language() == "ru"  # the browser's
        flask.g.saylau_user = kazakh_user
        assert current_language() == "kk"  # the user's default beats the browser
        flask.session[SESSION_KEY] = "en"
        assert current_language() == "en"  # the session's choice beats the default
    with app.test_request_context("/_dash-update-component", method="POST",
                                  headers={"Referer": "http://wall.local/?lang=ru"}):
        flask.session[SESSION_KEY] = "kk"
        assert current_language() == "ru"  # the wall screen's address
    with app.test_request_context("/status?lang=kk"):
        remember_asked_language()
        assert flask.session[SESSION_KEY] == "kk" and current_language() == "kk"
    with app.test_request_context("/status?lang=xx"):
        remember_asked_language()
        assert SESSION_KEY not in flask.session and current_language() == "en"


def test_saylau_users_add_sets_a_default_language(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    users = tmp_path / "users.json"
    monkeypatch.setenv("SAYLAU_DASHBOARD_USERS", str(users))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "aigerim", "--role", "headquarters", "--language", "kk",
                 "--password-stdin"]) == 0
    assert read_users(users)["aigerim"].language == "kk"
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert main(["users", "add", "bolat", "--role", "media", "--language", "xx",
                 "--password-stdin"]) == 2
    assert "language must be one of kk, ru, en" in capsys.readouterr().err
    assert "bolat" not in read_users(users)
