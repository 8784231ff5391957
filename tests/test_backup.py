"""`walkapp backup`: the database and the photos, consistent, in a folder that is whole or absent."""

import sqlite3
import subprocess
import sys
from pathlib import Path

from conftest import PHOTOS, make_walk
from test_api_observations import fields, join, photo, post_observation

from walkapp.tables import ALL_TABLES


async def test_backup_copies_database_and_photos(client, test_env, tmp_path, backend):
    walk = await make_walk("open")
    await join(client, walk)
    await post_observation(client, walk, fields(), [photo(PHOTOS / "ok" / "landscape_1.jpg")])
    out = tmp_path / "sauvegarde"
    result = subprocess.run([sys.executable, "-m", "walkapp", "backup", "--out", str(out)], env=test_env,
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "backup:" in result.stdout and "fichiers de photos" in result.stdout
    media = Path(test_env["WALKAPP_MEDIA_DIR"])
    for kind in ("originals", "display", "thumbs"):
        copied = sorted(p.relative_to(out / "media") for p in (out / "media" / kind).rglob("*") if p.is_file())
        assert copied == sorted(p.relative_to(media) for p in (media / kind).rglob("*") if p.is_file())
    assert (out / "LISEZMOI.txt").read_text(encoding="utf-8").startswith("Sauvegarde walkapp")
    if backend == "sqlite":
        copy = sqlite3.connect(out / "walkapp.sqlite")
        for table in ALL_TABLES:
            name = table._meta.tablename
            assert copy.execute(f"select count(*) from {name}").fetchone()[0] == await table.count(), name
    else:
        listing = subprocess.run(["pg_restore", "--list", str(out / "walkapp.pgdump")], capture_output=True, text=True)
        if listing.returncode != 0:  # pg_restore may not be on PATH: Debian keeps it beside pg_dump
            import glob

            tool = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_restore"))[-1]
            listing = subprocess.run([tool, "--list", str(out / "walkapp.pgdump")], capture_output=True, text=True)
        assert "TABLE DATA public observation" in listing.stdout
    # A second backup into the same folder is refused, and leaves the first untouched.
    again = subprocess.run([sys.executable, "-m", "walkapp", "backup", "--out", str(out)], env=test_env,
                           capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert again.returncode != 0 and "existe déjà" in again.stderr
    assert not list(tmp_path.glob(".*.partial"))
