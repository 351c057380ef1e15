"""Per-observer rate limit: a token bucket per observer, refilled at a steady rate.

A request costs one per event. A batch larger than the burst passes only when the bucket is
full, and leaves it in debt: the holder then waits until the whole batch is paid for, so the
sustained rate stays ``per_second`` whatever the batch size.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    def __init__(self, per_second: float, burst: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at); may be < 0

    def take(self, key: str, cost: int = 1) -> float:
        """0 if ``cost`` events may pass now (and charges them), else seconds to wait."""
        if cost <= 0:  # a free request (GET /v1/me) passes even while the bucket is in debt
            return 0.0
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.per_second)
        needed = min(cost, self.burst)  # more than the burst can never be saved up
        if tokens >= needed:
            self._buckets[key] = (tokens - cost, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (needed - tokens) / self.per_second
