"""Log in: a plain HTML form posted to the server (``/auth/login``, see saylau/dashboard/auth.py).

The form needs no callback: the browser posts it, the server checks the password and
answers with the session cookie and a redirect.
"""

from __future__ import annotations

import dash
from dash import dcc, html

from saylau.dashboard.auth import LOGIN_POST, login_message
from saylau.dashboard.language import t

dash.register_page(__name__, path="/login",
                   title=lambda **_path: t("Saylau — log in"), name="Log in")

PAGE = "login"


def layout(**query: str) -> html.Div:
    return html.Div(className="login", children=[
        html.H1("Saylau"), login_form(query.get("next", "")),
        html.P(login_message(query), id=f"{PAGE}-error", className="login-error"),
    ])


def login_form(next_path: str) -> html.Form:
    return html.Form(action=LOGIN_POST, method="post", id=f"{PAGE}-form", children=[
        html.Label(t("User name"), htmlFor=f"{PAGE}-username"),
        dcc.Input(id=f"{PAGE}-username", name="username", type="text",
                  autoComplete="username", required=True),
        html.Label(t("Password"), htmlFor=f"{PAGE}-password"),
        dcc.Input(id=f"{PAGE}-password", name="password", type="password",
                  autoComplete="current-password", required=True),
        dcc.Input(id=f"{PAGE}-next", name="next", type="hidden", value=next_path),
        html.Button(t("Log in"), id=f"{PAGE}-submit", type="submit"),
    ])
