"""Bearer tokens: one per observer (or headquarters), stored hashed, revocable, expiring.

A token reads ``sy_<token_id>_<secret>``. Only ``token_id`` and HMAC-SHA256(pepper, secret)
are stored (SQLite, stdlib); the secret is shown once, when issued, and never logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from saylau.core.settings import PLACEHOLDER_SECRETS

ROLES = ("observer", "hq")
TOKEN_PATTERN = re.compile(r"^sy_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})$")
OBSERVER_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PEPPER_LENGTH = 16
MAX_CACHED = 100_000  # token-shaped values only, each at most ~140 bytes

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    observer_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
)"""


class PepperError(ValueError):
    """The token pepper is missing, too short or a placeholder."""


def check_pepper(pepper: str) -> bytes:
    if not pepper.strip():
        raise PepperError("SAYLAU_GATEWAY_TOKEN_PEPPER is not set: set a random secret of at "
                          f"least {MIN_PEPPER_LENGTH} characters (e.g. `openssl rand -hex 32`)")
    if pepper.strip().lower() in PLACEHOLDER_SECRETS:
        raise PepperError("SAYLAU_GATEWAY_TOKEN_PEPPER is a placeholder secret; set a real one")
    if len(pepper) < MIN_PEPPER_LENGTH:
        raise PepperError(f"SAYLAU_GATEWAY_TOKEN_PEPPER is shorter than {MIN_PEPPER_LENGTH} "
                          "characters")
    return pepper.encode("utf-8")


@dataclass(frozen=True)
class Identity:
    token_id: str
    observer_id: str
    role: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Issued:
    token: str  # shown once
    identity: Identity


class TokenStore:
    def __init__(self, path: Path, pepper: str, cache_seconds: float = 2.0) -> None:
        self._pepper = check_pepper(pepper)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(SCHEMA)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Identity | None]] = {}
        self.cache_seconds = cache_seconds

    @property
    def cache_size(self) -> int:
        """How many Authorization values the verification cache holds."""
        return len(self._cache)

    def _hash(self, secret: str) -> str:
        return hmac.new(self._pepper, secret.encode("utf-8"), hashlib.sha256).hexdigest()

    def issue(self, observer_id: str, role: str = "observer", days: float = 2.0,
              now: dt.datetime | None = None) -> Issued:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not OBSERVER_ID_PATTERN.match(observer_id):
            raise ValueError("observer id must be 1-64 letters, digits, '_', '.' or '-'")
        if days <= 0:
            raise ValueError("days must be positive")
        now = now or dt.datetime.now(dt.UTC)
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        identity = Identity(token_id, observer_id, role, now + dt.timedelta(days=days))
        with self._lock:
            self._db.execute(
                "INSERT INTO tokens (token_id, secret_hash, observer_id, role, created_at, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                (token_id, self._hash(secret), observer_id, role, now.isoformat(),
                 identity.expires_at.isoformat()))
        return Issued(f"sy_{token_id}_{secret}", identity)

    def revoke(self, token_id: str) -> bool:
        with self._lock:
            cursor = self._db.execute("UPDATE tokens SET revoked = 1 WHERE token_id = ?",
                                      (token_id,))
            self._cache.clear()
        return cursor.rowcount > 0

    def verify(self, token: str, now: dt.datetime | None = None) -> Identity | None:
        """The identity of a valid token; None if unknown, wrong, revoked or expired."""
        now = now or dt.datetime.now(dt.UTC)
        match = TOKEN_PATTERN.match(token)
        if match is None:  # never cached: any header value would otherwise take memory
            return None
        cached = self._cache.get(token)
        if cached is not None and time.monotonic() - cached[0] < self.cache_seconds:
            identity = cached[1]
        else:
            identity = self._lookup(*match.groups())
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[token] = (time.monotonic(), identity)
        if identity is None or identity.expires_at <= now:
            return None
        return identity

    def _lookup(self, token_id: str, secret: str) -> Identity | None:
        with self._lock:
            row = self._db.execute(
                "SELECT secret_hash, observer_id, role, expires_at, revoked FROM tokens "
                "WHERE token_id = ?", (token_id,)).fetchone()
        if row is None or row[4] or not hmac.compare_digest(row[0], self._hash(secret)):
            return None
        return Identity(token_id, row[1], row[2], dt.datetime.fromisoformat(row[3]))

    def close(self) -> None:
        self._db.close()


def tokens_path(data_dir: Path) -> Path:
    return data_dir / "gateway" / "tokens.sqlite3"
