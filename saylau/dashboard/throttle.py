"""Slow down password guessing, without locking out anyone who knows their password.

Failures within a sliding window are counted per client address (behind a trusted proxy, the
address it forwards: SAYLAU_DASHBOARD_TRUSTED_PROXIES, saylau/dashboard/app.py), two ways:
- for one user name from one address (``max_failures``): someone guessing that password.
  Logins for that name from there are refused until the oldest failure leaves the window.
- for all names from one address (``ADDRESS_FACTOR`` times more): someone trying many names.
  Logins from there are slowed down, never refused: each waits ``DELAY_STEP_S`` more per
  failure beyond the limit, at most ``MAX_DELAY_S``, before its password is checked. Many
  people can share an address (an office, a proxy nobody declared trusted), and a refusal
  would lock all of them out for one person's failures.
A successful login clears its name's count.
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
# The slow-down of an address with too many failures. Bounded: a sleeping login holds one
# of the worker's threads, and a person with the right password must still get in quickly.
DELAY_STEP_S, MAX_DELAY_S = 0.25, 2.0
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
        """How long logins for ``username`` from ``address`` are refused; 0 = go ahead.
        Only this name's own failures count: other names' never refuse it."""
        now = self._clock()
        with self._lock:
            return self._wait(_name_key(address, username), self.max_failures, now)

    def delay_seconds(self, address: str) -> float:
        """How long a login from ``address`` is held before its password is checked."""
        now = self._clock()
        with self._lock:
            count = len(self._recent(("address", address), now))
        beyond = count - self.max_failures * ADDRESS_FACTOR + 1
        return min(MAX_DELAY_S, DELAY_STEP_S * beyond) if beyond > 0 else 0.0

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
        times = self._recent(key, now)
        if len(times) < limit:
            return 0.0
        return times[-limit] + self.window_s - now  # until the limit-th newest one expires

    def _recent(self, key: tuple[str, ...], now: float) -> deque[float]:
        """The failures of ``key`` still in the window (the older ones are dropped)."""
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

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
