"""A batch of Kafka messages becomes warehouse rows, rejections and a duplicate count."""

import datetime as dt
import json
import uuid
from zoneinfo import ZoneInfo

import pytest

from saylau.core.refused import refused_message
from saylau.core.validation import DayWindow, StationInfo
from saylau.streams.batch import (
    MAX_RAW_KEPT,
    REJECTED_COLUMNS,
    Message,
    RecentIds,
    SeenIds,
    process_batch,
    settle,
)
from saylau.streams.rows import EVENT_COLUMNS

ALMATY = ZoneInfo("Asia/Almaty")
WINDOW = DayWindow.for_election(dt.date(2026, 3, 15), ALMATY)
STATIONS = {"KAZ011-0457": StationInfo("KAZ011", 1200), "KAZ002-0001": StationInfo("KAZ002", 90)}
NOW = dt.datetime(2026, 3, 15, 8, 0, 1, tzinfo=dt.UTC)


def event(kind: str = "turnout", station_id: str = "KAZ011-0457", **fields: object) -> bytes:
    body = {"schema": "saylau.event/1", "event_id": str(uuid.uuid4()), "kind": kind,
            "station_id": station_id, "observer_id": "obs-1",
            "occurred_at": "2026-03-15T12:00:00+05:00", **fields}
    if kind == "turnout":
        body.setdefault("ballots_issued", 10)
    return json.dumps(body).encode()


def messages(*values: bytes | None, topic: str = "saylau.turnout") -> list[Message]:
    return [Message(topic, 0, offset, value) for offset, value in enumerate(values)]


def run(batch: list[Message], recent: RecentIds | None = None):
    return process_batch(batch, STATIONS, WINDOW, recent or RecentIds(), NOW)


def test_duplicate_event_within_a_batch_is_counted_once():
    value = event()
    result = run(messages(value, value, value))
    assert len(result.rows) == 1
    assert result.duplicates == 2
    assert result.rejects == []


def test_duplicate_event_with_other_content_is_still_dropped_by_event_id():
    first = json.loads(event())
    second = {**first, "ballots_issued": 99}
    result = run(messages(json.dumps(first).encode(), json.dumps(second).encode()))
    assert [row["ballots_issued"] for row in result.rows] == [10]
    assert result.duplicates == 1


def test_event_already_written_is_dropped_and_counted():
    value = event()
    recent = RecentIds()
    recent.add_all([json.loads(value)["event_id"]])
    result = run(messages(value, event()), recent)
    assert len(result.rows) == 1
    assert result.duplicates == 1
    assert result.event_ids[0] != json.loads(value)["event_id"]


def test_process_batch_does_not_remember_ids_itself():
    recent = RecentIds()
    run(messages(event()), recent)
    assert len(recent) == 0  # the caller adds ids once the rows are written


def test_distinct_events_are_all_kept_in_message_order():
    values = [event(ballots_issued=n) for n in range(5)]
    result = run(messages(*values))
    assert [row["ballots_issued"] for row in result.rows] == list(range(5))
    assert result.event_ids == [json.loads(value)["event_id"] for value in values]
    assert result.duplicates == 0


def test_rejected_message_carries_its_kafka_position_and_reason():
    batch = [Message("saylau.turnout", 3, 1041, b"{oops"),
             Message("saylau.incidents", 1, 7, event(station_id="KAZ099-0001")),
             Message("saylau.turnout", 2, 12, None)]
    result = run(batch)
    assert result.rows == []
    assert [(r["source_topic"], r["source_partition"], r["source_offset"], r["reason"])
            for r in result.rejects] == [
        ("saylau.turnout", 3, 1041, "invalid_json"),
        ("saylau.incidents", 1, 7, "unknown_station"),
        ("saylau.turnout", 2, 12, "empty_message"),
    ]
    assert all(r["rejected_at"] == NOW and r["detail"] for r in result.rejects)


def test_rejected_row_keeps_the_raw_text():
    value = event(ballots_issued=1201)
    (reject,) = run(messages(value)).rejects
    assert reject["reason"] == "turnout_above_registered"
    assert reject["raw"] == value.decode()
    assert set(reject) == set(REJECTED_COLUMNS)


def test_rejected_raw_is_truncated_and_undecodable_bytes_replaced():
    (long_reject, binary_reject) = run(messages(b"x" * (MAX_RAW_KEPT + 10), b"\xff{")).rejects
    assert len(long_reject["raw"]) == MAX_RAW_KEPT
    assert binary_reject["raw"] == "\ufffd{"


def test_rejected_duplicates_are_each_reported():
    result = run(messages(b"{oops", b"{oops"))
    assert len(result.rejects) == 2
    assert result.duplicates == 0


def test_a_gateway_refusal_becomes_a_rejected_row_with_the_gateways_reason_and_key():
    kept = refused_message("invalid_event", "incident.severity: too high", b'{"kind": 1}')
    batch = [Message("saylau.refused", 0, 7, kept.to_json().encode()),
             Message("saylau.refused", 0, 8, b"not an envelope")]
    result = run(batch)
    assert result.rows == [] and result.events == []
    first, second = result.rejects
    assert (first["source_topic"], first["source_partition"], first["source_offset"]) == \
        ("saylau.refused", 0, kept.key)
    assert (first["reason"], first["detail"], first["raw"]) == \
        ("invalid_event", "incident.severity: too high", '{"kind": 1}')
    assert (second["reason"], second["source_offset"]) == ("invalid_refusal", 8)


def test_the_same_refusal_read_again_keeps_its_key():
    kept = refused_message("invalid_json", "the body is not valid JSON", b"{")
    once = run([Message("saylau.refused", 0, 3, kept.to_json().encode())]).rejects
    again = run([Message("saylau.refused", 0, 0, kept.to_json().encode())]).rejects
    assert once[0]["source_offset"] == again[0]["source_offset"] == kept.key


def test_row_carries_region_code_from_the_registry():
    result = run(messages(event(station_id="KAZ002-0001"), event()))
    assert [row["region_code"] for row in result.rows] == ["KAZ002", "KAZ011"]


def test_row_keeps_the_raw_payload_unchanged():
    value = ('{ "kind":"turnout",  "ballots_issued": 7, "station_id":"KAZ011-0457",\n'
             f'"event_id":"{uuid.uuid4()}", "observer_id":"obs-1", '
             '"occurred_at":"2026-03-15T12:00:00+05:00", "schema":"saylau.event/1",'
             '"source":"official" }').encode()
    (row,) = run(messages(value)).rows
    assert row["payload"] == value.decode("utf-8")


def test_row_has_exactly_the_event_columns():
    (row,) = run(messages(event())).rows
    assert tuple(row) == EVENT_COLUMNS


def test_turnout_row_has_its_numbers_and_times_in_utc():
    (row,) = run(messages(event(ballots_issued=55, registered_voters=1200))).rows
    assert row["kind"] == "turnout"
    assert (row["ballots_issued"], row["registered_voters"]) == (55, 1200)
    assert (row["category"], row["severity"]) == ("", 0)
    assert row["occurred_at"] == dt.datetime(2026, 3, 15, 7, 0, tzinfo=dt.UTC)
    assert row["occurred_at"].utcoffset() == dt.timedelta(0)
    assert row["received_at"] == NOW


def test_turnout_without_registered_voters_stores_zero():
    (row,) = run(messages(event(ballots_issued=55))).rows
    assert row["registered_voters"] == 0


def test_incident_row_has_category_and_severity():
    (row,) = run(messages(event("incident", category="vote_buying", severity=3))).rows
    assert (row["kind"], row["category"], row["severity"]) == ("incident", "vote_buying", 3)
    assert (row["ballots_issued"], row["registered_voters"]) == (0, 0)


def test_mixed_batch_is_split_into_rows_rejects_and_duplicates():
    good = event()
    result = run(messages(good, b"", event("checkin", role="observer"), good,
                          event(station_id="nope")))
    assert (len(result.rows), len(result.rejects), result.duplicates) == (2, 2, 1)


def test_empty_batch_gives_an_empty_result():
    result = run([])
    assert (result.rows, result.rejects, result.duplicates) == ([], [], 0)


# --- SeenIds: the bounded filter, and settling its suspects ----------------------------


def test_seen_ids_never_forgets_what_was_added():
    seen = SeenIds(bits=2 ** 16)
    ids = [str(uuid.uuid4()) for _ in range(2000)]
    seen.add_all(ids)
    assert seen.perhaps_seen(ids).all()  # no false negatives, however full
    assert len(seen) == 2000


def test_seen_ids_says_certainly_new_for_most_ids_never_added():
    seen = SeenIds(bits=2 ** 20)
    seen.add_all(str(uuid.uuid4()) for _ in range(10_000))
    others = [str(uuid.uuid4()) for _ in range(10_000)]
    assert seen.perhaps_seen(others).sum() < 10  # about 0.0003 expected at this load


def test_seen_ids_memory_is_fixed_however_many_ids_are_added():
    seen = SeenIds(bits=2 ** 16)
    before = seen.nbytes
    for _ in range(50):  # 100,000 ids into 8 KiB: 12 times more ids than bytes
        seen.add_all(str(uuid.uuid4()) for _ in range(2000))
    assert seen.nbytes == before == 2 ** 13
    assert len(seen) == 100_000  # a count, not the ids


def test_seen_ids_wants_a_power_of_two():
    with pytest.raises(ValueError):
        SeenIds(bits=1000)


def test_event_the_filter_may_have_seen_is_held_as_a_suspect():
    value = event()
    seen = SeenIds()
    seen.add_all([json.loads(value)["event_id"]])
    result = run(messages(value), seen)
    assert result.rows == [] and result.duplicates == 1
    assert result.suspect_keys() == [("KAZ011-0457", json.loads(value)["event_id"])]


def test_settled_suspect_that_the_warehouse_holds_stays_a_duplicate():
    value = event()
    seen = SeenIds()
    seen.add_all([json.loads(value)["event_id"]])
    result = run(messages(value, event()), seen)
    settle(result, {json.loads(value)["event_id"]}, NOW)
    assert len(result.rows) == 1 and result.duplicates == 1 and result.suspects == []


def test_a_collision_never_drops_a_real_event():
    # A filter of 64 bits, all set: every id is a suspect, as if every hash collided.
    full = SeenIds(bits=64, hashes=1)
    full.add_all(str(n) for n in range(2000))
    values = [event(ballots_issued=n) for n in range(20)]
    result = run(messages(*values), full)
    assert result.rows == [] and len(result.suspects) == 20
    settle(result, set(), NOW)  # the warehouse holds none of them
    assert sorted(row["ballots_issued"] for row in result.rows) == list(range(20))
    assert len(result.protocols) == 0 and result.duplicates == 0


def test_settling_keeps_the_copy_in_the_batch_dropped():
    value = event()
    full = SeenIds(bits=64, hashes=1)
    full.add_all(str(n) for n in range(2000))
    result = run(messages(value, value), full)
    settle(result, set(), NOW)
    assert len(result.rows) == 1 and result.duplicates == 1
