"""Transport noise and the order messages are sent in.

Every event is one message, sent when it occurs (plus the table's lag). Noise then adds
copies and delays, drawn independently per event (see ``NoiseRates``); the messages are
sorted by the time they are sent, ties in a fixed order, so the output is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from saylau.ingest.simulator.clock import HOUR, MINUTE, uniform_seconds, within_day
from saylau.ingest.simulator.encoding import Table
from saylau.ingest.simulator.scenario import NoiseRates

EVENT, DUPLICATE, MALFORMED = range(3)  # what a message is
TRUNCATED, GARBLED = range(2)  # how a malformed message was mangled
# Mojibake with a raw control character: invalid JSON wherever it lands.
JUNK = ("Ð¡Ð°\x01Ð¹", "\x1bÑ\u0080Ð»", "\x00\x00\x00\x00", "\ufffd\ufffd\x02\ufffd", "Ã\x10Â")

POSITION_BITS = 40  # send times (< 2**17 s) and positions share one int64 sort key
Ints = npt.NDArray[np.int64]


@dataclass
class Schedule:
    """Every message in sending order: which table and row, when, and what it is."""

    table: npt.NDArray[np.uint8]
    row: Ints
    sent: Ints
    what: npt.NDArray[np.uint8]
    mangle: npt.NDArray[np.float64]  # malformed messages: where to cut or garble (0-1)
    counts: dict[str, int]

    def __len__(self) -> int:
        return int(self.sent.size)


def schedule(tables: list[Table], rates: NoiseRates, rng: np.random.Generator) -> Schedule:
    table = np.concatenate([np.full(len(t), number, dtype=np.uint8)
                            for number, t in enumerate(tables)])
    row = np.concatenate([np.arange(len(t), dtype=np.int64) for t in tables])
    occurred = np.concatenate([t.columns["at"] for t in tables]).astype(np.int64)
    station = np.concatenate([t.columns["station"] for t in tables]).astype(np.int64)
    sent = occurred + np.concatenate([uniform_seconds(rng, *t.lag, len(t)) for t in tables])
    count = occurred.size
    out_of_order = _draw(rng, count, rates.out_of_order)
    sent[out_of_order] = _overtaken(occurred, station, out_of_order, rng)
    late = _draw(rng, count, rates.late)
    sent[late] = np.maximum(sent[late], occurred[late]
                            + uniform_seconds(rng, 10 * MINUTE, 3 * HOUR, late.size))
    duplicate = _draw(rng, count, rates.duplicate)
    malformed = _draw(rng, count, rates.malformed)
    copies_sent = sent[duplicate] + uniform_seconds(rng, 5, 15 * MINUTE, duplicate.size)
    garbled_sent = sent[malformed].copy()
    sent[malformed] += uniform_seconds(rng, 2, MINUTE, malformed.size)  # the retry
    parts = [(np.arange(count), sent, EVENT), (duplicate, copies_sent, DUPLICATE),
             (malformed, garbled_sent, MALFORMED)]
    index = np.concatenate([part[0] for part in parts])
    all_sent = within_day(np.concatenate([part[1] for part in parts]))
    what = np.repeat(np.array([part[2] for part in parts], dtype=np.uint8),
                     [part[0].size for part in parts])
    mangle = np.zeros(index.size)
    mangle[what == MALFORMED] = rng.random(malformed.size)
    order = _sending_order(all_sent)
    index = index[order]
    counts = {"events": count, "messages": int(index.size), "duplicate": int(duplicate.size),
              "late": int(late.size), "out_of_order": int(out_of_order.size),
              "malformed": int(malformed.size)}
    return Schedule(table[index], row[index], all_sent[order], what[order], mangle[order],
                    counts)


def _sending_order(sent: Ints) -> Ints:
    """Positions sorted by send time, ties by position: one value sort of (time, position)
    keys, several times faster than a stable argsort."""
    keys = (sent.astype(np.int64) << POSITION_BITS) | np.arange(sent.size, dtype=np.int64)
    keys.sort()
    return keys & ((1 << POSITION_BITS) - 1)


def _draw(rng: np.random.Generator, count: int, rate: float) -> Ints:
    """Indices of the events hit by a noise of this rate."""
    return np.nonzero(rng.random(count) < rate)[0] if rate > 0 else np.array([], np.int64)


def _overtaken(occurred: Ints, station: Ints, rows: Ints, rng: np.random.Generator) -> Ints:
    """Send times after the station's next event; a station's last event waits 1-15 min."""
    span = int(occurred.max()) + 2 if occurred.size else 1
    keys = np.sort(station * span + occurred)
    own = station[rows] * span + occurred[rows]
    after = np.searchsorted(keys, own, side="right")
    following = keys[np.minimum(after, keys.size - 1)]
    has_next = (after < keys.size) & (following // span == station[rows])
    delay = uniform_seconds(rng, 1, MINUTE, rows.size)
    return np.where(has_next, following % span + delay,
                    occurred[rows] + uniform_seconds(rng, MINUTE, 15 * MINUTE, rows.size))


def mangle(text: str, how: float) -> str:
    """A message cut short or garbled in transit: never valid JSON."""
    position = int(how * 1e6)
    if position % 2 == TRUNCATED:
        return text[:1 + int(how * (len(text) - 2))]
    junk = JUNK[(position // 2) % len(JUNK)]
    at = int(how * max(len(text) - len(junk), 0))
    return text[:at] + junk + text[at + len(junk):]
