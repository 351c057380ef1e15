"""Sending messages at the pace of the simulated clock, and a progress bar for long runs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from saylau.ingest.simulator.day import SimulatedMessage


def feed(messages: Iterable[SimulatedMessage], send: Callable[[SimulatedMessage], None],
         speed: float,
         should_stop: Callable[[], bool] = lambda: False,
         sleep: Callable[[float], None] = time.sleep,
         progress: Callable[[int], None] | None = None) -> int:
    """Send messages in order, paced by their ``sent_at``: ``speed`` simulated seconds per
    real second (``inf`` = no pacing). Returns how many were sent."""
    started, first = time.monotonic(), None
    sent = 0
    for message in messages:
        if first is None:
            first = message.sent_at
        due = (message.sent_at - first).total_seconds() / speed
        while (wait := due - (time.monotonic() - started)) > 0:
            if should_stop():
                return sent
            sleep(min(wait, 0.2))
        if should_stop():
            return sent
        send(message)
        sent += 1
        if progress is not None:
            progress(1)
    return sent


class Progress:
    """``label  42% 1,234,567/2,939,000  310,000/s`` on one line of stderr, redrawn at most
    five times a second."""

    def __init__(self, total: int, label: str = "simulate", stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.label, self.done, self._shown = max(total, 1), label, 0, -1
        self.stream = stream or sys.stderr
        self._clock = clock
        self._started = self._drawn = clock()

    def __call__(self, count: int) -> None:
        self.done += count
        now = self._clock()
        if now - self._drawn >= 0.2 or self.done >= self.total:
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        self._shown = self.done
        rate = self.done / max(now - self._started, 1e-9)
        percent = 100 * self.done / self.total
        self.stream.write(f"\r{self.label} {percent:3.0f}% {self.done:,}/{self.total:,} "
                          f"{rate:,.0f}/s")
        self.stream.flush()

    def close(self) -> None:
        if self._shown != self.done:
            self._draw(self._clock())
        self.stream.write("\n")
        self.stream.flush()
