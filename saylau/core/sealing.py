"""Contacts only the legal team can read: libsodium sealed boxes (PyNaCl).

A citizen reporter may leave a way for the movement's lawyers to reach them. The gateway
seals it on arrival with the legal team's *public* key (X25519, ``nacl.public.SealedBox``:
an ephemeral key per message, so two sealings of the same text differ and the server keeps
nothing that opens them). Only the holder of the private key opens it, on their own machine
(``saylau cases contact``). PyNaCl is the well-kept binding of libsodium; a sealed box is
exactly "anyone may encrypt, one may decrypt", with no key exchange to get wrong.

Keys are base64 text (32 bytes each), one per file.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox


class SealingError(ValueError):
    """A key that is not a key, or a sealed text that this key does not open."""


def generate_keypair(private_path: Path, public_path: Path) -> str:
    """Write a new key pair (the private key with mode 0600, created so, never widened);
    returns the public key, base64."""
    key = PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    with os.fdopen(os.open(private_path, flags, 0o600), "w", encoding="ascii") as out:
        out.write(_b64(bytes(key)) + "\n")
    public = _b64(bytes(key.public_key))
    public_path.write_text(public + "\n", encoding="ascii")
    return public


def public_key(text: str) -> PublicKey:
    return PublicKey(_key_bytes(text))


def private_key_file(path: Path) -> PrivateKey:
    return PrivateKey(_key_bytes(path.read_text(encoding="ascii")))


def seal(plain: str, key: PublicKey) -> str:
    return _b64(SealedBox(key).encrypt(plain.encode("utf-8")))


def unseal(sealed: str, key: PrivateKey) -> str:
    try:
        return SealedBox(key).decrypt(base64.b64decode(sealed, validate=True)).decode("utf-8")
    except (CryptoError, binascii.Error, UnicodeDecodeError) as error:
        raise SealingError("this key does not open the sealed contact") from error


def _key_bytes(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error as error:
        raise SealingError("a key is 32 bytes in base64") from error
    if len(raw) != 32:
        raise SealingError("a key is 32 bytes in base64")
    return raw


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
