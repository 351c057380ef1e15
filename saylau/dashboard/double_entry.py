"""Double entry of protocol photos, pure: a photo's state from its entries, the photo a
volunteer is given next, and whether an entry may be taken (docs/tabulation.md).

Two volunteers type the figures of the same photo without seeing each other's work; two
entries by different volunteers with the same figures make the digitised copy. Nothing here
reads the warehouse or the clock: the page passes what the warehouse holds, merged with what
this process sent a moment ago (`RecentEntries`, saylau/dashboard/tabulation_recent.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

WAITING, ENTERED_ONCE, AGREED, CONFLICT, RESOLVED = (
    "waiting", "entered_once", "agreed", "conflict", "resolved")
# The states in which a photo still needs somebody's entry.
NEEDS_ENTRY = frozenset({WAITING, ENTERED_ONCE, CONFLICT})
FINISHED = frozenset({AGREED, RESOLVED})
FIGURE_FIELDS = ("registered", "ballots_received", "ballots_issued", "ballots_cast", "invalid")


@dataclass(frozen=True)
class Figures:
    """What a volunteer typed: the protocol's figures and the votes per option."""

    registered: int
    ballots_received: int
    ballots_issued: int
    ballots_cast: int
    invalid: int
    votes: tuple[tuple[str, int], ...]  # (option, votes), sorted by option: comparable

    @classmethod
    def of(cls, numbers: Mapping[str, int], votes: Mapping[str, int]) -> Figures:
        return cls(registered=int(numbers["registered"]),
                   ballots_received=int(numbers["ballots_received"]),
                   ballots_issued=int(numbers["ballots_issued"]),
                   ballots_cast=int(numbers["ballots_cast"]), invalid=int(numbers["invalid"]),
                   votes=tuple(sorted((str(option), int(count))
                                      for option, count in votes.items())))

    def fields(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in FIGURE_FIELDS}

    def vote_counts(self) -> dict[str, int]:
        return dict(self.votes)


@dataclass(frozen=True)
class Entry:
    entry_id: str
    volunteer: str
    entered_at: dt.datetime  # whole seconds, as the warehouse keeps it: one order everywhere
    figures: Figures

    @property
    def order(self) -> tuple[dt.datetime, str]:
        return self.entered_at, self.entry_id


@dataclass(frozen=True)
class Photo:
    """A protocol photo an observer sent, with every entry of it known so far."""

    sha256: str
    station_id: str
    region_code: str
    observer_id: str  # who sent the photo
    received_at: dt.datetime
    entries: tuple[Entry, ...] = ()
    has_copy: bool = False  # the warehouse holds its digitised copy already

    @property
    def volunteers(self) -> frozenset[str]:
        """Everyone who entered it (also an entry that does not count: see `counted`)."""
        return frozenset(entry.volunteer for entry in self.entries)


@dataclass(frozen=True)
class PhotoState:
    state: str
    # The two entries that agree (earlier first), for agreed and resolved photos.
    agreeing: tuple[Entry, Entry] | None = field(default=None)


def counted(entries: Iterable[Entry]) -> list[Entry]:
    """Each volunteer's first entry of a photo, in entry order. A second entry by the same
    volunteer is refused by the page; one that got through anyway (two dashboard processes
    at once) does not count: a volunteer cannot confirm their own reading."""
    first: dict[str, Entry] = {}
    for entry in sorted(entries, key=lambda e: e.order):
        first.setdefault(entry.volunteer, entry)
    return sorted(first.values(), key=lambda e: e.order)


def photo_state(entries: Iterable[Entry]) -> PhotoState:
    """waiting, entered_once, agreed (the second entry agreed with the first), conflict (two
    or more, no two agreeing) or resolved (a later entry agreed with an earlier one).

    The agreeing pair is the first one to exist: the earliest entry that agrees with an
    earlier one, with the earliest of those it agrees with. Entries that come after it
    change nothing, so the copy's provenance never moves once made."""
    ordered = counted(entries)
    if not ordered:
        return PhotoState(WAITING)
    if len(ordered) == 1:
        return PhotoState(ENTERED_ONCE)
    for later_index, later in enumerate(ordered[1:], start=1):
        for earlier in ordered[:later_index]:
            if earlier.figures == later.figures:
                state = AGREED if later_index == 1 else RESOLVED
                return PhotoState(state, (earlier, later))
    return PhotoState(CONFLICT)


def with_entries(photo: Photo, more: Iterable[Entry]) -> Photo:
    """`photo` with `more` entries merged in (by entry id: one already known is not doubled)."""
    known = {entry.entry_id: entry for entry in photo.entries}
    for entry in more:
        known.setdefault(entry.entry_id, entry)
    return Photo(photo.sha256, photo.station_id, photo.region_code, photo.observer_id,
                 photo.received_at, tuple(sorted(known.values(), key=lambda e: e.order)),
                 photo.has_copy)


def may_enter(photo: Photo, volunteer: str) -> bool:
    """A volunteer enters a photo once: a second entry would be their own second opinion."""
    return volunteer not in photo.volunteers


def queue_rank(photo: Photo) -> tuple[int, dt.datetime, str]:
    """The order photos are given in: photos already started (entered once, or in conflict)
    before fresh ones, since one more entry can finish them and turn a photo into a copy;
    then the oldest photo first, so none waits behind newer ones; the hash breaks ties, so
    every process gives the same order."""
    started = photo_state(photo.entries).state != WAITING
    return (0 if started else 1), photo.received_at, photo.sha256


def next_photo(photos: Iterable[Photo], volunteer: str,
               regions: frozenset[str] | None = None) -> Photo | None:
    """The photo `volunteer` should enter next: one that needs an entry, that they have not
    entered, of `regions` (None: every region), first in `queue_rank` order; None if none."""
    candidates = [photo for photo in photos
                  if (regions is None or photo.region_code in regions)
                  and may_enter(photo, volunteer)
                  and photo_state(photo.entries).state in NEEDS_ENTRY]
    return min(candidates, key=queue_rank, default=None)


def without_copy(photos: Iterable[Photo]) -> list[Photo]:
    """Photos whose entries agree but whose digitised copy the warehouse does not hold: the
    copy's send failed (or is on its way), so it is sent again (its id is the same)."""
    return [photo for photo in photos
            if not photo.has_copy and photo_state(photo.entries).state in FINISHED]


@dataclass(frozen=True)
class Progress:
    """Photos of one region by state (agreed counts resolved ones too)."""

    photos: int = 0
    waiting: int = 0
    entered_once: int = 0
    agreed: int = 0
    conflict: int = 0


def progress_by_region(photos: Iterable[Photo]) -> dict[str, Progress]:
    """Per region: photos received, and how many are waiting, entered once, agreed (or
    resolved) and in conflict."""
    counts: dict[str, dict[str, int]] = {}
    for photo in photos:
        state = photo_state(photo.entries).state
        region = counts.setdefault(photo.region_code, dict.fromkeys(
            ("photos", WAITING, ENTERED_ONCE, AGREED, CONFLICT), 0))
        region["photos"] += 1
        region[AGREED if state in FINISHED else state] += 1
    return {code: Progress(**figures) for code, figures in sorted(counts.items())}
