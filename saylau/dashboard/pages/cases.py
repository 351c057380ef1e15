"""Citizen report cases: the legal team's moderation queue and each case's follow-up.

``legal`` users and headquarters see every report with its evidence: verify, reject, mark
as spam or as a duplicate of another case, and move its status (new -> contacted -> legal
help -> closed) with a short note. Each action is a ``case_update`` event sent to Kafka
(as Verify on the incidents page is), so the state is what the worker stored, rebuilt the
same after a restart or a replay. A regional lead sees the verified reports of their own
region only, without evidence; nobody here ever sees a contact (it is sealed to the
lawyers' key, opened only by ``saylau cases contact`` on their own machine).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import dash
import pandas as pd
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from werkzeug.exceptions import Forbidden

from saylau.core.contract import CASE_STATUSES
from saylau.dashboard.actions import ActionError, case_update_event
from saylau.dashboard.app import current_context
from saylau.dashboard.auth import allowed_regions, current_user, logout_button, require_page
from saylau.dashboard.evidence_routes import evidence_url
from saylau.dashboard.language import t
from saylau.dashboard.regional import version_of
from saylau.dashboard.users import HEADQUARTERS, LEGAL, User
from saylau.warehouse.citizen import cases

dash.register_page(__name__, path="/cases", name="Cases",
                   title=lambda **_path: t("Saylau — citizen reports"))

PAGE = "cases"
MODERATORS = frozenset({LEGAL, HEADQUARTERS})
VERDICT_BUTTONS = {"verified": "Verify", "rejected": "Reject", "spam": "Spam"}
MAX_ROWS = 300
VERSION = re.compile(r"[0-9a-f]{40}")  # regional.version_of: a SHA-1


def moderates(user: User | None) -> bool:
    return user is not None and user.role in MODERATORS


def visible_cases(frame: pd.DataFrame, user: User | None) -> pd.DataFrame:
    """Every case for a moderator; a regional lead's region's verified ones; else none."""
    if moderates(user):
        return frame
    regions = allowed_regions(user)
    return frame[(frame["verdict"] == "verified") & frame["region_code"].isin(regions)]


def layout(**_query: str) -> html.Div:
    require_page(PAGE)
    moderator = moderates(current_user())
    return html.Div(className="cases-page", children=[
        html.H1(t("Citizen reports")),
        logout_button(),
        html.Div(id=f"{PAGE}-result", className="cases-result"),
        html.Div(id=f"{PAGE}-table"),
        dcc.Store(id=f"{PAGE}-moderator", data=moderator),
        dcc.Store(id=f"{PAGE}-table-shown"),  # the version of the table on screen
        dcc.Interval(id=f"{PAGE}-tick", interval=current_context().refresh_ms, n_intervals=0),
    ])


@callback(Output(f"{PAGE}-table", "children"), Output(f"{PAGE}-table-shown", "data"),
          Input(f"{PAGE}-tick", "n_intervals"), State(f"{PAGE}-table-shown", "data"))
def refresh(n_intervals: int | None, table_shown: str | None) -> tuple[Any, str]:
    # The inputs are a counter and a fingerprint: anything else is a forged request.
    if not isinstance(n_intervals, int | None) or not (
            table_shown is None or VERSION.fullmatch(str(table_shown))):
        raise Forbidden("not this page's request")
    user = current_user()
    shown = visible_cases(cases(current_context().warehouse), user).tail(MAX_ROWS)
    # Redrawn only when it changes: a redraw would empty the note a lawyer is typing.
    version = version_of(shown)
    if version == table_shown:
        return dash.no_update, version
    if shown.empty:
        return html.P(t("No citizen report to show."), className="empty"), version
    return _table(shown, moderates(user)), version


@callback(Output(f"{PAGE}-result", "children"),
          Input({"type": f"{PAGE}-verdict", "case": ALL, "verdict": ALL}, "n_clicks"),
          Input({"type": f"{PAGE}-set-status", "case": ALL}, "n_clicks"),
          State({"type": f"{PAGE}-status", "case": ALL}, "value"),
          State({"type": f"{PAGE}-note", "case": ALL}, "value"),
          State({"type": f"{PAGE}-duplicate-of", "case": ALL}, "value"),
          prevent_initial_call=True)
def act(verdict_clicks: list[int | None], status_clicks: list[int | None],
        statuses: list[str | None], notes: list[str | None],
        duplicates: list[str | None]) -> Any:
    clicked = ctx.triggered_id
    if not isinstance(clicked, dict) or not any([*verdict_clicks, *status_clicks]):
        return dash.no_update  # the table was redrawn; nobody clicked
    user = current_user()
    if not moderates(user):
        raise Forbidden("only the legal team and headquarters moderate citizen reports")
    assert user is not None
    case_id = str(clicked["case"])
    if case_id not in set(cases(current_context().warehouse)["event_id"]):
        raise Forbidden("no such case")
    values = _by_case(ctx.states_list, case_id)
    try:
        event = _event_for(clicked, case_id, user.username, values)
    except ValueError as problem:
        return t("{problem}; nothing sent.").format(problem=problem)
    try:
        current_context().actions.send(event)
    except ActionError as error:
        return t("Not sent: {error}").format(error=error)
    return html.Span(t("Sent for case {case_id}.").format(case_id=case_id), id=f"{PAGE}-sent")


def _by_case(states: list[Any], case_id: str) -> dict[str, Any]:
    """This case's status, note and duplicate-of inputs, from the pattern-matched states."""
    values: dict[str, Any] = {}
    for group in states:
        for item in group:
            if item["id"].get("case") == case_id:
                values[item["id"]["type"].split("-", 1)[1]] = item.get("value")
    return values


def _event_for(clicked: dict[str, Any], case_id: str, actor: str,
               values: dict[str, Any]) -> Any:
    note = str(values.get("note") or "")[:500]
    if clicked["type"] == f"{PAGE}-set-status":
        status = values.get("status")
        if status not in CASE_STATUSES:
            raise ValueError(t("Choose a status"))
        return case_update_event(case_id, actor, status=status, note=note)
    verdict = str(clicked["verdict"])
    if verdict == "duplicate":
        original = str(values.get("duplicate-of") or "").strip()
        try:
            uuid.UUID(original)
        except ValueError:
            raise ValueError(t("Give the reference of the original case")) from None
        return case_update_event(case_id, actor, verdict="duplicate", duplicate_of=original,
                                 note=note)
    if verdict not in VERDICT_BUTTONS:
        raise ValueError(t("Unknown verdict"))
    return case_update_event(case_id, actor, verdict=verdict, note=note)


def _table(shown: pd.DataFrame, moderator: bool) -> html.Table:
    header = [t("Reference"), t("When"), t("Region"), t("Category"), t("Sector"),
              t("Organisation"), t("Settlement"), t("What was said or done"), t("Verdict"),
              t("Status")]
    if moderator:
        header += [t("Evidence"), t("Moderation")]
    rows = [_row(row, moderator) for row in shown.itertuples(index=False)]
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in header])), html.Tbody(rows)],
                      className="region-table")


def _row(row: Any, moderator: bool) -> html.Tr:
    report = json.loads(row.payload)
    cells = [html.Td(row.event_id, className="case-id"),
             html.Td(str(report.get("occurred_at", ""))[:16]), html.Td(row.region_code),
             html.Td(row.category), html.Td(row.sector), html.Td(report.get("organisation")),
             html.Td(report.get("settlement")),
             html.Td(report.get("description"), className="case-description"),
             html.Td(row.verdict, className=f"verdict-{row.verdict}"),
             html.Td(row.status, className=f"status-{row.status}")]
    if moderator:
        cells += [html.Td([html.A(html.Img(src=evidence_url(item["sha256"]), height=64,
                                           alt=t("Evidence")),
                                  href=evidence_url(item["sha256"]), target="_blank")
                           for item in report.get("media", [])]),
                  html.Td(_controls(row.event_id))]
    return html.Tr(cells, id=f"{PAGE}-row-{row.event_id}")


def _controls(case_id: str) -> list[Any]:
    buttons = [html.Button(t(label), n_clicks=0, id={"type": f"{PAGE}-verdict",
                                                     "case": case_id, "verdict": verdict})
               for verdict, label in VERDICT_BUTTONS.items()]
    return [*buttons,
            dcc.Input(id={"type": f"{PAGE}-duplicate-of", "case": case_id},
                      placeholder=t("original case reference"), debounce=True),
            html.Button(t("Duplicate"), n_clicks=0, id={"type": f"{PAGE}-verdict",
                                                       "case": case_id,
                                                       "verdict": "duplicate"}),
            dcc.Dropdown(id={"type": f"{PAGE}-status", "case": case_id},
                         options=[{"label": t(status.replace("_", " ")), "value": status}
                                  for status in CASE_STATUSES], clearable=False),
            dcc.Input(id={"type": f"{PAGE}-note", "case": case_id}, maxLength=500,
                      placeholder=t("note")),
            html.Button(t("Set status"), n_clicks=0,
                        id={"type": f"{PAGE}-set-status", "case": case_id})]
