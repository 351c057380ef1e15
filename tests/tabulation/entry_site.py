"""What the double-entry tests share: protocol photos and entries as real contract events,
and a warehouse filled through the worker's own batch path."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import pandas as pd

from saylau.core.contract import Event, Media, Protocol, event_to_json
from saylau.core.election import Election
from saylau.core.validation import DayWindow, station_index
from saylau.dashboard.actions import protocol_entry_event
from saylau.ingest.media import MediaStore, Stored, allowed_types
from saylau.streams.batch import Message, RecentIds, process_batch
from saylau.streams.sink import WarehouseSink
from saylau.warehouse.client import Warehouse
from tests.fieldapp.photos import jpeg_with_gps

PARTIES = tuple(Election().options)  # the default ballot, against_all last


def store_photo(media_dir: object, seed: int) -> Stored:
    """A real JPEG (with GPS tags the store strips) put in the media store."""
    store = MediaStore(media_dir, allowed_types("image/jpeg"), 10**7)  # type: ignore[arg-type]
    return store.put(jpeg_with_gps(seed=seed, size=(320, 240)), "image/jpeg")


def photo_protocol(station_id: str, observer_id: str, sha256: str,
                   occurred_at: dt.datetime | None = None) -> Protocol:
    """The observer's protocol event carrying the photo of the signed protocol; figures
    zero (the field app's copy before anyone typed it), which add up."""
    return Protocol.model_validate({
        "kind": "protocol", "source": "observer_copy", "event_id": uuid.uuid4(),
        "station_id": station_id, "observer_id": observer_id,
        "occurred_at": occurred_at or dt.datetime.now(dt.UTC), "registered": 0,
        "ballots_received": 0, "ballots_issued": 0, "ballots_cast": 0, "invalid": 0,
        "votes": {}, "media": [Media(sha256=sha256, mime="image/jpeg")]})


def protocol_figures(cast: int, registered: int = 1500) -> tuple[dict[str, int], dict[str, int]]:
    """Figures that add up (cast = votes + invalid), different for each `cast`."""
    invalid = 7
    votes = dict.fromkeys(PARTIES, 0)
    share = (cast - invalid) // len(PARTIES)
    for party in PARTIES:
        votes[party] = share
    votes[PARTIES[0]] += cast - invalid - share * len(PARTIES)
    return ({"registered": registered, "ballots_received": registered,
             "ballots_issued": cast + 3, "ballots_cast": cast, "invalid": invalid}, votes)


def entry_event(sha256: str, station_id: str, volunteer: str, cast: int,
                occurred_at: dt.datetime | None = None) -> Event:
    fields, votes = protocol_figures(cast)
    return protocol_entry_event(sha256, station_id, volunteer, fields, votes, occurred_at)


def store_events(warehouse: Warehouse, registry: pd.DataFrame, events: Sequence[Event],
                 times: int = 1) -> None:
    """Through the worker's batch path into the warehouse, `times` times (a re-delivered
    batch: the tables must not double count)."""
    messages = [Message("test", 0, offset, event_to_json(event).encode())
                for offset, event in enumerate(events)]
    now = dt.datetime.now(dt.UTC)
    result = process_batch(messages, station_index(registry),
                           DayWindow(now - dt.timedelta(days=1), now + dt.timedelta(days=1)),
                           RecentIds(), now)
    assert not result.rejects, result.rejects
    for _ in range(times):
        WarehouseSink(warehouse).write(result)
