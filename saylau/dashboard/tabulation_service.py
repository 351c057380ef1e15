"""The tabulation page's work, apart from its layout: which photos a user may see, the next
photo to give a volunteer, and taking an entry (with the digitised copy it may complete).

Entries and copies are events sent with the dashboard's `ActionSender`, never warehouse
writes; what the warehouse does not hold yet comes from `RecentEntries` (this process's
memory of the last minutes), so a volunteer is never given a photo they just entered.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import flask
import pandas as pd
from werkzeug.exceptions import Forbidden

from saylau.core.contract import Protocol
from saylau.core.i18n import N_
from saylau.core.rules import Ballot, protocol_rule
from saylau.dashboard.actions import (
    ActionError,
    ActionSender,
    digitised_copy_event,
    protocol_entry_event,
)
from saylau.dashboard.double_entry import (
    FINISHED,
    Entry,
    Figures,
    Photo,
    next_photo,
    photo_state,
    with_entries,
    without_copy,
)
from saylau.dashboard.tabulation_recent import RecentEntries
from saylau.dashboard.users import HEADQUARTERS, TABULATOR, User
from saylau.ingest.media import EXTENSIONS, MediaStore
from saylau.warehouse.client import Warehouse
from saylau.warehouse.tabulation_queries import (
    FIGURES,
    as_utc,
    tabulation_entries,
    tabulation_photos,
)

RECENT_KEY = "SAYLAU_TABULATION_RECENT"  # the app's RecentEntries (tabulation_routes.py)
MIME_OF_EXTENSION = {extension: mime for mime, extension in EXTENSIONS.items()}
MAX_COUNT = 10_000_000  # the contract's Count
# A copy sent but not yet in the warehouse is sent again only after this: the worker
# stores it within seconds, and a resent copy (the same id) is counted once anyway.
COPY_RETRY_SECONDS = 30.0
# EntryRefused texts are catalog ids: the page shows them through t().
FILL_IN = N_("Fill in every figure with a whole number.")


def photo_regions(user: User | None) -> frozenset[str] | None:
    """The regions whose photos `user` may see: None for every region (headquarters, a
    tabulator without a region), the one region of a limited tabulator, none for others."""
    if user is None:
        return frozenset()
    if user.role == HEADQUARTERS:
        return None
    if user.role == TABULATOR:
        return frozenset({user.region}) if user.region else None
    return frozenset()


def may_see_region(user: User | None, region_code: str | None) -> bool:
    regions = photo_regions(user)
    return region_code is not None and (regions is None or region_code in regions)


def recent_entries() -> RecentEntries:
    return flask.current_app.config[RECENT_KEY]  # type: ignore[no-any-return]


def load_photos(warehouse: Warehouse, regions: frozenset[str] | None) -> list[Photo]:
    """The photos of `regions` (None: all) with their stored entries and this process's
    recent ones."""
    photos = tabulation_photos(warehouse)
    if regions is not None:
        photos = photos[photos["region_code"].isin(regions)]
    entries: dict[str, list[Entry]] = defaultdict(list)
    for row in tabulation_entries(warehouse).itertuples(index=False):
        entries[row.sha256].append(Entry(
            str(row.entry_id), str(row.volunteer), pd.Timestamp(row.entered_at).to_pydatetime(),
            Figures.of({name: getattr(row, name) for name in FIGURES}, row.votes)))
    stored = [Photo(str(row.sha256), str(row.station_id), str(row.region_code),
                    str(row.observer_id), pd.Timestamp(row.received_at).to_pydatetime(),
                    tuple(entries.get(row.sha256, ())), bool(row.has_copy))
              for row in photos.itertuples(index=False)]
    return recent_entries().merged(stored)


def photo_for(warehouse: Warehouse, user: User) -> Photo | None:
    """The next photo `user` should enter (double_entry.next_photo), None if none."""
    regions = photo_regions(user)
    return next_photo(load_photos(warehouse, regions), user.username, regions)


class EntryRefused(ValueError):
    """An entry the page does not send; the text (a catalog id) says why, for the volunteer.
    `move_on`: the photo is done for this volunteer (a repeat), not waiting for a fix."""

    def __init__(self, text: str, move_on: bool = False) -> None:
        super().__init__(text)
        self.move_on = move_on


@dataclass(frozen=True)
class Taken:
    entry: Entry
    state: str  # the photo's state with this entry
    copy_sent: bool  # this entry completed the digitised copy, and it was sent
    copy_refused: str = ""  # the agreed figures break a protocol rule: no copy was sent
    copy_failed: bool = False  # the broker did not take the copy (sent again later)


def take_entry(warehouse: Warehouse, actions: ActionSender, media: MediaStore, ballot: Ballot,
               user: User, sha256: str, typed: tuple[dict[str, object], dict[str, object]]
               ) -> Taken:
    """Send `user`'s entry of photo `sha256` (`typed`: the figures and the votes as the form
    gave them) and, when it makes two entries agree, the digitised copy. 403 for a photo that
    is not a protocol photo `user` may see (judged first: a forged request learns nothing
    else); EntryRefused if a figure is missing or they entered it already; ActionError if
    the broker did not take it."""
    photo = next((p for p in load_photos(warehouse, photo_regions(user)) if p.sha256 == sha256),
                 None)
    if photo is None:
        raise Forbidden("not a protocol photo of yours to enter")
    figures = read_figures(*typed)
    recent = recent_entries()
    if not recent.claim(user.username, photo):
        raise EntryRefused(N_("You have entered this photo already."), move_on=True)
    event = protocol_entry_event(sha256, photo.station_id, user.username, figures.fields(),
                                 figures.vote_counts())
    try:
        actions.send(event)
    except ActionError:
        recent.release(user.username, sha256)
        raise
    entry = Entry(str(event.event_id), user.username, as_utc(event.occurred_at), figures)
    recent.sent(sha256, entry)
    photo = with_entries(photo, [entry])
    state = photo_state(photo.entries)
    if state.state not in FINISHED or state.agreeing is None or photo.has_copy:
        return Taken(entry, state.state, copy_sent=False)
    try:
        refused = send_copy(actions, media, ballot, photo)
    except ActionError:  # the entry is in: the copy is sent again by a later submit
        return Taken(entry, state.state, copy_sent=False, copy_failed=True)
    if refused:  # the worker would reject it: say so instead of sending it
        return Taken(entry, state.state, copy_sent=False, copy_refused=refused)
    return Taken(entry, state.state, copy_sent=True)


def send_copy(actions: ActionSender, media: MediaStore, ballot: Ballot, photo: Photo) -> str:
    """Send the digitised copy of an agreed photo; the protocol rule it breaks ("" if
    none: sent). ActionError if the broker did not take it (the entry is sent: the copy is
    sent again by the next submit, `send_missing_copies`)."""
    state = photo_state(photo.entries)
    assert state.agreeing is not None, "only an agreed photo has a copy"
    copy = agreed_copy(photo, state.agreeing, media)
    refused = protocol_rule(copy, 0, ballot)
    if refused is not None:
        return refused.reason
    actions.send(copy)
    recent_entries().copy_sent(photo.sha256)
    return ""


def send_missing_copies(warehouse: Warehouse, actions: ActionSender, media: MediaStore,
                        ballot: Ballot, regions: frozenset[str] | None) -> int:
    """Send again the copies of agreed photos the warehouse does not hold, unless this
    process sent one in the last `COPY_RETRY_SECONDS`; how many were sent. A broker still
    down stops it: the next submit tries again."""
    recent, sent = recent_entries(), 0
    for photo in without_copy(load_photos(warehouse, regions)):
        if recent.copy_due(photo.sha256, COPY_RETRY_SECONDS) and \
                not send_copy(actions, media, ballot, photo):
            sent += 1
    return sent


def agreed_copy(photo: Photo, agreeing: tuple[Entry, Entry], media: MediaStore) -> Protocol:
    figures = agreeing[0].figures
    return digitised_copy_event(
        photo.sha256, photo_mime(media, photo.sha256), photo.station_id, photo.observer_id,
        [entry.entry_id for entry in agreeing], [entry.volunteer for entry in agreeing],
        figures.fields(), figures.vote_counts())


def photo_mime(media: MediaStore, sha256: str) -> str:
    """The stored photo's type, from its file name (the store names files by type)."""
    path = media.find(sha256)
    suffix = Path(path).suffix.lstrip(".") if path is not None else ""
    return MIME_OF_EXTENSION.get(suffix, "image/jpeg")


def read_figures(fields: dict[str, object], votes: dict[str, object]) -> Figures:
    """The typed figures, every one a whole number from 0; EntryRefused if one is missing
    or not a count (a blank is not a zero: the photo shows a number)."""
    def count(value: object) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise EntryRefused(FILL_IN)
        try:
            number = float(value)
        except ValueError:
            raise EntryRefused(FILL_IN) from None
        if not number.is_integer() or not 0 <= number <= MAX_COUNT:
            raise EntryRefused(FILL_IN)
        return int(number)

    return Figures.of({name: count(fields.get(name)) for name in FIGURES},
                      {option: count(value) for option, value in votes.items()})
