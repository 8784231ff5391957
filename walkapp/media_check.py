"""`walkapp check-media`: the media folder against the photo rows, after a crash or by hand.

Three kinds of problem (PRODUCT.md, "External contract"):
- a photo row whose file is missing: reported only; deleting the row would lose the constat's
  other data, and the file may come back from a backup;
- a file no row names (a crash between writing the files and committing the rows: photo files
  are always written first, observations/services.py);
- an unfinished temporary file (a crash while writing, storage.py).

`--repair` removes the last two, and only those older than an hour by default: a file written a
moment ago may belong to an upload whose rows are not committed yet. At start, `walkapp serve`
removes temporary files that are older than that or whose writer process is gone.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from .photos import PHOTO_FOLDERS
from .storage import TEMPORARY_SUFFIX

# An upload lasts seconds; an hour leaves a wide margin before a file counts as abandoned.
DEFAULT_MIN_AGE = 3600
# The folders photos.store() writes into; files elsewhere in the media folder are not ours to judge.
# storage.temporary_name() and settings.load_or_create_secret(): `.name.<pid>.<hex>.tmp`.
_WRITER_PID = re.compile(r"\.(\d+)\.[0-9a-f]+" + re.escape(TEMPORARY_SUFFIX) + "$")


@dataclass
class MediaReport:
    missing: list[tuple[int, str]] = field(default_factory=list)  # (photo id, relative path)
    orphans: list[Path] = field(default_factory=list)
    temporary: list[Path] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.orphans or self.temporary)


def _path_columns():
    """Every column of Photo naming a file (`*_path`): a new derived image is covered by naming
    its column so."""
    from .tables import Photo

    return [c for c in Photo._meta.columns if c._meta.name.endswith("_path")]


async def referenced_files() -> dict[str, int]:
    """Relative path → id of a photo row naming it."""
    from .tables import Photo

    columns = _path_columns()
    rows = await Photo.select(Photo.id, *columns)
    return {row[c._meta.name]: row["id"] for row in rows for c in columns if row[c._meta.name]}


def is_temporary(path: Path) -> bool:
    return path.name.endswith(TEMPORARY_SUFFIX)


def _files(root: Path, folders: set[str]):
    """Regular files under the given top folders of the media folder."""
    for folder in sorted(folders):
        for directory, _, names in os.walk(root / folder):
            for name in names:
                path = Path(directory) / name
                if path.is_file() and not path.is_symlink():
                    yield path


def _temporary_files(root: Path):
    for directory, _, names in os.walk(root):
        for name in names:
            if name.endswith(TEMPORARY_SUFFIX):
                yield Path(directory) / name


async def check(root: Path) -> MediaReport:
    """Rows are read after the folder is listed: a row committed meanwhile still counts, so a
    file is called unreferenced only when no row named it at the end of the check."""
    root = Path(root)
    report = MediaReport(temporary=sorted(_temporary_files(root)))
    listed = [p for p in _files(root, set(PHOTO_FOLDERS)) if not is_temporary(p)]
    referenced = await referenced_files()
    # Other folders rows name (a derived image added later); never the media folder's own top
    # level, where the secret key lives.
    folders = {relative.split("/", 1)[0] for relative in referenced if "/" in relative}
    folders -= {"", ".", "..", *PHOTO_FOLDERS}
    listed += [p for p in _files(root, folders) if not is_temporary(p)]
    report.orphans = sorted(p for p in listed if p.relative_to(root).as_posix() not in referenced)
    report.missing = sorted((photo_id, relative) for relative, photo_id in referenced.items()
                            if not (root / relative).is_file())
    return report


def age(path: Path, now: float | None = None) -> float:
    try:
        return (now or time.time()) - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def writer_is_gone(path: Path) -> bool:
    """True when the temporary file's name carries the pid of a process that no longer runs
    (on this machine: a media folder shared by several hosts must rely on age alone)."""
    match = _WRITER_PID.search(path.name)
    if not match:
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError, ValueError):
        return False
    return False


def remove_abandoned_temporary(root: Path, min_age: float = DEFAULT_MIN_AGE) -> int:
    """At start: temporary files older than min_age or whose writer is gone. Returns how many."""
    removed = 0
    for path in _temporary_files(Path(root)):
        if age(path) >= min_age or writer_is_gone(path):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def remove_if_unreferenced(path: Path, min_age: float) -> bool:
    """Removes an unreferenced file unless it was modified within min_age.

    An upload that finds its file already there refreshes its time before naming it in a row
    (storage._still_there). So the file is first renamed aside, and its time read after: an
    upload that came before the rename left it fresh (it goes back), one that comes after finds
    no file and writes it anew. Either way no row ends up naming a deleted file.
    """
    aside = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}{TEMPORARY_SUFFIX}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return False
    if age(aside) < min_age:
        try:
            os.link(aside, path)
        except FileExistsError:
            pass  # written again meanwhile: same name, same content
        aside.unlink()
        return False
    aside.unlink()
    return True


def repair(report: MediaReport, min_age: float = DEFAULT_MIN_AGE) -> tuple[int, MediaReport]:
    """Removes the unreferenced and temporary files older than min_age. Returns how many it
    removed and what remains (missing files always remain: they are reported, never repaired)."""
    now = time.time()
    left = MediaReport(missing=list(report.missing))
    removed = 0
    for path in report.orphans:
        if age(path, now) >= min_age and remove_if_unreferenced(path, min_age):
            removed += 1
        elif path.exists():
            left.orphans.append(path)
    for path in report.temporary:
        if age(path, now) >= min_age:
            path.unlink(missing_ok=True)
            removed += 1
        elif path.exists():
            left.temporary.append(path)
    return removed, left
