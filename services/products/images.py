"""Product pictures: decoded with Pillow to prove they are pictures (whatever their name or
Content-Type claim), re-encoded without their metadata, thumbnailed, and written under MEDIA_DIR,
which the gateway serves at /media/."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from services.kit import Unprocessable

log = logging.getLogger("feira.products.images")

MEDIA_URL = "/media/"  # where the gateway serves MEDIA_DIR
MAX_PIXELS = 40_000_000  # a 2 kB PNG can claim 100 megapixels: refused before it is decoded
THUMBNAIL_SIZE = 320  # the longest side, in pixels
# Pillow format -> file extension and encoder options.
FORMATS = {
    "JPEG": ("jpg", {"quality": 85, "optimize": True}),
    "PNG": ("png", {"optimize": True}),
    "WEBP": ("webp", {"quality": 85}),
}
# What a picture that does not decode raises, from the first header byte to the last pixel.
UNREADABLE = (
    UnidentifiedImageError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
)


@dataclass
class Encoded:
    extension: str
    picture: bytes
    thumbnail: bytes
    width: int
    height: int


def media_url(path: str) -> str:
    return MEDIA_URL + path


def digest(stream) -> str:
    """The sha256 of the upload as it was sent (what makes a resent picture known: its stored
    files are re-encoded, and a new Pillow could write them otherwise); the stream is left at
    its start for `encode`."""
    sha256 = hashlib.sha256()
    for chunk in iter(lambda: stream.read(64 * 1024), b""):
        sha256.update(chunk)
    stream.seek(0)
    return sha256.hexdigest()


def encode(stream) -> Encoded:
    """Decode the upload completely, then write it anew: nothing of the original bytes but the
    pixels survives (no EXIF, no GPS position, no trailing payload)."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; we refuse.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(stream, formats=list(FORMATS)) as probe:
                _check_size(probe)
                probe.verify()
            stream.seek(0)
            with Image.open(stream, formats=list(FORMATS)) as original:
                original.load()
                # A phone's JPEG with more pictures in it (MPO: a depth or HDR gain map) is a
                # JPEG: its first frame is the photo, and only that is written.
                picture_format = "JPEG" if original.format == "MPO" else original.format
                picture = ImageOps.exif_transpose(original)
    except UNREADABLE as exc:
        raise Unprocessable({"file": ["Not a JPEG, PNG or WebP picture."]}) from exc
    if picture_format not in FORMATS:
        raise Unprocessable({"file": ["Not a JPEG, PNG or WebP picture."]})
    extension, options = FORMATS[picture_format]
    picture = _encodable(picture, picture_format)
    # Whatever metadata the decoder kept (EXIF, XMP, ICC, comments) is not written back.
    picture.info = {k: v for k, v in picture.info.items() if k == "transparency"}
    thumbnail = picture.copy()
    thumbnail.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    return Encoded(
        extension,
        _save(picture, picture_format, options),
        _save(thumbnail, picture_format, options),
        picture.width,
        picture.height,
    )


def _check_size(probe: Image.Image) -> None:
    if probe.width * probe.height > MAX_PIXELS:
        raise Unprocessable({"file": [f"At most {MAX_PIXELS} pixels."]})


def _encodable(picture: Image.Image, picture_format: str) -> Image.Image:
    if picture_format == "JPEG" and picture.mode not in ("RGB", "L"):
        return picture.convert("RGB")
    if picture_format == "WEBP" and picture.mode not in ("RGB", "RGBA"):
        transparent = "A" in picture.getbands() or "transparency" in picture.info
        return picture.convert("RGBA" if transparent else "RGB")
    return picture


def _save(picture: Image.Image, picture_format: str, options: dict) -> bytes:
    out = io.BytesIO()
    picture.save(out, picture_format, **options)
    return out.getvalue()


def store(product_id: int, encoded: Encoded) -> tuple[str, str]:
    """Write both files under MEDIA_DIR; answers their paths relative to it. A random name
    makes every URL immutable, so nginx can let browsers keep it for a year."""
    name = secrets.token_hex(8)
    path = f"products/{product_id}/{name}.{encoded.extension}"
    thumbnail_path = f"products/{product_id}/{name}-thumb.{encoded.extension}"
    write_files(path, thumbnail_path, encoded)
    return path, thumbnail_path


def present(*relatives: str) -> bool:
    return all((media_dir() / relative).is_file() for relative in relatives)


def write_files(path: str, thumbnail_path: str, encoded: Encoded) -> None:
    """The picture and its thumbnail at these paths (a new picture's, or those of a stored one
    whose files are gone, written again from the same bytes)."""
    _write(path, encoded.picture)
    _write(thumbnail_path, encoded.thumbnail)


def _write(relative: str, content: bytes) -> None:
    """The whole file or none at its name, and on disk before its row is committed: the part is
    synced before it is renamed, and the folder after (the rename itself survives a crash). The
    part's name is the writer's own, so two writing one file at once never share a half-file."""
    target = media_dir() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{secrets.token_hex(4)}.part")
    try:
        with open(partial, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def remove(*relatives: str) -> None:
    """Delete files after the rows that named them are gone; a leftover file is only disk."""
    for relative in relatives:
        try:
            (media_dir() / relative).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s: %s", relative, type(exc).__name__)


def media_dir() -> Path:
    return Path(current_app.config["MEDIA_DIR"])
