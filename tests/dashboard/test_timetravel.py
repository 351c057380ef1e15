"""Time travel's moment arithmetic: parsing ``as_of``, slider positions, one step of play."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from dash import no_update

from saylau.dashboard.timetravel import (
    BadAsOf,
    Day,
    minutes_into,
    moment_at,
    parse_as_of,
    play_tick,
    step,
)

ALMATY = ZoneInfo("Asia/Almaty")
DAY = Day(dt.datetime(2026, 3, 15, 6, tzinfo=ALMATY), dt.datetime(2026, 3, 16, 0, tzinfo=ALMATY))


@pytest.mark.parametrize("text", [None, "", "  "])
def test_no_as_of_means_live(text):
    assert parse_as_of(text) is None


def test_as_of_with_a_zone_is_that_moment():
    assert parse_as_of("2026-03-15T10:30:00+05:00") == dt.datetime(
        2026, 3, 15, 5, 30, tzinfo=dt.UTC)


def test_as_of_whose_plus_became_a_space_in_the_address_still_parses():
    assert parse_as_of("2026-03-15T10:30:00 05:00") == parse_as_of("2026-03-15T10:30:00+05:00")


def test_as_of_without_a_zone_is_in_the_election_zone():
    assert parse_as_of("2026-03-15T10:30", ALMATY) == dt.datetime(2026, 3, 15, 10, 30,
                                                                  tzinfo=ALMATY)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-40", "<script>"])
def test_bad_as_of_is_a_clear_error(text):
    with pytest.raises(BadAsOf, match="is not a date and time"):
        parse_as_of(text)


def test_slider_positions_round_trip_and_clamp_to_the_day():
    assert DAY.minutes == 18 * 60
    assert minutes_into(DAY, moment_at(DAY, 270)) == 270
    assert minutes_into(DAY, None) == DAY.minutes  # live sits at the end
    assert minutes_into(DAY, DAY.start - dt.timedelta(hours=3)) == 0
    assert minutes_into(DAY, DAY.end + dt.timedelta(hours=3)) == DAY.minutes


def test_play_steps_by_the_speed_and_stops_at_the_end():
    assert step(DAY, 100, 15) == (115, True)
    assert step(DAY, DAY.minutes - 5, 15) == (DAY.minutes, False)


def test_a_tick_of_play_leaves_the_play_state_alone_until_the_end():
    # A tick's answer may arrive after a pause click's: it must not start play again.
    assert play_tick(DAY, 0, 15) == (15, (no_update, no_update))
    assert play_tick(DAY, DAY.minutes - 5, 15) == (DAY.minutes, (True, "▶ play"))
