"""The events of a publication's valid rows: official ``protocol`` events as JSON, ready to send.

Identity: the publication id is derived from the file's bytes (``pub-`` and the first 16 hex
digits of its SHA-256) unless one is given, and each event id is uuid5(publication, station),
so the same file imported twice counts nothing twice, and a corrected publication (other
bytes, so another id) is a new event per station that supersedes the earlier one by its
later ``occurred_at`` (the latest official protocol of a station counts).

Speed: a million pydantic models would take about 20 s, so the JSON texts are joined column
by column with Arrow kernels in the contract's canonical form (``event_to_json``). Every
value in them has passed the checks that the contract makes (station codes, counts from 0 to
10,000,000, the actor's and the publication's patterns), and the first event is built
through the contract too and must come out byte for byte the same, so a template that
drifted from the contract stops the import instead of sending what the worker would refuse.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from saylau.core.contract import SCHEMA_VERSION, Protocol, event_to_json
from saylau.ingest.results.mapping import COUNT_FIELDS, Target
from saylau.ingest.results.table import key

_HEX_DIGITS = np.frombuffer("".join(f"{b:02x}" for b in range(256)).encode(),
                            dtype=np.uint8).reshape(256, 2)  # byte -> its two hex digits
# Where the 32 hex digits go in the 36 characters of 8-4-4-4-12
_UUID_DIGIT_POSITIONS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
RESULTS_NAMESPACE = uuid.UUID("0b7f3c52-9e1d-4c6a-a8f4-5d2e61c09b37")
PUBLICATION_PREFIX = "pub-"


@dataclass(frozen=True)
class Identity:
    """Who imports which publication, and when it was published."""

    publication: str
    actor: str
    occurred_at: dt.datetime


def publication_id(content: bytes) -> str:
    """``pub-`` and the first 16 hex digits of the file's SHA-256: the same bytes, the same id."""
    return PUBLICATION_PREFIX + hashlib.sha256(content).hexdigest()[:16]


def event_ids(publication: str, stations: list[str]) -> list[str]:
    """uuid5(RESULTS_NAMESPACE, publication + US + station) per station."""
    return _event_id_array(publication, [station.encode() for station in stations]).to_pylist()


def _event_id_array(publication: str, keys: list[bytes]) -> pa.Array:
    """The event ids of the stations ``keys`` (UTF-8) as ``uuid.uuid5`` makes them (RFC
    4122: SHA-1, then the version and variant bits), the bits set and the text written in
    numpy for all at once: ``uuid.uuid5`` costs 20 µs a call here, the SHA-1 alone 2."""
    if not keys:
        return pa.array([], pa.string())
    prefix = RESULTS_NAMESPACE.bytes + f"{publication}\x1f".encode()
    sha1 = hashlib.sha1
    digests = b"".join([sha1(prefix + key).digest()[:16] for key in keys])  # noqa: S324
    raw = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x50  # version 5
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # the RFC 4122 variant
    text = np.full((len(keys), 36), ord("-"), dtype=np.uint8)
    text[:, _UUID_DIGIT_POSITIONS] = _HEX_DIGITS[raw].reshape(-1, 32)
    return pc.cast(pa.array(text.view("S36").ravel(), pa.binary(36)), pa.string())


def protocol_messages(rows: pd.DataFrame, options: list[str], identity: Identity
                      ) -> list[tuple[bytes, bytes]]:
    """(key, value) per row of ``rows`` (valid station rows): the station and the event."""
    if rows.empty:
        return []
    stations = pa.array(rows["station_id"].astype(str), pa.string())
    keys = pc.cast(stations, pa.binary()).to_pylist()
    ids = _event_id_array(identity.publication, keys)
    texts = _joined(rows, stations, options, identity, ids)
    _check_against_contract(rows.iloc[0], options, identity, ids[0].as_py(), texts[0])
    return list(zip(keys, texts, strict=True))


def _joined(rows: pd.DataFrame, stations: pa.Array, options: list[str], identity: Identity,
            ids: pa.Array) -> list[bytes]:
    occurred = json.dumps(_canonical_time(identity.occurred_at))
    parts: list[pa.Array | str] = [
        f'{{"schema":"{SCHEMA_VERSION}","event_id":"', ids, '","station_id":"', stations,
        f'","observer_id":{json.dumps(identity.actor)},"occurred_at":{occurred}']
    for name in COUNT_FIELDS:
        parts += [f',"{name}":', _number_texts(rows, Target("column", name))]
    for number, option in enumerate(options):
        parts += [(',"votes":{' if number == 0 else ",") + f"{json.dumps(option)}:",
                  _number_texts(rows, Target("vote", option))]
    parts.append('},"kind":"protocol","source":"official","media":[],'
                 f'"publication":{json.dumps(identity.publication)}}}')
    joined = pc.binary_join_element_wise(*parts, "")
    return pc.cast(joined, pa.binary()).to_pylist()


def _number_texts(rows: pd.DataFrame, target: Target) -> pa.Array:
    return pc.cast(pa.array(rows[key(target)].to_numpy(), pa.int64()), pa.string())


def _canonical_time(moment: dt.datetime) -> str:
    """The time as the contract writes it (pydantic's form: ``Z`` for UTC)."""
    sample = Protocol.model_validate(_fields_of([], Identity("", "x", moment), "A", {},
                                                uuid.UUID(int=0)))
    return json.loads(event_to_json(sample))["occurred_at"]


def _fields_of(options: list[str], identity: Identity, station: str, counts: dict[str, int],
               event_id: uuid.UUID) -> dict[str, object]:
    """The event's fields as the contract's model takes them."""
    return {"event_id": event_id, "station_id": station, "observer_id": identity.actor,
            "occurred_at": identity.occurred_at, "kind": "protocol", "source": "official",
            "publication": identity.publication,
            **{name: counts.get(name, 0) for name in COUNT_FIELDS},
            "votes": {option: counts.get(f"vote:{option}", 0) for option in options}}


def _check_against_contract(row: pd.Series, options: list[str], identity: Identity,
                            event_id: str, text: bytes) -> None:
    counts = {key(t): int(row[key(t)]) for t in
              [Target("column", n) for n in COUNT_FIELDS] + [Target("vote", o) for o in options]}
    event = Protocol.model_validate(_fields_of(options, identity, str(row["station_id"]),
                                               counts, uuid.UUID(event_id)))
    if event_to_json(event).encode() != text:
        raise RuntimeError("the results import's event template no longer matches the event "
                           "contract (saylau/core/contract.py): nothing was sent")
