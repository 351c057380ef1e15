"""Log in: a plain HTML form posted to the server (``/auth/login``, see dashboard/auth.py).

The form needs no callback: the browser posts it, the server checks the password and
answers with the session cookie and a redirect.
"""

from __future__ import annotations

import dash
from dash import dcc, html

from dashboard.auth import LOGIN_POST

dash.register_page(__name__, path="/login", title="Saylau — log in", name="Log in")

PAGE = "login"


def layout(**query: str) -> html.Div:
    failed = bool(query.get("error"))
    return html.Div(className="login", children=[
        html.H1("Saylau"),
        html.Form(action=LOGIN_POST, method="post", id=f"{PAGE}-form", children=[
            html.Label("User name", htmlFor=f"{PAGE}-username"),
            dcc.Input(id=f"{PAGE}-username", name="username", type="text",
                      autoComplete="username", required=True),
            html.Label("Password", htmlFor=f"{PAGE}-password"),
            dcc.Input(id=f"{PAGE}-password", name="password", type="password",
                      autoComplete="current-password", required=True),
            dcc.Input(id=f"{PAGE}-next", name="next", type="hidden",
                      value=query.get("next", "")),
            html.Button("Log in", id=f"{PAGE}-submit", type="submit"),
        ]),
        html.P("Wrong user name or password." if failed else "", id=f"{PAGE}-error",
               className="login-error"),
    ])
