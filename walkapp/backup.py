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
from .settings import SECRET_FILE_NAME, Settings
from .storage import TEMPORARY_SUFFIX


class BackupError(RuntimeError):
    """A backup that could not be made; the message says why, in French."""


@dataclass(frozen=True)
class BackupResult:
    folder: Path
    database_file: Path
    media_files: int
    media_bytes: int


def _pg_tool(name: str) -> str:
    """pg_dump or pg_restore: on PATH, else where Debian keeps the newest version's."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                       None)
    if not found:
        raise BackupError(f"{name} est introuvable : installez le client PostgreSQL (paquet postgresql-client).")
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
    result = subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={destination}",
                             settings.database.url], capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_dump a échoué : {result.stderr.strip()[:500]}")
    return destination


def _copy_media(source: Path, target: Path, link: bool = True) -> tuple[int, int]:
    """Hard links where the file system allows and `link` (photos never change once written),
    copies elsewhere. Unfinished temporary files are left out."""
    count = size = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name.endswith(TEMPORARY_SUFFIX):
            continue
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            if not link:
                raise OSError("copy asked")
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
            "Pour restaurer, dans une base et un dossier media vides : `walkapp restore <ce dossier>`\n"
            "(le dossier media/ contient aussi la clé secrète .secret_key).\n",
            encoding="utf-8")
        os.replace(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupResult(folder, folder / database_file.name, files, size)


# Files a media folder may hold and still count as empty: the secret key made at first start,
# and the placeholder that keeps the folder in git.
_EMPTY_MEDIA_FILES = {SECRET_FILE_NAME, ".gitkeep"}


def _backup_database(folder: Path) -> Path:
    for name in ("walkapp.sqlite", "walkapp.pgdump"):
        if (folder / name).is_file():
            return folder / name
    raise BackupError(f"{folder} n'est pas une sauvegarde walkapp (ni walkapp.sqlite ni walkapp.pgdump).")


async def _database_rows() -> list[str]:
    """The app's tables that hold rows (a table not made yet holds none)."""
    from .tables import ALL_TABLES

    return [t._meta.tablename for t in ALL_TABLES if await t.table_exists() and await t.exists()]


def _media_files(media_dir: Path) -> list[Path]:
    if not media_dir.is_dir():
        return []
    return [p for p in media_dir.rglob("*")
            if p.is_file() and not (p.parent == media_dir and p.name in _EMPTY_MEDIA_FILES)]


def _refuse_unless_empty(settings: Settings) -> None:
    import asyncio

    from . import db

    async def rows() -> list[str]:
        await db.prepare(pool=False)
        try:
            return await _database_rows()
        finally:
            await db.release()

    tables = asyncio.run(rows())
    if tables:
        raise BackupError(f"la base n'est pas vide (tables {', '.join(tables)}) : restaurez dans une base neuve.")
    files = _media_files(settings.media_dir)
    if files:
        raise BackupError(f"le dossier {settings.media_dir} n'est pas vide ({len(files)} fichiers, dont "
                          f"{files[0].relative_to(settings.media_dir)}) : restaurez dans un dossier vide.")


def _restore_database(settings: Settings, dump: Path) -> None:
    engine = settings.database.engine_type
    if (dump.suffix == ".sqlite") != (engine == "sqlite"):
        raise BackupError(f"{dump.name} ne se restaure pas dans une base {engine} : la sauvegarde et la base "
                          "cible doivent être du même type (SQLite ou PostgreSQL).")
    if engine == "sqlite":
        target = settings.database.sqlite_path
        target.parent.mkdir(parents=True, exist_ok=True)
        # The online backup API again, the other way: the whole file, schema included, replaces
        # the empty target through SQLite's own locking.
        with sqlite3.connect(dump) as copy, sqlite3.connect(target) as live:
            copy.backup(live)
        return
    # --clean drops the (empty) tables a migrate may have made; one transaction: all or nothing.
    # The dump carries each sequence's value, so new rows get new ids.
    result = subprocess.run([_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--clean", "--if-exists",
                             "--single-transaction", f"--dbname={settings.database.url}", str(dump)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"pg_restore a échoué, la base est inchangée : {result.stderr.strip()[:500]}")


def restore_backup(settings: Settings, folder: Path) -> BackupResult:
    """Restores a `walkapp backup` folder into an empty database and an empty media folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BackupError(f"le dossier {folder} n'existe pas.")
    dump = _backup_database(folder)
    _refuse_unless_empty(settings)
    _restore_database(settings, dump)
    # Copies, not links: the restored site and the backup must not share files.
    files, size = _copy_media(folder / "media", settings.media_dir, link=False) if (folder / "media").is_dir() \
        else (0, 0)
    return BackupResult(folder, dump, files, size)
