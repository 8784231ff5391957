"""Files under the media folder: content-addressed, written atomically.

A file is first written whole to a temporary name in its final folder, flushed to disk, then
renamed into place: a reader or a crash never sees half a file. Names derive from the content's
SHA-256, so the same photo sent twice is stored once and a retry rewrites nothing.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .settings import get_settings

TEMPORARY_SUFFIX = ".tmp"


def media_store() -> MediaStore:
    """The site's media folder (WALKAPP_MEDIA_DIR), as the routes and commands use it."""
    return MediaStore(get_settings().media_dir)


class MediaStore:
    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, relative: str) -> Path:
        """The absolute path of a stored file; refuses anything that would leave the media folder."""
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"not a media path: {relative!r}")
        return path

    @staticmethod
    def content_path(kind: str, sha256: str, extension: str) -> str:
        """`kind/ab/abcdef….ext`: two hex digits of fan-out keep folders small."""
        return f"{kind}/{sha256[:2]}/{sha256}.{extension}"

    def exists(self, relative: str) -> bool:
        return self.path(relative).is_file()

    def write(self, relative: str, data: bytes) -> bool:
        """Writes `data` at `relative` unless a file is there already (content-addressed: same name,
        same bytes). Returns True when it wrote."""
        target = self.path(relative)
        if _still_there(target):
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / temporary_name(target.name)
        try:
            with open(tmp, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                tmp.unlink()
        _fsync_dir(target.parent)
        return True

    def remove(self, relative: str) -> None:
        """Deletes a stored file if it is there (deleting twice is fine: retries are safe)."""
        self.path(relative).unlink(missing_ok=True)

    def read(self, relative: str) -> bytes:
        return self.path(relative).read_bytes()


def temporary_name(name: str) -> str:
    """`.name.<pid>.<random>.tmp`: a crash leaves a file that says it is unfinished and which
    process wrote it, so a start can tell an abandoned one from one being written
    (media_check.py)."""
    return f".{name}.{os.getpid()}.{secrets.token_hex(6)}{TEMPORARY_SUFFIX}"


def _still_there(target: Path) -> bool:
    """True when `target` exists, after refreshing its modification time: a file written long ago
    but no longer named by any row is about to be named again, and `check-media --repair` spares
    files modified within the hour (it sets the file aside before its last look at that time)."""
    try:
        os.utime(target)
    except FileNotFoundError:
        return False
    except PermissionError:
        return target.is_file()
    return target.is_file()


def _fsync_dir(folder: Path) -> None:
    """Makes the rename itself durable (the folder's entry), where the system allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
