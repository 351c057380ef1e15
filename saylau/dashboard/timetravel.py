"""Time travel: show a page as of any moment of the election day, and play the day forward.

The control is a slider over the election day (an hour before polls open to four hours
after they close), a play button with a speed (minutes of the day per second), and a
"live" button. It keeps the chosen moment in a ``dcc.Store`` (an ISO time, or None for
live) and in the page's address (``?as_of=2026-03-15T10:30:00+05:00``), so a link or a
reload opens the page at the same moment.

Adding it to a page takes three lines::

    from saylau.dashboard.timetravel import TimeTravel, parse_as_of

    TIME = TimeTravel("region")          # at import: registers callbacks for ids region-tt-*

    def layout(as_of: str | None = None, **_query: str) -> html.Div:
        return html.Div([TIME.control(as_of), ...])   # dash passes ?as_of=… here

    @callback(Output(...), Input("region-tick", "n_intervals"), Input(TIME.store, "data"))
    def refresh(_n, as_of_text):
        as_of = parse_as_of(as_of_text)  # None = live; pass it to every data function

The moment arithmetic (``moment_at``, ``minutes_into``, ``step``) is pure and tested apart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from saylau.dashboard.snapshot import current_settings

SPEEDS = {1: "1 min/s", 5: "5 min/s", 15: "15 min/s", 60: "1 h/s"}
BEFORE_OPEN, AFTER_CLOSE = dt.timedelta(hours=1), dt.timedelta(hours=4)


class BadAsOf(ValueError):
    """An ``as_of`` that is not an ISO date and time."""


@dataclass(frozen=True)
class Day:
    """The span the slider covers, in the election's time zone."""

    start: dt.datetime
    end: dt.datetime

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


def election_day() -> Day:
    election = current_settings().election()
    return Day(election.opens_at - BEFORE_OPEN, election.closes_at + AFTER_CLOSE)


def parse_as_of(text: str | None, timezone: ZoneInfo | None = None) -> dt.datetime | None:
    """The moment an ``as_of`` names (a time without zone is in ``timezone``); None = live."""
    if text is None or not str(text).strip():
        return None
    try:
        moment = dt.datetime.fromisoformat(str(text).strip().replace(" ", "+"))
    except ValueError as error:
        raise BadAsOf(f"as_of {str(text)[:40]!r} is not a date and time like "
                      "2026-03-15T10:30:00+05:00") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone or dt.UTC)
    return moment


def minutes_into(day: Day, moment: dt.datetime | None) -> int:
    """Slider position of a moment (live = the end), clamped to the day."""
    if moment is None:
        return day.minutes
    return max(0, min(day.minutes, int((moment - day.start).total_seconds() // 60)))


def moment_at(day: Day, minutes: int) -> dt.datetime:
    return day.start + dt.timedelta(minutes=minutes)


def step(day: Day, minutes: int, speed: int) -> tuple[int, bool]:
    """One second of play: the next position, and whether play goes on (not at the end)."""
    position = min(day.minutes, minutes + speed)
    return position, position < day.minutes


def play_tick(day: Day, minutes: int, speed: int) -> tuple[int, tuple[Any, Any]]:
    """A tick of play: the next position, and the interval's ``disabled`` and the button's
    label. Until the end a tick leaves those two alone: on a busy server its answer can
    arrive after the answer to a pause click, and must not start play again."""
    position, going = step(day, minutes, speed)
    return position, ((no_update, no_update) if going else (True, "▶ play"))


def as_of_text(moment: dt.datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def describe(moment: dt.datetime | None, timezone: ZoneInfo) -> str:
    if moment is None:
        return "live"
    return "as of " + moment.astimezone(timezone).strftime("%H:%M (%d %b)")


class TimeTravel:
    """The control of one page; its component ids are ``PREFIX-tt-*``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.store, self.slider = f"{prefix}-tt-as-of", f"{prefix}-tt-slider"
        self.play, self.speed = f"{prefix}-tt-play", f"{prefix}-tt-speed"
        self.live, self.tick = f"{prefix}-tt-live", f"{prefix}-tt-tick"
        self.label, self.error = f"{prefix}-tt-label", f"{prefix}-tt-error"
        self._register()

    def control(self, as_of: str | None) -> html.Div:
        day, tz = election_day(), current_settings().tz
        try:
            moment, problem = parse_as_of(as_of, tz), ""
        except BadAsOf as error:
            moment, problem = None, f"{error}; showing live"
        marks = {h * 60: f"{(day.start + dt.timedelta(hours=h)).astimezone(tz):%H}:00"
                 for h in range(0, day.minutes // 60 + 1, 2)}
        return html.Div(className="time-travel", children=[
            html.Button("▶ play", id=self.play, n_clicks=0, className="tt-button"),
            dcc.Dropdown(id=self.speed, options=[{"label": v, "value": k}
                                                 for k, v in SPEEDS.items()],
                         value=15, clearable=False, className="tt-speed"),
            html.Div(dcc.Slider(id=self.slider, min=0, max=day.minutes, step=1,
                                value=minutes_into(day, moment), marks=marks,
                                updatemode="mouseup"), className="tt-slider"),
            html.Button("live", id=self.live, n_clicks=0, className="tt-button"),
            html.Span(describe(moment, tz), id=self.label, className="tt-label"),
            html.Span(problem, id=self.error, className="tt-error"),
            dcc.Store(id=self.store, data=as_of_text(moment)),
            dcc.Interval(id=self.tick, interval=1000, disabled=True),
        ])

    def _register(self) -> None:
        callback(Output(self.store, "data"), Output(self.slider, "value"),
                 Output(self.tick, "disabled"), Output(self.play, "children"),
                 Output(self.label, "children"),
                 Input(self.slider, "value"), Input(self.live, "n_clicks"),
                 Input(self.play, "n_clicks"), Input(self.tick, "n_intervals"),
                 State(self.speed, "value"), State(self.tick, "disabled"),
                 prevent_initial_call=True)(self._changed)
        # The address follows the store without reloading the page (replaceState does
        # not wake Dash's router, so the page is not rebuilt).
        clientside_callback(
            """function (asOf) {
                const url = new URL(window.location.href);
                if (asOf) { url.searchParams.set('as_of', asOf); }
                else { url.searchParams.delete('as_of'); }
                window.history.replaceState(null, '', url.toString());
                return url.search;
            }""",
            Output(self.label, "title"), Input(self.store, "data"))

    def _changed(self, minutes: int, _live: int, _play: int, _tick: int, speed: int,
                 paused: bool) -> tuple:
        day, tz = election_day(), current_settings().tz
        trigger = ctx.triggered_id
        if trigger == self.live:
            return None, day.minutes, True, "▶ play", describe(None, tz)
        if trigger == self.play:
            paused = not paused
            if not paused and minutes >= day.minutes:
                minutes = 0  # play from the start after the end
        elif trigger == self.tick and not paused:
            minutes, state = play_tick(day, minutes, int(speed or 15))
            moment = moment_at(day, minutes)
            return (as_of_text(moment), minutes, *state, describe(moment, tz))
        moment = moment_at(day, minutes)
        return (as_of_text(moment), minutes, paused, "❚❚ pause" if not paused else "▶ play",
                describe(moment, tz))
