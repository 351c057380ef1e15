"""Writing files so that a reader never sees half of one, and a failure changes nothing."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged(paths: Sequence[str | Path], modes: Sequence[int | None] | None = None
           ) -> Iterator[list[Path]]:
    """Yield temporary paths beside `paths`; after the block, each replaces its target.

    Temporary files live in the target's folder because os.replace is only atomic within
    one file system. If the block raises, they are removed and no target is touched.
    The replacements happen one after the other only once every file was written, so a
    group of files is never left with a half-written member. `modes` (e.g. 0o600 for
    personal data) are set when a temporary file is created, before anything is in it.
    """
    targets = [Path(path) for path in paths]
    temporaries: list[Path] = []
    try:
        for target, mode in zip(targets, modes or [None] * len(targets), strict=True):
            temporaries.append(_new_file(target, mode))
        yield temporaries
        for temporary, target in zip(temporaries, targets, strict=True):
            os.replace(temporary, target)
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


def _new_file(target: Path, mode: int | None) -> Path:
    """An empty file beside `target`: with `mode` from the start, else the umask's default
    (tempfile.mkstemp would make every file owner-only, public ones included)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    os.close(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o666 if mode is None else mode))
    if mode is not None:
        os.chmod(temporary, mode)  # the umask may have taken bits away; `mode` is exact
    return temporary


def write_atomically(path: str | Path, write: Callable[[Path], object],
                     mode: int | None = None) -> None:
    """Call `write(temporary_path)`, then move the result onto `path` in one step."""
    with staged([path], [mode]) as (temporary,):
        write(temporary)
