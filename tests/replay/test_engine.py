"""The replay engine's pure pieces: batching a simulated day, reading ahead in a thread."""

from __future__ import annotations

import datetime as dt
import gc
import threading

import pytest

from saylau.ingest.simulator import SimulatedMessage
from saylau.streams.replay import cyclic_gc_paused, read_ahead, simulated_batches

T0 = dt.datetime(2026, 3, 15, 7, tzinfo=dt.UTC)


def test_simulated_messages_become_batches_numbered_by_line() -> None:
    messages = [SimulatedMessage(T0, "turnout", f"s{i}", b"{}") for i in range(5)]
    batches = list(simulated_batches(iter(messages), "p", 2))
    assert [len(b.messages) for b in batches] == [2, 2, 1]
    assert [m.offset for b in batches for m in b.messages] == [0, 1, 2, 3, 4]
    assert {m.topic for b in batches for m in b.messages} == {"p.turnout"}


def test_read_ahead_keeps_order_and_raises_the_producers_error() -> None:
    assert list(read_ahead(iter(range(100)))) == list(range(100))

    def failing():
        yield 1
        raise ValueError("broken source")

    got = []
    with pytest.raises(ValueError, match="broken source"):
        for item in read_ahead(failing()):
            got.append(item)
    assert got == [1]


def test_the_cyclic_gc_is_paused_inside_and_left_as_it_was_after() -> None:
    assert gc.isenabled()
    with pytest.raises(ValueError), cyclic_gc_paused():
        assert not gc.isenabled()
        raise ValueError("stop")
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_leaving_read_ahead_early_stops_its_thread() -> None:
    before = threading.active_count()
    for item in read_ahead(iter(range(1_000_000))):
        if item == 3:
            break
    assert threading.active_count() == before


def test_alert_evidence_keeps_the_earliest_turnout_and_one_protocol_per_station_and_the_rest():
    import json

    from saylau.core.contract import parse_event
    from saylau.streams.replay import AlertEvidence
    from tests.integration.events import at, event

    def parsed(message: dict):
        return parse_event(json.dumps(message).encode())

    turnout = [parsed(event("turnout", "S1", at(h), ballots_issued=h)) for h in (9, 10, 11)]
    other = [parsed(event("turnout", "S2", at(9), ballots_issued=1)),
             parsed(event("checkout", "S1", at(12), reason="removed")),
             parsed(event("incident", "S1", at(12), category="other", severity=1)),
             parsed(event("incident", "S1", at(13), category="other", severity=1))]
    evidence = AlertEvidence()
    evidence.add(turnout[1:])
    evidence.add([turnout[0], *other])
    assert evidence.events == [turnout[0], *other]  # 09:00 took the place of 10:00
