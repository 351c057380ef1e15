"""Double entry of protocol photos (docs/tabulation.md): a volunteer is given a photo of a
signed protocol and types its figures; two volunteers' entries that agree become the
station's digitised observer copy.

The photo can be zoomed and turned (assets/tabulation.js: CSS transforms in the browser;
the photo itself is never changed). Submit sends a ``protocol_entry`` event; when it agrees
with another volunteer's entry, the page also sends the digitised ``protocol``. A volunteer
never sees another's figures, and is never given a photo they entered. Progress by region
is below the form (and on /status).
"""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html
from werkzeug.exceptions import Forbidden

from saylau.core.i18n import N_
from saylau.core.rules import Ballot
from saylau.dashboard.actions import ActionError
from saylau.dashboard.app import current_context
from saylau.dashboard.auth import current_user, logout_button, require_page
from saylau.dashboard.double_entry import CONFLICT, Photo
from saylau.dashboard.language import current_language, t
from saylau.dashboard.names import protocol_field_name, region_name
from saylau.dashboard.snapshot import current_settings
from saylau.dashboard.tabulation_progress import progress_table, visible_progress
from saylau.dashboard.tabulation_routes import photo_url, tabulation_media
from saylau.dashboard.tabulation_service import (
    EntryRefused,
    Taken,
    photo_for,
    photo_regions,
    send_missing_copies,
    take_entry,
)
from saylau.dashboard.users import User
from saylau.warehouse.tabulation_queries import FIGURES, tabulation_progress

dash.register_page(__name__, path="/tabulation", name="Tabulation",
                   title=lambda **_path: t("Saylau — protocol double entry"))

PAGE = "tabulation"
VOTE = f"{PAGE}-vote"
# (the action in a tool button's id, its label): assets/tabulation.js does the transform.
TOOL = f"{PAGE}-tool-"
PHOTO_TOOLS = (("zoom-in", N_("Zoom in")), ("zoom-out", N_("Zoom out")),
               ("rotate-left", N_("Rotate left")), ("rotate-right", N_("Rotate right")),
               ("reset", N_("Reset view")))


def layout(**_query: str) -> html.Div:
    require_page(PAGE)
    return html.Div(className="tabulation-page", children=[
        html.H1(t("Protocol double entry")),
        logout_button(),
        html.P(t("Type the figures the photo shows. Another volunteer types them too, "
                 "without seeing yours; when two entries agree, they become the station's "
                 "copy."), className="tabulation-help"),
        html.Div(id=f"{PAGE}-result", className="tabulation-result"),
        html.P(id=f"{PAGE}-nothing", className="empty"),
        html.Div(id=f"{PAGE}-desk", className="tabulation-desk", children=[
            html.Div(className="tabulation-photo-panel", children=[
                html.Div(id=f"{PAGE}-station", className="tabulation-station"),
                html.Div(className="tabulation-photo-tools", children=[
                    html.Button(t(label), id=f"{TOOL}{action}", type="button",
                                className="tabulation-tool")
                    for action, label in PHOTO_TOOLS]),
                html.Div(className="tabulation-photo-frame", children=[
                    html.Img(id=f"{PAGE}-image", alt=t("Protocol photo"),
                             className="tabulation-image")]),
            ]),
            html.Div(className="tabulation-form", children=[
                html.Div(_fields(), id=f"{PAGE}-fields", className="tabulation-fields"),
                html.Button(t("Submit"), id=f"{PAGE}-submit", n_clicks=0),
            ]),
        ]),
        html.H2(t("Progress by region")),
        html.Div(id=f"{PAGE}-progress"),
        dcc.Store(id=f"{PAGE}-photo"),  # the hash of the photo on screen
        dcc.Store(id=f"{PAGE}-wake"),  # set by the tick while no photo is on screen
        dcc.Interval(id=f"{PAGE}-tick", interval=current_context().refresh_ms, n_intervals=0),
    ])


def _fields() -> list[Any]:
    """The form's inputs, empty: the protocol's figures, then one per ballot option. Drawn
    again, empty, for each new photo (the Submit button stays outside: a new button would
    count as a click)."""
    options = current_settings().election().option_names(current_language())
    return [*[_number_input(f"{PAGE}-field-{name}", protocol_field_name(name))
              for name in FIGURES],
            html.H3(t("Votes")),
            *[_number_input({"type": VOTE, "option": code}, name)
              for code, name in options.items()]]


def _number_input(component_id: Any, label: str) -> html.Label:
    return html.Label(className="tabulation-field", children=[
        html.Span(label),
        dcc.Input(id=component_id, type="number", min=0, step=1, debounce=False)])


FIELD_STATES = [State(f"{PAGE}-field-{name}", "value") for name in FIGURES]


@callback(Output(f"{PAGE}-image", "src"), Output(f"{PAGE}-photo", "data"),
          Output(f"{PAGE}-station", "children"), Output(f"{PAGE}-desk", "style"),
          Output(f"{PAGE}-nothing", "children"), Output(f"{PAGE}-result", "children"),
          Output(f"{PAGE}-fields", "children"),
          Input(f"{PAGE}-submit", "n_clicks"), Input(f"{PAGE}-wake", "data"),
          State(f"{PAGE}-photo", "data"), *FIELD_STATES,
          State({"type": VOTE, "option": ALL}, "value"))
def work(n_clicks: int | None, _wake: Any, shown: str | None, *typed: Any) -> tuple:
    """Submit takes the entry and gives the next photo; a wake-up (`wake`) gives one when
    none is on screen; the first call gives the first."""
    require_page(PAGE)
    user = _volunteer()
    *field_values, vote_values = typed
    clicked = ctx.triggered_id == f"{PAGE}-submit" and bool(n_clicks)
    message: Any = dash.no_update
    if clicked:
        message, move_on = _submit(shown, dict(zip(FIGURES, field_values, strict=True)),
                                   _votes_by_option(vote_values))
        if not move_on:
            return (*[dash.no_update] * 5, message, dash.no_update)
    elif ctx.triggered_id == f"{PAGE}-wake" and shown:
        raise dash.exceptions.PreventUpdate  # keep the photo being typed
    photo = photo_for(current_context().warehouse, user)
    if photo is None and ctx.triggered_id == f"{PAGE}-wake":
        raise dash.exceptions.PreventUpdate  # still nothing to give
    # The form is drawn again, empty, only after a submit: a tick sent before the first
    # answer arrived (its state still says no photo) must not wipe what is being typed.
    return (*_shown(photo), message, _fields() if clicked else dash.no_update)


@callback(Output(f"{PAGE}-wake", "data"), Input(f"{PAGE}-tick", "n_intervals"),
          State(f"{PAGE}-photo", "data"))
def wake(n_intervals: int | None, shown: str | None) -> int | None:
    """While no photo is on screen, wake `work` up at each tick to look for a new one. Not
    the tick itself as `work`'s input: Dash drops the answer of a callback that is called
    again before it answered, and a submit (two sends to Kafka) can take longer than a
    tick, so the volunteer would never see what became of their entry."""
    require_page(PAGE)
    if shown:
        raise dash.exceptions.PreventUpdate
    return n_intervals


def _volunteer() -> User:
    user = current_user()
    if user is None:  # the guard asks for a login first; never reached without one
        raise Forbidden("log in first")
    return user


def _shown(photo: Photo | None) -> tuple:
    """image src, photo store, station caption, desk style, nothing-to-do text."""
    if photo is None:
        return ("", None, "", {"display": "none"},
                t("No photo needs your entry now. New ones appear here by themselves."))
    names = current_context().region_names
    caption = [html.Span(photo.station_id, id=f"{PAGE}-station-id"), " — ",
               region_name(photo.region_code, names.get(photo.region_code))]
    return photo_url(photo.sha256), photo.sha256, caption, {}, ""


def _votes_by_option(values: list[Any] | None) -> dict[str, Any]:
    """The vote inputs' values by ballot option (their ids come with the states)."""
    group = ctx.states_list[-1]
    return {item["id"]["option"]: item.get("value") for item in group} if values else {}


def _submit(shown: str | None, fields: dict[str, Any], votes: dict[str, Any]
            ) -> tuple[Any, bool]:
    """(what to tell the volunteer, whether to give the next photo)."""
    user = _volunteer()
    if not isinstance(shown, str):
        raise Forbidden("no photo was shown")
    if set(votes) != set(current_settings().election().options):
        raise Forbidden("not this ballot's options")
    context = current_context()
    try:
        taken = take_entry(context.warehouse, context.actions, tabulation_media(),
                           Ballot.of(current_settings().election()), user, shown,
                           (fields, votes))
    except EntryRefused as refused:
        # A repeat is refused and the next photo given; a blank stays to be filled in.
        return html.Span(t(str(refused)), id=f"{PAGE}-refused"), refused.move_on
    except ActionError as error:
        return html.Span(t("Not sent: {error}").format(error=error), id=f"{PAGE}-error"), False
    _repair_copies(user)
    return html.Span(_taken_text(taken), id=f"{PAGE}-sent"), True


def _repair_copies(user: User) -> None:
    """After an entry, send again any agreed copy whose send failed earlier (the entry that
    made it agree was sent; its copy not): the next submit in its regions mends it."""
    context = current_context()
    try:
        send_missing_copies(context.warehouse, context.actions, tabulation_media(),
                            Ballot.of(current_settings().election()), photo_regions(user))
    except ActionError:
        pass  # the broker is still away: the next submit tries again


def _taken_text(taken: Taken) -> str:
    if taken.copy_sent:
        return t("Entry sent. It agrees with another volunteer's: the station's copy is made.")
    if taken.copy_failed:
        return t("Entry sent. It agrees with another volunteer's; the station's copy could "
                 "not be sent yet and will be sent again.")
    if taken.copy_refused:
        return t("Entry sent. It agrees with another volunteer's, but the figures do not add "
                 "up, so no copy was made: headquarters will look at the photo.")
    if taken.state == CONFLICT:
        return t("Entry sent. The entries differ: another volunteer will enter this photo.")
    return t("Entry sent. Thank you.")


@callback(Output(f"{PAGE}-progress", "children"), Input(f"{PAGE}-tick", "n_intervals"))
def progress(_n: int | None) -> Any:
    require_page(PAGE)
    context = current_context()
    shown = visible_progress(tabulation_progress(context.warehouse),
                             photo_regions(current_user()))
    return progress_table(shown, PAGE, context.region_names)
