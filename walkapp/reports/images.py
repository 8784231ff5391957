"""The print-sized image of a photo, for the staff report and its PDF. (What the public gets —
the restitution's photos — is privacy.services.reader_image/shared_image_path: blurred, or the
placeholder until it is; the one rule for every reader who is not staff.)

`print_image` makes the report's print-sized JPEG (the staff report's pages and PDF): the display
image (1600 px, ~300 KB) times 100 constats would exceed the PDF budget (PRODUCT.md: <= 10 MB), so
the report uses PRINT_SIZE px, which prints at ~250 dpi in the report's 8 cm column. Derived once,
kept under the media folder (`cache/print/`, content-addressed by the display file's name: a new
display image is a new file), so the second PDF decodes nothing.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from ..storage import MediaStore, temporary_name

PRINT_SIZE = 800
PRINT_QUALITY = 72
PRINT_FOLDER = "cache/print"


def _field(photo: Any, name: str) -> Any:
    return photo[name] if isinstance(photo, dict) else getattr(photo, name)


def print_image(store: MediaStore, photo: Any) -> Path:
    """The print-sized JPEG of `photo`, made from its display image on first use (blocking: call
    it in a thread). Raises FileNotFoundError when the display image is missing."""
    display = store.path(_field(photo, "display_path"))
    target = store.path(f"{PRINT_FOLDER}/{Path(display).name[:2]}/{Path(display).name}")
    if not display.is_file():
        # Erased or lost: its print copy must not outlive it.
        target.unlink(missing_ok=True)
        raise FileNotFoundError(display)
    if target.is_file():
        return target
    with Image.open(display) as image:
        image.draft("RGB", (PRINT_SIZE, PRINT_SIZE))  # JPEG: decode at a reduced scale, much faster
        image = image.convert("RGB")
        image.thumbnail((PRINT_SIZE, PRINT_SIZE), Image.Resampling.BICUBIC)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=PRINT_QUALITY, optimize=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / temporary_name(target.name)
    tmp.write_bytes(out.getvalue())
    tmp.replace(target)
    return target
