"""The abuse limits without identity: the keyed rate limit rotates, the proof-of-work expires."""

from __future__ import annotations

from saylau.ingest.citizen.protection import (
    AddressLimiter,
    ProofOfWork,
    leading_zero_bits,
    solve,
    work_digest,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_leading_zero_bits_counts_bits_not_bytes() -> None:
    assert leading_zero_bits(b"\x00\x00\x0f") == 20
    assert leading_zero_bits(b"\x80") == 0
    assert leading_zero_bits(b"\x01") == 7
    assert leading_zero_bits(b"\x00\x00") == 16


def test_the_limit_holds_per_address_and_forgets_everything_when_the_key_rotates() -> None:
    clock = Clock()
    limiter = AddressLimiter(per_hour=1, burst=2, rotate_seconds=3600, clock=clock)
    assert [limiter.take("10.0.0.1") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("10.0.0.1") > 0
    assert limiter.take("10.0.0.2") == 0.0  # another address, its own bucket
    key = limiter._key
    held = repr(vars(limiter._buckets))
    assert "10.0.0.1" not in held  # buckets are keyed by the HMAC, never by the address
    clock.now += 3600
    assert limiter.take("10.0.0.1") == 0.0  # new key, new buckets
    assert limiter._key != key


def test_a_challenge_is_good_once_and_only_until_it_expires() -> None:
    clock = Clock()
    work = ProofOfWork(bits=8, ttl_seconds=600, clock=clock)
    challenge = work.issue()
    nonce = solve(challenge, 8)
    assert leading_zero_bits(work_digest(challenge, nonce)) >= 8
    late = work.issue()
    assert work.check(challenge, nonce) is None
    assert work.check(challenge, nonce) == "pow_spent"
    clock.now += 601
    assert work.check(late, solve(late, 8)) == "pow_expired"
    assert work.check(challenge.replace(".", "x", 1), nonce) == "pow_invalid"
    other = ProofOfWork(bits=8, clock=clock)  # another process's key: not ours
    fresh = other.issue()
    assert work.check(fresh, solve(fresh, 8)) == "pow_invalid"
