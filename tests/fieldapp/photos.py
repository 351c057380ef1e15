"""Test pictures: a JPEG carrying what a phone's camera writes (GPS position, phone model)."""

from __future__ import annotations

import io

from PIL import ExifTags, Image

PHONE_MODEL = "Pixel 3a test-device"


def jpeg_with_gps(seed: int = 0, size: tuple[int, int] = (64, 48)) -> bytes:
    image = Image.new("RGB", size, (200, 30 + seed % 200, 40))
    for x in range(size[0]):  # a gradient, so the JPEG is not trivially small
        image.putpixel((x, x % size[1]), (x * 3 % 256, 255, seed % 256))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestPhone"
    exif[ExifTags.Base.Model] = PHONE_MODEL
    exif[ExifTags.Base.Orientation] = 1
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (43.0, 15.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (76.0, 54.0, 10.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=95)
    return out.getvalue()


def has_metadata(data: bytes) -> bool:
    """Whether a stored image still carries EXIF (any tag, GPS included) or the model text."""
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    return bool(len(exif) or exif.get_ifd(ExifTags.IFD.GPSInfo) or "exif" in image.info
                or PHONE_MODEL.encode() in data)
