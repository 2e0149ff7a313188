"""Makes the files the image suite uploads: real pictures drawn with Pillow, and impostors."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw
from robot.api.deco import keyword, library

# Pillow's format name for each kind of picture the suites upload, and its media type.
FORMATS = {"PNG": ("PNG", "image/png"), "JPEG": ("JPEG", "image/jpeg")}


@library(scope="GLOBAL", auto_keywords=False)
class Pictures:
    """Every keyword returns what RequestsLibrary takes as ``files=``: the multipart field ``file``
    holding ``(name, bytes, content type)``."""

    @keyword
    def a_picture_upload(self, kind: str = "PNG", width: int = 640, height: int = 480) -> dict:
        """A picture of ``kind`` (PNG or JPEG), drawn afresh in random colours: no two alike."""
        pillow_format, media_type = FORMATS[kind.upper()]
        picture = Image.new("RGB", (int(width), int(height)), _colour())
        ImageDraw.Draw(picture).ellipse(
            (width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=_colour()
        )
        buffer = io.BytesIO()
        picture.save(buffer, pillow_format)
        extension = "jpg" if pillow_format == "JPEG" else "png"
        return {"file": (f"foto.{extension}", buffer.getvalue(), media_type)}

    @keyword
    def a_text_upload(self, name: str) -> dict:
        """Plain text under a picture's name and media type: only its content tells the truth."""
        text = b"Isto nao e uma foto, apenas texto com nome de foto.\n" * 20
        return {"file": (name, text, "image/jpeg")}

    @keyword
    def an_upload_of_bytes(self, size: int, name: str = "grande.jpg") -> dict:
        """``size`` bytes under a picture's name: what a body limit must stop before reading it."""
        return {"file": (name, bytes(int(size)), "image/jpeg")}


def _colour() -> tuple[int, int, int]:
    return (random.randrange(256), random.randrange(256), random.randrange(256))  # noqa: S311
