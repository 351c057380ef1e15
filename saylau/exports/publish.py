"""Publishing a bundle so that no reader ever sees half of one.

A bundle is built in a hidden staging folder inside the export folder (the same file
system, so the rename is atomic), flushed to disk, then renamed to its name: the data-as-of
time, ``20260315T140000Z``. Then the ``latest`` symlink is replaced in one step
(a new symlink renamed over the old). Old bundles are kept. A reader resolves ``latest``
once and reads that folder, which never changes after its rename.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from saylau.exports.manifest import MANIFEST, file_entries, read_manifest

LATEST = "latest"
NAME_FORMAT = "%Y%m%dT%H%M%SZ"
# The as-of time, and "-2", "-3"… when data as of that time changed after it was exported.
BUNDLE_NAME = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")
PUBLIC_FOLDER_MODE = 0o755


@dataclass(frozen=True)
class BundleInfo:
    name: str
    path: Path
    data_as_of: str
    generated_at: str
    files: tuple[str, ...]  # every file, manifest.json last


def bundle_name(as_of: dt.datetime) -> str:
    return as_of.astimezone(dt.UTC).strftime(NAME_FORMAT)


@contextmanager
def staging_folder(out_dir: Path) -> Iterator[Path]:
    """A fresh hidden folder in ``out_dir``; removed afterwards unless it was published."""
    out_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=".staging-", dir=out_dir))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def remove_stale_staging(out_dir: Path, older_than_s: float = 3600.0) -> list[str]:
    """Remove staging folders an interrupted export left (killed mid-write); a folder
    younger than ``older_than_s`` may belong to an export still running."""
    if not out_dir.is_dir():
        return []
    cutoff = time.time() - older_than_s
    stale = [path for path in out_dir.glob(".staging-*")
             if path.is_dir() and path.stat().st_mtime < cutoff]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return sorted(path.name for path in stale)


def publish(staged: Path, out_dir: Path, name: str) -> Path:
    """Move the complete ``staged`` folder to ``out_dir/name`` and point ``latest`` at it.

    If a bundle of that name holds the same files already, it is kept and ``staged``
    dropped; if it differs (late reports changed the past), the new one is ``name-2``…
    """
    _flush(staged)
    os.chmod(staged, PUBLIC_FOLDER_MODE)
    target = _place(staged, out_dir, name)
    point_latest(out_dir, target.name)
    return target


def _place(staged: Path, out_dir: Path, name: str) -> Path:
    for number in range(1, 10_000):
        target = out_dir / (name if number == 1 else f"{name}-{number}")
        if target.exists():
            if _same_files(target, staged):
                return target
            continue
        try:
            os.rename(staged, target)  # fails if another exporter took the name meanwhile
        except OSError:
            continue
        _sync_folder(out_dir)
        return target
    raise RuntimeError(f"no free bundle name for {name} in {out_dir}")


def _same_files(existing: Path, staged: Path) -> bool:
    try:
        return bool(read_manifest(existing)["files"] == file_entries(staged))
    except (OSError, ValueError, KeyError):
        return False


def point_latest(out_dir: Path, name: str) -> None:
    link = out_dir / f".{LATEST}-{secrets.token_hex(6)}"
    os.symlink(name, link)  # relative: the export folder may be moved as a whole
    os.replace(link, out_dir / LATEST)
    _sync_folder(out_dir)


def read_latest(out_dir: Path) -> Path | None:
    """The folder ``latest`` points at now (resolve once, then read from it)."""
    try:
        return out_dir / os.readlink(out_dir / LATEST)
    except (FileNotFoundError, OSError):
        return None


def list_bundles(out_dir: Path) -> list[BundleInfo]:
    """Published bundles, newest data first (hidden staging folders are not listed)."""
    if not out_dir.is_dir():
        return []
    found = []
    for path in out_dir.iterdir():
        if not BUNDLE_NAME.match(path.name) or path.is_symlink() or not path.is_dir():
            continue
        try:
            manifest = read_manifest(path)
        except (OSError, ValueError):
            continue
        found.append(BundleInfo(path.name, path, manifest["data_as_of"],
                                manifest["generated_at"],
                                (*sorted(manifest["files"]), MANIFEST)))
    return sorted(found, key=lambda b: (b.data_as_of, _suffix(b.name)), reverse=True)


def _suffix(name: str) -> int:
    return int(name.rpartition("-")[2]) if "-" in name else 1


def _flush(folder: Path) -> None:
    """Every file's bytes on disk before the rename makes the folder visible."""
    for path in folder.iterdir():
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    _sync_folder(folder)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
