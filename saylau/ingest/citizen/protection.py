"""Abuse limits that need no identity: a rate limit by a rotating keyed hash of the address,
and a small proof-of-work.

The rate limit keeps, in memory only, HMAC-SHA256(key, address) -> a token bucket. The key is
random, made in memory, and replaced every ``rotate_seconds`` together with every bucket: it is
never written anywhere, so once rotated no one (the server included) can tell which address
a past bucket belonged to, and the buckets themselves hold no address.

The proof-of-work is hashcash-style: the server issues a challenge
``<issued unix seconds>.<random>.<HMAC of both>`` (signed with another in-memory key, so
nothing about issued challenges is stored); the page finds a nonce such that
SHA-256(challenge + ":" + nonce) starts with ``bits`` zero bits (2**bits hashes on average:
16 bits ≈ 65,000, about a second in a phone's browser, nothing for a person, a real cost for
a flood). A challenge is good for ``ttl_seconds`` and once: spent ones are remembered (in
memory) until they expire.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from saylau.ingest.gateway.ratelimit import RateLimiter

Clock = Callable[[], float]


class AddressLimiter:
    """A token bucket per keyed hash of the address; the key and buckets rotate together."""

    def __init__(self, per_hour: float, burst: int, rotate_seconds: float = 3600.0,
                 clock: Clock = time.monotonic) -> None:
        self.per_hour = per_hour
        self.burst = burst
        self.rotate_seconds = rotate_seconds
        self._clock = clock
        self._rotate(clock())

    def _rotate(self, now: float) -> None:
        self._key = secrets.token_bytes(32)
        self._since = now
        self._buckets = RateLimiter(self.per_hour / 3600.0, self.burst, self._clock)

    def take(self, address: str) -> float:
        """0 if one more report may pass now, else seconds to wait."""
        now = self._clock()
        if now - self._since >= self.rotate_seconds:
            self._rotate(now)
        keyed = hmac.new(self._key, address.encode("utf-8", "replace"), "sha256").hexdigest()
        return self._buckets.take(keyed)


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def work_digest(challenge: str, nonce: str) -> bytes:
    return hashlib.sha256(f"{challenge}:{nonce}".encode()).digest()


def solve(challenge: str, bits: int) -> str:
    """A nonce for ``challenge`` (what the page does, in Python for tests and scripts)."""
    nonce = 0
    while leading_zero_bits(work_digest(challenge, str(nonce))) < bits:
        nonce += 1
    return str(nonce)


class ProofOfWork:
    def __init__(self, bits: int, ttl_seconds: float = 600.0,
                 clock: Clock = time.time) -> None:
        self.bits = bits
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._spent: dict[str, float] = {}  # challenge -> when it expires

    def issue(self) -> str:
        body = f"{int(self._clock())}.{secrets.token_hex(12)}"
        return f"{body}.{self._sign(body)}"

    def check(self, challenge: str, nonce: str) -> str | None:
        """None if the work is good (and spends the challenge), else the reason it is not."""
        body, _, signature = challenge.rpartition(".")
        issued, _, _ = body.partition(".")
        if not issued.isdigit() or not hmac.compare_digest(signature, self._sign(body)):
            return "pow_invalid"
        now = self._clock()
        if now - int(issued) > self.ttl_seconds:
            return "pow_expired"
        self._spent = {spent: until for spent, until in self._spent.items() if until > now}
        if challenge in self._spent:
            return "pow_spent"
        if len(nonce) > 32 or leading_zero_bits(work_digest(challenge, nonce)) < self.bits:
            return "pow_insufficient"
        self._spent[challenge] = int(issued) + self.ttl_seconds
        return None

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), "sha256").hexdigest()[:32]
