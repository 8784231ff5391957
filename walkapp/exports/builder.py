"""From a filter to a zip: gather the constats and photos, decide which files exist, then build
a sized ZipStream (stored, not compressed: JPEGs don't shrink) that streams from disk.

Why in this order: a sized stream promises its exact length before the first byte, so every file
must be known and present when it is computed. Files are checked (os.stat) first; a missing one is
left out and named in the manifest instead of making a corrupt zip or an error page. Nothing here
reads a photo into memory: zipstream reads each file in 64 KB pieces while the zip is sent.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import AsyncIterator, Iterator

from anyio import to_thread
from zipstream import ZIP_STORED, ZipStream

from ..errors import AppError
from .. import clock, gusp
from ..observations.features import constat_select
from ..observations.filters import ObservationFilter, apply
from ..revisits.services import latest_outcomes
from ..privacy import services as privacy
from ..storage import MediaStore
from ..tables import Neighbourhood, Observation, Photo, Walk
from ..urls import url
from . import manifest
from .names import archive_name, photo_member

CHUNK_BYTES = 1 << 20  # what one hop to the worker thread hands to the server: few hops, little memory
_ID_BATCH = 500  # ids per IN (...) query: well under SQLite's and asyncpg's parameter limits


def zip_url(filter: ObservationFilter, originals: bool = False) -> str:
    """The zip's URL for the same filters as a view (the map and the walk page link to it)."""
    params = filter.params()
    if originals:
        params["originals"] = "1"
    return url("photos.zip", query=params)


@dataclass
class PhotoEntry:
    photo_id: int
    observation_id: int
    number: int  # 1, 2… within its constat
    member: str  # the name inside the zip
    relative_path: str  # under the media folder; "" for the placeholder of a photo not blurred yet
    path: Path | None = None  # absolute, once checked
    size: int = 0
    missing: bool = False


@dataclass
class ConstatRow:
    data: dict[str, Any]  # the observation's columns, plus walk_title, walk_date, author, stop_name…
    photos: list[PhotoEntry] = field(default_factory=list)


@dataclass
class ExportPlan:
    filter: ObservationFilter
    originals: bool
    rows: list[ConstatRow]
    filter_lines: list[str]  # the filters used, in French, for LISEZMOI.txt
    walk_title: str | None
    exported_at: dt.datetime
    file_day: dt.date
    base_url: str | None = None
    latest_outcomes: dict[int, str] = field(default_factory=dict)  # constat id -> its latest re-visit's outcome

    @property
    def photos(self) -> list[PhotoEntry]:
        return [p for row in self.rows for p in row.photos]

    @property
    def missing(self) -> list[PhotoEntry]:
        return [p for p in self.photos if p.missing]

    @property
    def archive_name(self) -> str:
        return archive_name(self.walk_title, self.file_day)


class ExportError(AppError):
    """A request that can't give a zip (unknown walk…): a French sentence and a status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message, status=status)

    @property
    def message(self) -> str:
        return self.detail


async def collect(filter: ObservationFilter, originals: bool, now: dt.datetime | None = None,
                  base_url: str | None = None) -> ExportPlan:
    """Reads the constats the filter selects (in constat number order) and their photo rows.
    `base_url`: the site's address, for each constat's link in constats.geojson (none from the
    command line)."""
    now = now or clock.now()
    walk = None
    if filter.walk is not None:
        walk = await Walk.objects().where(Walk.id == filter.walk).first()
        if walk is None:
            raise ExportError("Cette marche n'existe pas.", 404)
    observations = await apply(constat_select(), filter.where()).order_by(Observation.id)
    rows = [ConstatRow(o) for o in observations]
    by_id = {row.data["id"]: row for row in rows}
    ids = list(by_id)
    for start in range(0, len(ids), _ID_BATCH):
        photos = await Photo.select(Photo.id, Photo.observation, Photo.position, Photo.original_path,
                                    Photo.privacy_state, Photo.blurred_display_path, Photo.blurred_thumb_path).where(
            Photo.observation.is_in(ids[start:start + _ID_BATCH])).order_by(
            Photo.observation, Photo.position, Photo.id)
        for photo in photos:
            photo["relative"] = _zip_file(photo, originals)
            row = by_id[photo["observation"]]
            number = len(row.photos) + 1
            extension = photo["relative"].rsplit(".", 1)[-1] if originals and "." in photo["relative"] else "jpg"
            row.photos.append(PhotoEntry(photo["id"], row.data["id"], number,
                                         photo_member(row.data["issue"], row.data["id"], row.data["street"], number,
                                                      extension), photo["relative"]))
    _dedupe(rows)
    latest = {target: row["outcome"] for target, row in (await latest_outcomes()).items()} if rows else {}
    return ExportPlan(filter, originals, rows, await describe_filter(filter, walk), walk.title if walk else None,
                      now, walk.date if walk else clock.local(now).date(), base_url, latest)


def _dedupe(rows: list[ConstatRow]) -> None:
    """Member names are unique by construction (constat number + photo number); this makes sure."""
    seen: set[str] = set()
    for photo in (p for row in rows for p in row.photos):
        name, index = photo.member, 2
        while name.lower() in seen:
            stem, dot, ext = photo.member.rpartition(".")
            name, index = f"{stem}-{index}{dot}{ext}", index + 1
        photo.member = name
        seen.add(name.lower())


async def describe_filter(filter: ObservationFilter, walk: Walk | None) -> list[str]:
    """The filters, as a person reads them."""
    lines = []
    if walk is not None:
        lines.append(f"Marche : {walk.title} (n° {walk.id}, du {clock.date_text(walk.date)})")
    if filter.neighbourhood is not None:
        hood = await Neighbourhood.objects().where(Neighbourhood.id == filter.neighbourhood).first()
        lines.append(f"Quartier : {hood.name} ({hood.qpv_code})" if hood else f"Quartier n° {filter.neighbourhood}")
    for name, kind, title in (("issue", "issue", "Enjeu"), ("angle", "angle", "Angle d'analyse"),
                              ("polarity", "polarity", "Point faible / fort")):
        value = getattr(filter, name)
        if value is not None:
            lines.append(f"{title} : {gusp.label(kind, value)}")
    lines.append(f"Statut : {filter.status_text()}")  # always: the default leaves constats out
    if filter.date_from is not None:
        lines.append(f"Marches du {clock.date_text(filter.date_from)}")
    if filter.date_to is not None:
        lines.append(f"Marches jusqu'au {clock.date_text(filter.date_to)}")
    if filter.revisited is not None:
        lines.append(f"Constats {filter.revisited_text()}")
    return lines


def _zip_file(photo: dict[str, Any], originals: bool) -> str:
    """The file of a photo in the zip: the original (coordinators; once purged, the blurred
    display that replaced it), else what everyone but staff sees (privacy.shared_image_path: the
    zip leaves the site), "" meaning its placeholder."""
    if originals and photo["original_path"]:
        return photo["original_path"]
    return privacy.shared_image_file(photo) or ""


def check_files(plan: ExportPlan, store: MediaStore) -> None:
    """Which photo files are there, and their sizes: decided once, before the zip is sized."""
    for photo in plan.photos:
        try:
            path = store.path(photo.relative_path) if photo.relative_path else privacy.PLACEHOLDERS[privacy.DISPLAY]
            size = os.stat(path).st_size
            if not path.is_file():
                raise FileNotFoundError(path)
        except (OSError, ValueError):
            photo.path, photo.size, photo.missing = None, 0, True
        else:
            photo.path, photo.size, photo.missing = path, size, False


def build_zip(plan: ExportPlan, store: MediaStore) -> ZipStream:
    """The sized zip: LISEZMOI.txt, constats.csv, constats.geojson, then one folder per issue.

    A file that disappears between the check and its `add_path` (a race of microseconds) makes
    the whole plan start again, so the manifest never names a file the zip lacks."""
    for _ in range(3):
        check_files(plan, store)
        zs = ZipStream(compress_type=ZIP_STORED, sized=True)
        zs.add(manifest.readme_text(plan).encode("utf-8"), manifest.README)
        zs.add(manifest.csv_bytes(plan), manifest.CSV)
        zs.add(manifest.geojson_bytes(plan), manifest.GEOJSON)
        try:
            for photo in plan.photos:
                if not photo.missing:
                    zs.add_path(str(photo.path), photo.member, recurse=False)
        except FileNotFoundError:
            continue
        return zs
    raise ExportError("Des photos disparaissent pendant la préparation de l'export : réessayez.", 409)


def byte_chunks(zs: ZipStream, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """zipstream's 64 KB pieces gathered into ~1 MB chunks (for the command line)."""
    parts: list[bytes] = []
    size = 0
    for part in zs:
        parts.append(part)
        size += len(part)
        if size >= chunk_bytes:
            yield b"".join(parts)
            parts, size = [], 0
    if parts:
        yield b"".join(parts)


async def stream(zs: ZipStream, chunk_bytes: int = CHUNK_BYTES) -> AsyncIterator[bytes]:
    """The zip for an HTTP response: each ~1 MB chunk is read in a worker thread (file reads
    block), so the event loop keeps serving others; one thread hop per MB, not per 64 KB."""
    chunks = byte_chunks(zs, chunk_bytes)

    def next_chunk() -> bytes | None:
        return next(chunks, None)

    while True:
        chunk = await to_thread.run_sync(next_chunk)
        if chunk is None:
            return
        yield chunk


def write_file(zs: ZipStream, out: Path) -> int:
    """Writes the zip to `out` atomically (`walkapp export-photos`): a temporary file beside it,
    flushed to disk, then renamed; an interrupted export never leaves half a zip under that name.
    Returns the number of bytes written."""
    out = Path(out)
    tmp = out.parent / f".{out.name}.{os.getpid()}.tmp"
    written = 0
    try:
        with open(tmp, "xb") as handle:
            for chunk in byte_chunks(zs):
                handle.write(chunk)
                written += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return written
