"""Dashboard users: a JSON file of user names, roles and scrypt password hashes.

Only hashes are stored (scrypt with a per-user random salt); a password is never written,
logged or printed. The file is replaced atomically and readable by its owner only.

Each user also has a session version, a random word copied into the session cookie at login:
a session is good only while its version is the user's current one. Logging out, a new
password (``saylau users add``) and a removal give the user a new one, so every cookie issued
before, copies included, stops working in every dashboard process (they all read this file).
Changes are made under a lock on a file beside it: the dashboard (at logout) and the
``saylau users`` command may change it at the same moment, and neither may undo the other.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from saylau.core.i18n import available_languages

HEADQUARTERS, REGIONAL_LEAD, MEDIA = "headquarters", "regional_lead", "media"
LEGAL = "legal"  # the movement's lawyers: the citizen report cases (pages/cases.py)
# headquarters volunteers who digitise protocol photos (pages/tabulation.py); a region, if
# given, limits them to its photos
TABULATOR = "tabulator"
ROLES = (HEADQUARTERS, REGIONAL_LEAD, MEDIA, LEGAL, TABULATOR)
REGIONAL_ROLES = frozenset({REGIONAL_LEAD, TABULATOR})  # the roles that may have a region
# A user name is also the actor id of the events the user sends (reviewer_id,
# assigned_by), so it follows the contract's ActorId pattern.
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MIN_PASSWORD_CHARS = 12
# scrypt cost: 16 MiB and ~50 ms per check; slows guessing, fine for logins.
SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_BYTES, SALT_BYTES = 2**14, 8, 1, 32, 16
FILE_MODE = 0o600


class UsersError(ValueError):
    """A bad users file or a refused change; the message never contains a password."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    region: str | None = None  # a regional lead's region, a tabulator's if limited; else None
    password_hash: str = field(default="", repr=False, compare=False)
    # "" in a users file written before versions existed: its users' first sessions.
    session_version: str = field(default="", repr=False, compare=False)
    # The user's default language for the dashboard (None: the browser's, else English).
    language: str | None = None

    @property
    def home_path(self) -> str:
        """Where the user lands after logging in: the page made for their role."""
        if self.role == REGIONAL_LEAD:
            return f"/region/{self.region}"
        if self.role == LEGAL:
            return "/cases"
        if self.role == TABULATOR:
            return "/tabulation"
        return "/media" if self.role == MEDIA else "/"


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R,
                         p=SCRYPT_P, dklen=KEY_BYTES)
    return "$".join(["scrypt", str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P),
                     _b64(salt), _b64(key)])


def verify_password(password: str, stored: str) -> bool:
    try:
        name, n, r, p, salt, key = stored.split("$")
        expected = base64.b64decode(key)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt),
                                n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return name == "scrypt" and hmac.compare_digest(actual, expected)


@functools.cache
def _dummy_hash() -> str:
    # Checked when the user name is unknown, so that a wrong name costs as long as a
    # wrong password and the answer time does not tell which names exist.
    return hash_password(secrets.token_urlsafe(16))


def new_session_version() -> str:
    return secrets.token_urlsafe(12)  # random, so a re-added name never repeats an old one


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def check_new_user(username: str, role: str, region: str | None, password: str,
                   region_codes: set[str]) -> None:
    if not USERNAME_PATTERN.fullmatch(username):
        raise UsersError("user name must be 1-64 letters, digits, '_', '.' or '-'")
    if role not in ROLES:
        raise UsersError(f"role must be one of {', '.join(ROLES)}")
    if role == REGIONAL_LEAD and region not in region_codes:
        raise UsersError("a regional lead needs --region, one of the known region codes")
    if role == TABULATOR and region is not None and region not in region_codes:
        raise UsersError("a tabulator's --region must be one of the known region codes")
    if role not in REGIONAL_ROLES and region is not None:
        raise UsersError("only a regional lead or a tabulator has a region")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UsersError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")


def read_users(path: Path) -> dict[str, User]:
    """Every user in the file (none if it does not exist yet)."""
    if not path.exists():
        return {}
    try:
        records = json.loads(path.read_text(encoding="utf-8"))["users"]
        users = [User(r["username"], r["role"], r.get("region"), r["password_hash"],
                      str(r.get("session_version", "")), r.get("language"))
                 for r in records]
    except (ValueError, KeyError, TypeError) as error:
        raise UsersError(f"{path} is not a valid users file") from error
    return {user.username: user for user in users}


def write_users(path: Path, users: dict[str, User]) -> None:
    """Replace the file atomically (a reader sees the old or the new one, never half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"users": [asdict(users[name]) for name in sorted(users)]}, indent=1)
    staging = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(staging, path)


def add_user(path: Path, username: str, role: str, region: str | None, password: str,
             region_codes: set[str], language: str | None = None) -> User:
    """Add a user, or replace the role, password and language of an existing one."""
    check_new_user(username, role, region, password, region_codes)
    if language is not None and language not in available_languages():
        raise UsersError(f"language must be one of {', '.join(available_languages())}")
    # A new session version: a changed password or role ends the sessions of the old one.
    user = User(username, role, region, hash_password(password), new_session_version(),
                language)
    with _changing(path):
        write_users(path, {**read_users(path), username: user})
    return user


def remove_user(path: Path, username: str) -> bool:
    with _changing(path):
        users = read_users(path)
        if username not in users:
            return False
        del users[username]
        write_users(path, users)
    return True


def end_sessions(path: Path, username: str) -> bool:
    """Give the user a new session version: every session of theirs ends, on every
    device. False if there is no such user."""
    with _changing(path):
        users = read_users(path)
        if username not in users:
            return False
        users[username] = replace(users[username], session_version=new_session_version())
        write_users(path, users)
    return True


@contextlib.contextmanager
def _changing(path: Path) -> Iterator[None]:
    """Hold the users file's lock while reading and rewriting it (readers need none: the
    file is replaced atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path.with_name(f".{path.name}.lock"), os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


class UserDirectory:
    """The users file as the running dashboard sees it: re-read when it changes, so a
    removed user, or a session ended in another process, loses access at the next request
    without restarting the dashboard."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._users: dict[str, User] = {}

    def get(self, username: str) -> User | None:
        return self._current().get(username)

    def end_sessions(self, username: str) -> None:
        end_sessions(self.path, username)

    def authenticate(self, username: str, password: str) -> User | None:
        user = self.get(username)
        matches = verify_password(password, user.password_hash if user else _dummy_hash())
        return user if user is not None and matches else None

    def _current(self) -> dict[str, User]:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return {}
        # The inode too: each write is a new file, and two writes of the same size within
        # one tick of the file system's clock have the same mtime.
        stamp = (status.st_ino, status.st_mtime_ns, status.st_size)
        if stamp != self._stamp:
            self._users, self._stamp = read_users(self.path), stamp
        return self._users
