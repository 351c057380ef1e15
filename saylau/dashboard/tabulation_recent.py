"""What this dashboard process sent for double entry a moment ago, before the warehouse has it.

An entry goes to Kafka, and the worker stores it about a second later: until then the
warehouse does not know it. A volunteer who submits and is given the next photo at once
would otherwise be given the same photo again, or could enter it a second time. So the page
remembers every entry it sent for `KEEP_SECONDS` and merges them with the warehouse's (by
entry id, so one known to both counts once). `claim` reserves a (volunteer, photo) pair
under a lock before the entry is sent, so two clicks at once cannot both pass the check.

It is per process: with several dashboard processes (gunicorn), two could each take one
entry of the same volunteer for the same photo within that second; the second one then
does not count (double_entry.counted).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from saylau.dashboard.double_entry import Entry, Photo, may_enter, with_entries

KEEP_SECONDS = 600.0  # far longer than the worker takes; short enough to stay small


class RecentEntries:
    def __init__(self, keep_seconds: float = KEEP_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.keep_seconds, self.clock = keep_seconds, clock
        self._lock = threading.Lock()
        self._entries: dict[str, list[tuple[float, Entry]]] = {}  # photo -> (sent, entry)
        self._claims: dict[tuple[str, str], float] = {}  # (volunteer, photo) -> when
        self._copies: dict[str, float] = {}  # photo -> when its digitised copy was sent

    def merged(self, photos: Iterable[Photo]) -> list[Photo]:
        """`photos` with the entries sent recently merged in."""
        with self._lock:
            self._forget_old()
            recent = {sha: [entry for _at, entry in kept]
                      for sha, kept in self._entries.items()}
        return [with_entries(photo, recent.get(photo.sha256, ())) for photo in photos]

    def claim(self, volunteer: str, photo: Photo) -> bool:
        """Reserve `volunteer`'s one entry of `photo` (already merged); False if they have
        entered it, or another request of theirs is entering it now."""
        with self._lock:
            self._forget_old()
            key = (volunteer, photo.sha256)
            if key in self._claims or not may_enter(photo, volunteer):
                return False
            self._claims[key] = self.clock()
            return True

    def release(self, volunteer: str, sha256: str) -> None:
        """The entry was not sent after all (the broker refused it): it may be tried again."""
        with self._lock:
            self._claims.pop((volunteer, sha256), None)

    def sent(self, sha256: str, entry: Entry) -> None:
        with self._lock:
            self._entries.setdefault(sha256, []).append((self.clock(), entry))

    def copy_due(self, sha256: str, wait_seconds: float) -> bool:
        """Whether to send `sha256`'s copy again: not sent by this process in the last
        `wait_seconds` (the worker may simply not have stored it yet)."""
        with self._lock:
            sent = self._copies.get(sha256)
            return sent is None or self.clock() - sent >= wait_seconds

    def copy_sent(self, sha256: str) -> None:
        with self._lock:
            self._copies[sha256] = self.clock()

    def _forget_old(self) -> None:
        oldest = self.clock() - self.keep_seconds
        for sha in list(self._entries):
            kept = [(at, entry) for at, entry in self._entries[sha] if at >= oldest]
            if kept:
                self._entries[sha] = kept
            else:
                del self._entries[sha]
        # A claim outlives its entry's memory by nothing: after that, the warehouse knows.
        self._claims = {key: at for key, at in self._claims.items() if at >= oldest}
        self._copies = {sha: at for sha, at in self._copies.items() if at >= oldest}
