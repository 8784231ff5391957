"""Synthetic phone-like JPEGs for the benchmarks, made on the fly so none ever lands in git.

A flat or smooth image would flatter the pipeline: JPEG decode time grows with how much detail
there is to entropy-decode. Gradients give large-scale structure, Gaussian noise gives the fine
detail of a real sensor, and the noise strength sets the file size.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageChops, ImageDraw

ORIENTATION_TAG = 0x0112  # EXIF "Orientation"


def noisy_image(width: int, height: int, noise_sigma: float) -> Image.Image:
    """An RGB image: three differently oriented gradients, each half-blended with noise."""
    across = Image.linear_gradient("L").resize((width, height))
    down = Image.linear_gradient("L").rotate(90).resize((width, height))
    backwards = across.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    shared_noise = Image.effect_noise((width, height), noise_sigma)
    own_noise = Image.effect_noise((width, height), noise_sigma)
    image = Image.merge("RGB", (Image.blend(across, shared_noise, 0.5),
                                Image.blend(down, shared_noise, 0.5),
                                Image.blend(backwards, own_noise, 0.5)))
    # A few hard edges too, as a street scene has (kerbs, walls, signs).
    draw = ImageDraw.Draw(image)
    for step in range(8):
        x, y = width * step // 8, height * ((step * 3) % 8) // 8
        draw.rectangle((x, y, x + width // 10, y + height // 12), outline=(240, 240, 240), width=6)
    return image


def variant(base: Image.Image, label: str, rng: random.Random) -> Image.Image:
    """The base image shifted by a random offset and stamped with a label: different pixels and
    bytes (so content-addressed storage cannot skip the write), the same amount of detail."""
    shifted = ImageChops.offset(base, rng.randrange(1, base.width), rng.randrange(1, base.height))
    ImageDraw.Draw(shifted).text((40, 40), label, fill=(255, 255, 0), font_size=80)
    return shifted


def jpeg_bytes(image: Image.Image, quality: int, orientation: int | None = None) -> bytes:
    out = io.BytesIO()
    options: dict = {"quality": quality}
    if orientation is not None:
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = orientation
        options["exif"] = exif
    image.save(out, "JPEG", **options)
    return out.getvalue()
