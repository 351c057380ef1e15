"""The pure logic of double entry: a photo's state, the order photos are given in, who may
enter what, progress by region, and this process's memory of recent entries."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from saylau.dashboard.double_entry import (
    AGREED,
    CONFLICT,
    ENTERED_ONCE,
    RESOLVED,
    WAITING,
    Entry,
    Figures,
    Photo,
    counted,
    may_enter,
    next_photo,
    photo_state,
    progress_by_region,
    with_entries,
    without_copy,
)
from saylau.dashboard.tabulation_recent import RecentEntries

T0 = dt.datetime(2026, 3, 15, 16, 0, tzinfo=dt.UTC)


def figures(cast: int, votes_a: int | None = None) -> Figures:
    votes_a = cast - 10 if votes_a is None else votes_a
    return Figures.of({"registered": 900, "ballots_received": 900, "ballots_issued": cast,
                       "ballots_cast": cast, "invalid": 10 + (cast - 10 - votes_a)},
                      {"amanat": votes_a, "against_all": 0})


_ids = itertools.count()


def entry(volunteer: str, typed: Figures, minute: int) -> Entry:
    return Entry(f"e{next(_ids):03d}", volunteer, T0 + dt.timedelta(minutes=minute), typed)


def photo(sha: str, *entries: Entry, region: str = "KAZ011", minute: int = 0) -> Photo:
    return Photo(sha * 64, f"{region}-0001", region, "obs-1",
                 T0 - dt.timedelta(hours=1) + dt.timedelta(minutes=minute), tuple(entries))


def test_a_photo_without_entries_waits_and_with_one_is_entered_once() -> None:
    assert photo_state([]).state == WAITING
    assert photo_state([entry("v1", figures(500), 1)]).state == ENTERED_ONCE


def test_two_volunteers_who_type_the_same_figures_agree() -> None:
    first, second = entry("v1", figures(500), 1), entry("v2", figures(500), 2)
    state = photo_state([second, first])  # in any order given
    assert state.state == AGREED
    assert state.agreeing == (first, second)


def test_two_volunteers_who_differ_are_in_conflict_and_a_third_resolves_it() -> None:
    first, second = entry("v1", figures(500), 1), entry("v2", figures(501), 2)
    assert photo_state([first, second]).state == CONFLICT
    third = entry("v3", figures(501), 3)
    state = photo_state([first, second, third])
    assert state.state == RESOLVED
    assert state.agreeing == (second, third)  # the figures the third agreed with
    fourth = entry("v4", figures(500), 4)  # a later agreement does not move the copy
    assert photo_state([first, second, third, fourth]).agreeing == (second, third)


def test_three_different_readings_stay_in_conflict() -> None:
    entries = [entry(f"v{n}", figures(500 + n), n) for n in range(3)]
    assert photo_state(entries).state == CONFLICT


def test_a_volunteer_cannot_confirm_their_own_reading() -> None:
    first, again = entry("v1", figures(500), 1), entry("v1", figures(500), 2)
    assert counted([again, first]) == [first]
    assert photo_state([first, again]).state == ENTERED_ONCE
    assert not may_enter(photo("a", first), "v1")
    assert may_enter(photo("a", first), "v2")
    # With someone else's differing entry between them, still no agreement with oneself.
    other = entry("v2", figures(501), 3)
    assert photo_state([first, other, again]).state == CONFLICT


def test_the_next_photo_is_a_started_one_before_a_fresh_one_oldest_first() -> None:
    fresh_old = photo("a", minute=0)
    started_new = photo("b", entry("v1", figures(500), 1), minute=30)
    conflict = photo("c", entry("v1", figures(500), 1), entry("v2", figures(7), 2), minute=20)
    done = photo("d", entry("v1", figures(500), 1), entry("v2", figures(500), 2), minute=-5)
    photos = [fresh_old, started_new, conflict, done]
    assert next_photo(photos, "v3") == conflict  # started, and older than b
    assert next_photo([fresh_old, started_new], "v3") == started_new
    assert next_photo([fresh_old, done], "v3") == fresh_old
    # v1 entered b and c: the fresh one; v2 entered c: b.
    assert next_photo(photos, "v1") == fresh_old
    assert next_photo(photos, "v2") == started_new
    assert next_photo([done], "v3") is None


def test_a_region_limited_volunteer_is_given_only_their_region_s_photos() -> None:
    own, other = photo("a", region="KAZ011", minute=5), photo("b", region="KAZ001", minute=0)
    assert next_photo([own, other], "v1") == other  # unlimited: the older one
    assert next_photo([own, other], "v1", frozenset({"KAZ011"})) == own
    assert next_photo([other], "v1", frozenset({"KAZ011"})) is None


def test_progress_counts_photos_by_region_and_state() -> None:
    photos = [photo("a"), photo("b", entry("v1", figures(5), 1)),
              photo("c", entry("v1", figures(5), 1), entry("v2", figures(5), 2)),
              photo("d", entry("v1", figures(5), 1), entry("v2", figures(6), 2)),
              photo("e", entry("v1", figures(5), 1), entry("v2", figures(6), 2),
                    entry("v3", figures(6), 3)),
              photo("f", region="KAZ001")]
    progress = progress_by_region(photos)
    assert set(progress) == {"KAZ001", "KAZ011"}
    own = progress["KAZ011"]
    assert (own.photos, own.waiting, own.entered_once, own.agreed, own.conflict) == (
        5, 1, 1, 2, 1)
    assert (progress["KAZ001"].photos, progress["KAZ001"].waiting) == (1, 1)


def test_entries_merged_in_are_counted_once() -> None:
    known = entry("v1", figures(5), 1)
    merged = with_entries(photo("a", known), [known, entry("v2", figures(5), 2)])
    assert len(merged.entries) == 2 and photo_state(merged.entries).state == AGREED


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_recent_entries_fill_the_gap_until_the_warehouse_has_them() -> None:
    clock = Clock()
    recent = RecentEntries(keep_seconds=60, clock=clock)
    stored = photo("a")
    assert recent.claim("v1", stored)
    assert not recent.claim("v1", stored)  # a second click while the first is sent
    sent = entry("v1", figures(5), 1)
    recent.sent(stored.sha256, sent)
    (merged,) = recent.merged([stored])
    assert merged.entries == (sent,) and not may_enter(merged, "v1")
    assert next_photo(recent.merged([stored]), "v1") is None
    assert recent.claim("v2", merged)
    clock.now = 61  # long after: the warehouse holds it by now
    assert recent.merged([stored])[0].entries == ()
    assert not recent.claim("v1", with_entries(stored, [sent]))  # the warehouse says so


def test_a_released_claim_may_be_tried_again() -> None:
    recent = RecentEntries()
    stored = photo("a")
    assert recent.claim("v1", stored)
    recent.release("v1", stored.sha256)
    assert recent.claim("v1", stored)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_the_state_does_not_depend_on_the_order_entries_arrive_in(order: tuple) -> None:
    entries = [entry("v1", figures(5), 1), entry("v2", figures(6), 2),
               entry("v3", figures(6), 3)]
    state = photo_state([entries[i] for i in order])
    assert state.state == RESOLVED and state.agreeing == (entries[1], entries[2])


def test_agreed_photos_without_their_copy_are_found_again() -> None:
    agreed = photo("a", entry("v1", figures(5), 1), entry("v2", figures(5), 2))
    resolved = photo("b", entry("v1", figures(5), 1), entry("v2", figures(6), 2),
                     entry("v3", figures(6), 3))
    copied = Photo(**{**agreed.__dict__, "sha256": "c" * 64, "has_copy": True})
    conflict = photo("d", entry("v1", figures(5), 1), entry("v2", figures(6), 2))
    assert without_copy([agreed, resolved, copied, conflict, photo("e")]) == [agreed, resolved]


def test_a_copy_is_due_again_only_after_the_wait() -> None:
    clock = Clock()
    recent = RecentEntries(keep_seconds=600, clock=clock)
    assert recent.copy_due("a", 30)
    recent.copy_sent("a")
    assert not recent.copy_due("a", 30) and recent.copy_due("b", 30)
    clock.now = 31
    assert recent.copy_due("a", 30)
