"""Photos and videos from observers, stored once each, named by the SHA-256 of what is stored.

An image's metadata (EXIF with GPS position, camera and phone model, XMP, ICC comments)
can identify the observer who took it, so images are decoded and re-encoded with Pillow
(the well-kept Python imaging library) carrying only their pixels; the picture is first
turned upright by its EXIF orientation, which is then dropped with the rest. Re-encoding
is deterministic, so the same photo uploaded twice (a phone re-sending after a timeout)
gives the same bytes, the same hash, one file.

Videos are stored as sent (stripping a container's metadata needs a media toolkit the
gateway does not carry); their type is checked by their first bytes.

Events refer to a stored file by ``{"sha256": …, "mime": …}`` (the contract's ``Media``).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's format name for each image type we accept, and how it is saved again.
IMAGE_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
SAVE_OPTIONS: dict[str, dict[str, object]] = {
    "JPEG": {"quality": 88, "optimize": True},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 85},
}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp",
              "video/mp4": "mp4", "video/webm": "webm", "video/3gpp": "3gp"}
MAX_PIXELS = 60_000_000  # a decompression bomb is refused before it is decoded


class MediaRefused(ValueError):
    """An upload that is not stored; ``reason`` is machine-readable, the text is for people."""

    def __init__(self, reason: str, detail: str, status: int = 422) -> None:
        super().__init__(detail)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Stored:
    sha256: str
    mime: str
    size: int
    created: bool  # False: the same file was already stored

    def as_dict(self) -> dict[str, object]:
        return {"sha256": self.sha256, "mime": self.mime, "bytes": self.size,
                "created": self.created}


def allowed_types(setting: str) -> frozenset[str]:
    return frozenset(part.strip().lower() for part in setting.split(",") if part.strip())


def strip_image(data: bytes, mime: str) -> bytes:
    """The image's pixels alone, re-encoded in its own format (no EXIF, GPS, XMP, ICC)."""
    expected = IMAGE_FORMATS[mime]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            if image.format != expected:
                raise MediaRefused("type_mismatch", f"the upload is not a {mime} image")
            if image.width * image.height > MAX_PIXELS:
                raise MediaRefused("image_too_large", "the image has too many pixels")
            image = ImageOps.exif_transpose(image)  # upright, then the orientation tag goes
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        if isinstance(error, MediaRefused):
            raise
        raise MediaRefused("unreadable_image", f"the upload is not a readable {mime} image"
                           ) from error
    if expected == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    # A fresh image holds pixels only: nothing of the original's info/exif dicts comes along.
    clean = Image.frombytes(image.mode, image.size, image.tobytes())
    palette = image.getpalette() if image.mode == "P" else None
    if palette:
        clean.putpalette(palette)
    out = io.BytesIO()
    clean.save(out, format=expected, **SAVE_OPTIONS[expected])
    return out.getvalue()


def check_video(data: bytes, mime: str) -> None:
    """The first bytes say what a video container is (ISO BMFF for mp4/3gpp, EBML for webm)."""
    if mime in ("video/mp4", "video/3gpp"):
        ok = len(data) > 12 and data[4:8] == b"ftyp"
    else:
        ok = data[:4] == b"\x1a\x45\xdf\xa3"
    if not ok:
        raise MediaRefused("type_mismatch", f"the upload is not a {mime} video")


class MediaStore:
    """Files under ``root/<first two hex digits>/<sha256>.<ext>``, written once, atomically."""

    def __init__(self, root: Path, types: frozenset[str], max_bytes: int) -> None:
        self.root = root
        self.types = types
        self.max_bytes = max_bytes

    def put(self, data: bytes, content_type: str | None) -> Stored:
        mime = (content_type or "").split(";")[0].strip().lower()
        if mime not in self.types or mime not in EXTENSIONS:
            raise MediaRefused("unsupported_media_type", "send a photo or video of an "
                               f"accepted type: {', '.join(sorted(self.types))}", 415)
        if not data:
            raise MediaRefused("empty_upload", "the upload is empty")
        if len(data) > self.max_bytes:
            raise MediaRefused("body_too_large", f"the upload is larger than "
                               f"{self.max_bytes} bytes", 413)
        if mime in IMAGE_FORMATS:
            data = strip_image(data, mime)
        else:
            check_video(data, mime)
        sha = hashlib.sha256(data).hexdigest()
        path = self.path_of(sha, mime)
        if path.exists():
            return Stored(sha, mime, len(data), created=False)
        _write_atomically(path, data)
        return Stored(sha, mime, len(data), created=True)

    def path_of(self, sha256: str, mime: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{EXTENSIONS[mime]}"

    def find(self, sha256: str) -> Path | None:
        """The stored file of a hash, whatever its type; None if there is none."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            return None
        folder = self.root / sha256[:2]
        for extension in dict.fromkeys(EXTENSIONS.values()):
            path = folder / f"{sha256}.{extension}"
            if path.is_file():
                return path
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
