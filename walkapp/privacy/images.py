"""From a photo's display image to what everyone but staff sees: detect, then blur, then the
blurred display and thumbnail JPEGs (made like photos.py makes the unblurred ones)."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .. import photos
from . import detect


def decode(jpeg: bytes) -> tuple[np.ndarray, bytes | None]:
    with Image.open(io.BytesIO(jpeg), formats=["JPEG"]) as image:
        icc = image.info.get("icc_profile")
        return np.asarray(image.convert("RGB")), icc


def find_boxes(rgb: np.ndarray, original: bytes | None = None) -> list[dict]:
    """The automatic boxes of an image, as stored in Photo.privacy_boxes (fractions of the image).
    With the `original`, detection runs on its upright display-size decode, before any JPEG
    compression of ours; else on `rgb` (the display image)."""
    source = rgb
    if original is not None:
        try:
            source = np.asarray(photos.upright_display(original))
        except Exception:
            source = rgb
    return [box.as_json() for box in detect.detect(source)]


def active(boxes: list[dict]) -> list[dict]:
    """The boxes that blur: every box but those a staff member removed."""
    return [box for box in boxes if not box.get("removed")]


def render(rgb: np.ndarray, icc: bytes | None, boxes: list[dict]) -> tuple[bytes, bytes]:
    """The blurred display JPEG and its thumbnail."""
    blurred = Image.fromarray(detect.blur(rgb, active(boxes)))
    return photos.encode_jpeg(blurred, icc), photos.encode_jpeg(photos.thumbnail(blurred), icc)
