"""The photo pipeline, in one place: check, read metadata, make upright display and thumbnail
images without metadata, and store everything content-addressed.

Why it is fast: a JPEG is decoded at reduced scale (`draft`) to just above the display size
instead of decoded whole and resized, and the thumbnail is made from the display image. Why it is
safe: formats are recognised by content with only our decoders enabled, a size and pixel limit
come before any decode, decompression bombs are errors, and a file must decode fully to pass.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, ImageOps

try:  # HEIC from iPhones; pillow-heif applies the orientation itself on open.
    import pillow_heif

    pillow_heif.register_heif_opener()
    _HEIF = ("HEIF",)
except ImportError:  # pragma: no cover - pillow-heif is a declared dependency
    _HEIF = ()

from . import clock
from .errors import AppError
from .storage import MediaStore

MAX_BYTES = 25 * 1024 * 1024  # a 200 Mpx phone JPEG is ~20 MB; anything larger is not a phone photo
MAX_PIXELS = 64_000_000  # decoded RGB at this size is ~190 MB: the ceiling we accept per photo
DISPLAY_SIZE = 1600
THUMB_SIZE = 320
JPEG_QUALITY = 82
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", *_HEIF)
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}

Image.MAX_IMAGE_PIXELS = MAX_PIXELS

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class PhotoError(AppError):
    """A file refused, with a French sentence for the person who sent it (415 unless said)."""

    def __init__(self, message: str, code: str = "invalid_photo", status: int = 415):
        super().__init__(message, status=status, code=code)

    @property
    def message(self) -> str:
        return self.detail


@dataclass(frozen=True)
class ProcessedPhoto:
    sha256: str
    format: str
    content_type: str
    extension: str
    width: int  # upright
    height: int
    bytes: int
    display_jpeg: bytes
    thumb_jpeg: bytes
    taken_at: dt.datetime | None
    gps: tuple[float, float] | None


@dataclass(frozen=True)
class StoredPhoto:
    processed: ProcessedPhoto
    original_path: str
    display_path: str
    thumb_path: str


def process(data: bytes, filename: str = "") -> ProcessedPhoto:
    """Checks a photo and makes its display and thumbnail images. Raises PhotoError."""
    name = f" « {filename} »" if filename else ""
    if not data:
        raise PhotoError(f"Le fichier{name} est vide.", "empty_file", 422)
    if len(data) > MAX_BYTES:
        raise PhotoError(f"La photo{name} dépasse {MAX_BYTES // (1024 * 1024)} Mo.", "too_large", 413)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(name) from None
        except Exception:
            raise PhotoError(f"Le fichier{name} n'est pas une photo lisible (JPEG, PNG, WebP ou HEIC).") from None
        with image:
            if image.width * image.height > MAX_PIXELS:
                raise _too_many_pixels(name)
            fmt = image.format or ""
            stored_w, stored_h = image.size  # before draft() shrinks it
            orientation, taken_at, gps = read_metadata(image)
            icc = image.info.get("icc_profile")
            try:
                display = _upright_display(image, orientation)
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise _too_many_pixels(name) from None
            except Exception:
                raise PhotoError(f"La photo{name} est abîmée ou incomplète : "
                                 "elle ne peut pas être lue en entier.") from None
    if display.mode != "RGB":
        icc = None  # an ICC profile describes the original colour space, not RGB
    thumb = _thumbnail(display)
    upright_w, upright_h = (stored_h, stored_w) if orientation in (5, 6, 7, 8) else (stored_w, stored_h)
    return ProcessedPhoto(
        sha256=hashlib.sha256(data).hexdigest(),
        format=fmt,
        content_type=CONTENT_TYPES[fmt],
        extension=EXTENSIONS[fmt],
        width=upright_w,
        height=upright_h,
        bytes=len(data),
        display_jpeg=_jpeg(display, icc),
        thumb_jpeg=_jpeg(thumb, icc),
        taken_at=taken_at,
        gps=gps,
    )


# The folders of a photo's files under the media folder (media_check scans these). The blurred
# display and thumbnail (walkapp.privacy) are named by their own bytes' SHA-256: a photo's
# redaction can change, and two constats of the same photo may be redacted differently.
ORIGINALS, DISPLAY, THUMBS = "originals", "display", "thumbs"
BLURRED, BLURRED_THUMBS = "blurred", "blurred-thumbs"
PHOTO_FOLDERS = (ORIGINALS, DISPLAY, THUMBS, BLURRED, BLURRED_THUMBS)


def stored_paths(processed: ProcessedPhoto) -> StoredPhoto:
    """Where a processed photo's three files go (content-addressed: known before writing)."""
    sha = processed.sha256
    return StoredPhoto(
        processed,
        original_path=MediaStore.content_path(ORIGINALS, sha, processed.extension),
        display_path=MediaStore.content_path(DISPLAY, sha, "jpg"),
        thumb_path=MediaStore.content_path(THUMBS, sha, "jpg"),
    )


def store(store: MediaStore, data: bytes, processed: ProcessedPhoto) -> StoredPhoto:
    """Writes the original byte-for-byte and both derived images (each only if absent)."""
    stored = stored_paths(processed)
    store.write(stored.original_path, data)
    store.write(stored.display_path, processed.display_jpeg)
    store.write(stored.thumb_path, processed.thumb_jpeg)
    return stored


def upright_display(data: bytes) -> Image.Image:
    """The display-size upright image of an original, not yet JPEG-encoded (walkapp.privacy looks
    for faces and plates in it: the display JPEG's compression hid a plate in 34 from the
    detectors)."""
    with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
        orientation, _, _ = read_metadata(image)
        display = _upright_display(image, orientation)
    return display if display.mode == "RGB" else _to_rgb(display)


def thumbnail(display: Image.Image) -> Image.Image:
    """The thumbnail of a display image (walkapp.privacy makes the blurred one the same way)."""
    return _thumbnail(display)


def encode_jpeg(image: Image.Image, icc: bytes | None) -> bytes:
    """A derived image as JPEG, without metadata (walkapp.privacy encodes the blurred ones so)."""
    return _jpeg(image, icc)


def _too_many_pixels(name: str) -> PhotoError:
    return PhotoError(f"La photo{name} a trop de pixels (plus de {MAX_PIXELS // 1_000_000} millions).",
                      "too_many_pixels", 413)


def _upright_display(image: Image.Image, orientation: int) -> Image.Image:
    """Decodes at the smallest JPEG scale that still covers the display size, resizes, rotates."""
    scale = min(1.0, DISPLAY_SIZE / max(image.size))
    target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if image.format == "JPEG":
        image.draft("RGB", target)  # both sides stay >= target: asks for the aspect-true size
    image.load()  # decodes everything that's there: a truncated file fails here
    if image.mode not in ("RGB", "L"):
        image = _to_rgb(image)
    if image.size != target:
        # BOX (area averaging), not LANCZOS: after the reduced decode this is at most a 2x
        # shrink, where averaging is a proper anti-aliasing filter. LANCZOS cost 28 ms of 71 on an
        # 8 Mpx photo; BOX is the cheapest of Pillow's filters (14 ms vs 20 bilinear, 12 Mpx).
        image = image.resize(target, Image.Resampling.BOX)
    method = _TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image  # FLIP_LEFT_RIGHT is 0


def _thumbnail(display: Image.Image) -> Image.Image:
    """320 px from the display image: an integer box reduce() does most of the shrink (1 ms
    instead of 5 for a full bicubic pass), bicubic the small rest."""
    scale = min(1.0, THUMB_SIZE / max(display.size))
    size = (max(1, round(display.width * scale)), max(1, round(display.height * scale)))
    return display.resize(size, Image.Resampling.BICUBIC, reducing_gap=1.0) if size != display.size else display


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return ImageOps.autocontrast(image.convert("I").point(lambda v: v / 256).convert("L")).convert("RGB")
    return image.convert("RGB")


def _jpeg(image: Image.Image, icc: bytes | None) -> bytes:
    """JPEG without EXIF, XMP or comment; the ICC profile kept so colours stay right."""
    image.info.pop("comment", None)  # Pillow would copy a COM segment from the source
    out = io.BytesIO()
    options = {"quality": JPEG_QUALITY, "optimize": False, "progressive": False}
    if icc:
        options["icc_profile"] = icc
    image.save(out, "JPEG", **options)
    return out.getvalue()


def read_metadata(image: Image.Image) -> tuple[int, dt.datetime | None, tuple[float, float] | None]:
    """Orientation (1 when unknown), the time taken and the GPS position. Never raises: camera
    EXIF blocks are often broken, and a broken block just means "unknown"."""
    try:
        exif = image.getexif()
    except Exception:
        return 1, None, None
    orientation = _safe(lambda: int(exif.get(ExifTags.Base.Orientation, 1)), 1)
    if orientation not in range(1, 9) or image.format == "HEIF":
        orientation = 1  # HEIF: already applied on open
    return orientation, _safe(lambda: _taken_at(exif), None), _safe(lambda: _gps(exif), None)


def _safe(read, default):
    try:
        return read()
    except Exception:
        return default


def _taken_at(exif: Image.Exif) -> dt.datetime | None:
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    raw = ifd.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
    if not isinstance(raw, str):
        return None
    taken = dt.datetime.strptime(raw.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")
    offset = ifd.get(ExifTags.Base.OffsetTimeOriginal)
    if isinstance(offset, str) and len(offset.strip()) == 6:
        sign = -1 if offset.strip()[0] == "-" else 1
        hours, minutes = int(offset.strip()[1:3]), int(offset.strip()[4:6])
        return taken.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes)))
    return clock.assume_local(taken)  # camera clocks have no zone: they show the site's time


def _gps(exif: Image.Exif) -> tuple[float, float] | None:
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    if not gps:
        return None
    lat = _degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef), "S")
    lon = _degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef), "W")
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    if lat == 0 and lon == 0:
        return None  # an empty fix written as zeros, not a photo taken off the coast of Africa
    return round(lat, 7), round(lon, 7)


def _degrees(value, ref, negative_ref: str) -> float | None:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return None
    degrees, minutes, seconds = (float(part) for part in value)
    if any(part != part for part in (degrees, minutes, seconds)):  # NaN from a 0/0 rational
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if isinstance(ref, str) and ref.strip().upper().startswith(negative_ref):
        result = -result
    return result
