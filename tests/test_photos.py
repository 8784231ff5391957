"""The photo pipeline on the real files of shared/photos: ok/ accepted upright with GPS, bad/
refused in French with nothing left behind, odd-exif/ never a crash."""

import io
from pathlib import Path

import pytest
from PIL import Image

from conftest import PHOTOS

from walkapp import photos
from walkapp.storage import MediaStore

OK = sorted((PHOTOS / "ok").iterdir())
BAD = sorted((PHOTOS / "bad").iterdir())
ODD = sorted((PHOTOS / "odd-exif").iterdir())

UPRIGHT = {**{f"landscape_{i}.jpg": (600, 450) for i in range(1, 9)}, "portrait_6.jpg": (450, 600),
           "jolla.jpg": (3264, 2448), "IMG_5195.HEIC": (2566, 3313)}
GPS = {"DSCN0010.jpg": (43.4675, 11.8851), "DSCN0021.jpg": (43.4675, 11.8851), "IMG_5195.HEIC": (39.05, -94.29)}


def files_in(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("path", OK, ids=lambda p: p.name)
def test_ok_photos_are_accepted_upright(path, tmp_path):
    data = path.read_bytes()
    result = photos.process(data, path.name)
    if path.name in UPRIGHT:
        assert (result.width, result.height) == UPRIGHT[path.name]
    display = Image.open(io.BytesIO(result.display_jpeg))
    thumb = Image.open(io.BytesIO(result.thumb_jpeg))
    assert display.format == thumb.format == "JPEG"
    assert max(display.size) == min(1600, max(result.width, result.height))
    assert max(thumb.size) == min(320, max(result.width, result.height))
    # Upright: the derived images have the orientation of the upright original.
    assert (display.width >= display.height) == (result.width >= result.height)
    # Metadata removed: no EXIF (so no GPS, no orientation), no XMP, no comment.
    for image in (display, thumb):
        assert not image.getexif() and "xmp" not in image.info and "comment" not in image.info
    if path.name in GPS:
        lat, lon = GPS[path.name]
        assert result.gps and abs(result.gps[0] - lat) < 0.01 and abs(result.gps[1] - lon) < 0.01
    elif path.name != "Canon_40D.jpg":
        assert result.gps is None
    stored = photos.store(MediaStore(tmp_path), data, result)
    assert (tmp_path / stored.original_path).read_bytes() == data  # the original, byte for byte


def test_pixels_are_really_upright():
    """Our fast path gives the same picture as Pillow's reference exif_transpose, for all eight
    orientations (a wrong flip differs by ~35 grey levels on average; re-encoding by < 1)."""
    from PIL import ImageOps

    for path in [PHOTOS / "ok" / f"landscape_{i}.jpg" for i in range(1, 9)] + [PHOTOS / "ok" / "portrait_6.jpg"]:
        data = path.read_bytes()
        ours = Image.open(io.BytesIO(photos.process(data).thumb_jpeg)).convert("L").resize((32, 24))
        reference = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("L").resize((32, 24))
        difference = sum(abs(a - b) for a, b in zip(ours.tobytes(), reference.tobytes(), strict=False)) / (32 * 24)
        assert difference < 3, (path.name, difference)


def test_colour_profile_is_kept(tmp_path):
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 30, 30)).save(out, "JPEG", icc_profile=srgb, comment=b"secret comment")
    result = photos.process(out.getvalue())
    display = Image.open(io.BytesIO(result.display_jpeg))
    assert display.info.get("icc_profile") == srgb and "comment" not in display.info


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_files_are_refused_in_french_and_leave_nothing(path, tmp_path):
    with pytest.raises(photos.PhotoError) as refused:
        photos.process(path.read_bytes(), path.name)
    assert path.name in refused.value.message and refused.value.status in (413, 415, 422)
    assert files_in(tmp_path) == set()


def test_a_truncated_photo_is_still_refused_after_a_pdf_was_made():
    """WeasyPrint's import turns on Pillow's process-wide LOAD_TRUNCATED_IMAGES; walkapp.pdf puts
    it back, or every upload after the first PDF would accept a truncated JPEG as half grey."""
    from walkapp.pdf import html_to_pdf

    assert html_to_pdf("<p>Compte rendu</p>", "http://127.0.0.1/").startswith(b"%PDF")
    truncated = PHOTOS / "bad" / "truncated.jpg"
    with pytest.raises(photos.PhotoError):
        photos.process(truncated.read_bytes(), truncated.name)


@pytest.mark.parametrize("path", ODD, ids=lambda p: p.name)
def test_odd_exif_never_crashes(path):
    try:
        result = photos.process(path.read_bytes(), path.name)
    except photos.PhotoError as refused:
        assert refused.message
    else:
        assert result.width > 0 and Image.open(io.BytesIO(result.display_jpeg)).size


def test_the_same_photo_twice_is_stored_once(tmp_path):
    store = MediaStore(tmp_path)
    data = (PHOTOS / "ok" / "DSCN0010.jpg").read_bytes()
    first = photos.store(store, data, photos.process(data))
    # Same inodes: nothing rewritten (the time is refreshed on purpose, see storage._still_there).
    before = {p: p.stat().st_ino for p in files_in(tmp_path)}
    second = photos.store(store, data, photos.process(data))
    assert first == second and {p: p.stat().st_ino for p in files_in(tmp_path)} == before
    assert len(before) == 3 and not any(p.name.endswith(".tmp") for p in before)


def test_size_and_pixel_limits(monkeypatch):
    assert photos.MAX_BYTES == 25 * 1024 * 1024
    with pytest.raises(photos.PhotoError) as too_big:
        photos.process(b"\xff\xd8" + b"0" * photos.MAX_BYTES)
    assert too_big.value.status == 413 and "25 Mo" in too_big.value.message
    monkeypatch.setattr(photos, "MAX_PIXELS", 100_000)
    with pytest.raises(photos.PhotoError) as too_many:
        photos.process((PHOTOS / "ok" / "jolla.jpg").read_bytes())
    assert too_many.value.code == "too_many_pixels"


def test_png_with_transparency_and_webp():
    for mode, fmt in (("RGBA", "PNG"), ("P", "PNG"), ("RGB", "WEBP"), ("LA", "PNG")):
        out = io.BytesIO()
        Image.new(mode, (500, 400)).save(out, fmt)
        result = photos.process(out.getvalue())
        assert result.format == fmt and (result.width, result.height) == (500, 400)
        assert Image.open(io.BytesIO(result.display_jpeg)).mode in ("RGB", "L")


def test_media_paths_cannot_escape(tmp_path):
    store = MediaStore(tmp_path / "media")
    with pytest.raises(ValueError):
        store.path("../outside.txt")
