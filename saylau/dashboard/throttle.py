"""Slow down password guessing: too many failed logins, and logins from there wait.

Two counts of failures within a sliding window, both kept per client address:
- for one user name from one address (``max_failures``): someone guessing a password;
- for all names from one address (``ADDRESS_FACTOR`` times more): someone trying many names.
When either is full, logins from that address (for that name, or for any name) are refused
until the oldest failure leaves the window. A successful login clears its name's count.
The counts live in the dashboard process's memory: with several gunicorn workers each keeps
its own, so the limit is per worker (still a few dozen guesses per window, not millions).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

ADDRESS_FACTOR = 10
MAX_KEYS = 100_000  # beyond this many addresses and names, the stalest are forgotten
MAX_NAME = 200  # characters of a typed user name kept as a key (a form may send megabytes)


class LoginThrottle:
    def __init__(self, max_failures: int, window_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self._failures: dict[tuple[str, ...], deque[float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, address: str, username: str) -> float:
        """How long logins for ``username`` from ``address`` must wait; 0 = go ahead."""
        now = self._clock()
        with self._lock:
            return max(self._wait(_name_key(address, username), self.max_failures, now),
                       self._wait(("address", address), self.max_failures * ADDRESS_FACTOR,
                                  now))

    def failed(self, address: str, username: str) -> None:
        now = self._clock()
        with self._lock:
            for key in (_name_key(address, username), ("address", address)):
                self._failures.setdefault(key, deque()).append(now)
            self._forget_stalest()

    def succeeded(self, address: str, username: str) -> None:
        with self._lock:
            self._failures.pop(_name_key(address, username), None)

    def _wait(self, key: tuple[str, ...], limit: int, now: float) -> float:
        times = self._failures.get(key)
        if times is None:
            return 0.0
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0.0
        if len(times) < limit:
            return 0.0
        return times[-limit] + self.window_s - now  # until the limit-th newest one expires

    def _forget_stalest(self) -> None:
        if len(self._failures) > MAX_KEYS:
            by_age = sorted(self._failures, key=lambda key: self._failures[key][-1])
            for key in by_age[: len(self._failures) - MAX_KEYS]:
                del self._failures[key]


def _name_key(address: str, username: str) -> tuple[str, ...]:
    return ("name", address, username[:MAX_NAME])


def minutes_text(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
