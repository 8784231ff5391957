"""`walkapp backup`: a consistent copy of the database and the photos, in one folder.

Order matters: the database first, then the media folder. Photo files are always written before
the rows that name them (observations/services.py), so every row of the snapshot finds its files
in the copy made after it; files newer than the snapshot are copied too, harmlessly.
The folder is built under a temporary name and renamed at the end: a backup that exists is whole.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import clock
from .settings import Settings


class BackupError(RuntimeError):
    """A backup that could not be made; the message says why, in French."""


@dataclass(frozen=True)
class BackupResult:
    folder: Path
    database_file: Path
    media_files: int
    media_bytes: int


def _pg_dump() -> str:
    found = shutil.which("pg_dump") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"), reverse=True)), None)
    if not found:
        raise BackupError("pg_dump est introuvable : installez le client PostgreSQL (paquet postgresql-client).")
    return found


def _copy_database(settings: Settings, target: Path) -> Path:
    if settings.database.engine_type == "sqlite":
        source = settings.database.sqlite_path
        if not source.is_file():
            raise BackupError(f"La base SQLite {source} n'existe pas.")
        destination = target / "walkapp.sqlite"
        # SQLite's online backup: a consistent snapshot even while the app writes.
        with sqlite3.connect(source) as live, sqlite3.connect(destination) as copy:
            live.backup(copy)
        return destination
    destination = target / "walkapp.pgdump"
    result = subprocess.run([_pg_dump(), "--format=custom", "--no-owner", f"--file={destination}",
                             settings.database.url], capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_dump a échoué : {result.stderr.strip()[:500]}")
    return destination


def _copy_media(source: Path, target: Path) -> tuple[int, int]:
    """Hard links where the file system allows (photos never change once written), copies elsewhere."""
    count = size = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name.endswith(".tmp"):
            continue
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, destination)
        except OSError:
            shutil.copy2(path, destination)
        count += 1
        size += path.stat().st_size
    return count, size


def make_backup(settings: Settings, out: Path | None = None) -> BackupResult:
    started = clock.local(clock.now())  # the name and the note say the site's time, not the server's
    stamp = started.strftime("%Y%m%d-%H%M%S")
    folder = Path(out) if out else Path("backups") / f"walkapp-{stamp}"
    if folder.exists():
        raise BackupError(f"{folder} existe déjà : choisissez un autre dossier.")
    folder.parent.mkdir(parents=True, exist_ok=True)
    work = folder.parent / f".{folder.name}.partial"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        database_file = _copy_database(settings, work)
        files, size = _copy_media(settings.media_dir, work / "media")
        (work / "LISEZMOI.txt").write_text(
            f"Sauvegarde walkapp du {clock.datetime_text(started)}\n\n"
            f"Base : {database_file.name} ({settings.database.engine_type})\n"
            f"Photos : media/ ({files} fichiers, {size / 2**20:.1f} Mo)\n\n"
            "Pour restaurer : remettre la base (copier le fichier SQLite, ou pg_restore pour PostgreSQL)\n"
            "et le dossier media/ (il contient aussi la clé secrète .secret_key), puis `walkapp migrate`.\n",
            encoding="utf-8")
        os.replace(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupResult(folder, folder / database_file.name, files, size)
