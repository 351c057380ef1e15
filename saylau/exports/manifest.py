"""manifest.json: the SHA-256 and size of every other file of a bundle, the data-as-of
time, the generation time and the software version. Only ``generated_at`` differs between
two exports of the same data as of the same time."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from saylau.exports.exitpoll import iso
from saylau.exports.files import json_text

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "saylau.manifest/1"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def software_version() -> str:
    try:
        return f"saylau {version('saylau')}"
    except PackageNotFoundError:
        return "saylau (not installed)"


def file_entries(folder: Path) -> dict[str, dict[str, Any]]:
    """Every file of the bundle but the manifest, by name (a bundle has no sub-folders)."""
    return {path.name: {"sha256": sha256_of(path), "bytes": path.stat().st_size}
            for path in sorted(folder.iterdir()) if path.name != MANIFEST}


def build_manifest(folder: Path, as_of: dt.datetime,
                   generated_at: dt.datetime) -> dict[str, Any]:
    return {"format": MANIFEST_FORMAT, "data_as_of": iso(as_of),
            "generated_at": iso(generated_at), "software": software_version(),
            "files": file_entries(folder)}


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    (folder / MANIFEST).write_text(json_text(manifest), encoding="utf-8")


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def verify_bundle(folder: Path) -> list[str]:
    """Problems with a bundle: a missing, extra or changed file. Empty = it verifies."""
    try:
        listed = read_manifest(folder)["files"]
    except (OSError, ValueError, KeyError) as error:
        return [f"{MANIFEST}: unreadable ({error.__class__.__name__})"]
    present = {path.name for path in folder.iterdir() if path.name != MANIFEST}
    problems = [f"{name}: missing" for name in sorted(set(listed) - present)]
    problems += [f"{name}: not in the manifest" for name in sorted(present - set(listed))]
    problems += [f"{name}: checksum differs" for name in sorted(set(listed) & present)
                 if sha256_of(folder / name) != listed[name]["sha256"]]
    return problems
