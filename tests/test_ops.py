"""Operating walkapp: check-media after a real crash, restore of a backup, serve's port and workers."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from conftest import PHOTOS, make_walk
from pgserver import free_port
from test_api_observations import fields

from walkapp.tables import Observation, Photo


def walkapp(env, *args, timeout=120, cwd=None):
    return subprocess.run([sys.executable, "-m", "walkapp", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


@pytest.fixture
def media_env(test_env, tmp_path):
    """The test database with a media folder of this test's own (the session's holds every other
    test's files, which no row names once their rows are cleaned)."""
    return {**test_env, "WALKAPP_MEDIA_DIR": str(tmp_path / "media")}


async def query(url: str, sql: str) -> list[tuple]:
    """Rows of a query on any database of the suite, by URL (not the app's engine)."""
    if url.startswith("sqlite:///"):
        with sqlite3.connect(url[len("sqlite:///"):]) as db:
            return [tuple(row) for row in db.execute(sql)]
    import asyncpg

    db = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await db.fetch(sql)]
    finally:
        await db.close()


async def table_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (Piccolo's migration table included), in a stable order."""
    catalogue = ("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                 if url.startswith("sqlite:///") else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {name: sorted(await query(url, f'SELECT * FROM "{name}"'), key=repr)
            for (name,) in await query(url, catalogue)}


def file_hashes(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


def start_server(env, cwd, *args) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    log = Path(cwd) / f"serve-{port}.log"
    with open(log, "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "walkapp", "serve", "--port", str(port), *args],
                                   cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/connexion", timeout=1).status_code == 200:
                return process, url, log
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"server did not start: {log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def participant_client(url: str, walk) -> Iterator[httpx.Client]:
    """A phone that joined the walk: participant session cookie, CSRF header."""
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get("/connexion")
        client.headers["x-csrftoken"] = client.cookies["walkapp_csrf"]
        joined = client.post(f"/j/{walk.join_secret}", data={"display_name": "Zoé"})
        assert joined.status_code == 303, joined.text
        yield client


def send_observation(client: httpx.Client, walk, photos: list[bytes]) -> httpx.Response:
    files = [("photos", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    return client.post(f"/api/v1/walks/{walk.id}/observations", data=fields(), files=files)


COUNTS = re.compile(r"check-media: (\d+) manquant\(s\), (\d+) sans ligne, (\d+) temporaire\(s\)")


def media_counts(result: subprocess.CompletedProcess) -> tuple[int, int, int]:
    found = COUNTS.search(result.stdout)
    assert found, result.stdout + result.stderr
    return tuple(int(n) for n in found.groups())  # type: ignore[return-value]


async def every_row_has_its_files(media: Path) -> None:
    for row in await Photo.objects():
        for relative in (row.original_path, row.display_path, row.thumb_path):
            assert (media / relative).is_file(), relative


async def test_check_media_after_kill_9_during_uploads(media_env, tmp_path):
    """A real crash: uploads in flight, kill -9, then check-media finds what it left, a new start
    removes the dead writer's temporary files, --repair the rest, and no row loses a file."""
    walk = await make_walk("open")
    media = Path(media_env["WALKAPP_MEDIA_DIR"])
    server, url, log = start_server(media_env, tmp_path)
    original = (PHOTOS / "ok" / "jolla.jpg").read_bytes()
    stop_sending = threading.Event()
    sent: list[int] = []

    def phone(number: int) -> None:
        with participant_client(url, walk) as client:
            for attempt in range(200):
                if stop_sending.is_set():
                    return
                # Bytes after the JPEG's end make each photo new: content-addressed files are
                # written once, and a crash needs writes in flight.
                variants = [original + f"phone-{number}-{attempt}-{i}".encode() for i in range(3)]
                try:
                    sent.append(send_observation(client, walk, variants).status_code)
                except httpx.HTTPError:
                    return

    phones = [threading.Thread(target=phone, args=(n,)) for n in range(8)]
    for thread in phones:
        thread.start()
    deadline = time.time() + 60
    # Kill while a file is being written, after some constats went in whole.
    while time.time() < deadline and not (sent and any(media.rglob("*.tmp"))):
        time.sleep(0.002)
    os.kill(server.pid, signal.SIGKILL)
    server.wait()
    stop_sending.set()
    for thread in phones:
        thread.join(timeout=60)
    assert sent and set(sent) <= {201}, sent

    before = walkapp(media_env, "check-media", cwd=tmp_path)
    missing, orphans, temporary = media_counts(before)
    print(f"after kill -9: {len(sent)} constats sent, {missing} missing, {orphans} unreferenced, "
          f"{temporary} temporary")
    assert before.returncode == 1 and missing == 0 and orphans + temporary >= 1, before.stdout

    # A start removes the temporary files of the dead process (its pid is in their names) at once.
    restarted, _, _ = start_server(media_env, tmp_path)
    stop(restarted)
    assert not list(media.rglob("*.tmp"))

    # The default age spares everything this young: an upload may be in flight.
    spared = walkapp(media_env, "check-media", "--repair", cwd=tmp_path)
    assert spared.returncode == (1 if orphans else 0)
    assert media_counts(spared) == (0, orphans, 0)
    repaired = walkapp(media_env, "check-media", "--repair", "--older-than", "0", cwd=tmp_path)
    assert repaired.returncode == 0 and media_counts(repaired) == (0, 0, 0), repaired.stdout
    after = walkapp(media_env, "check-media", cwd=tmp_path)
    assert after.returncode == 0 and "tout est en ordre" in after.stdout
    assert media_counts(after) == (0, 0, 0)
    await every_row_has_its_files(media)
    assert await Observation.count() >= len(sent)


async def test_check_media_reports_missing_files_and_spares_fresh_ones(client, media_env, tmp_path):
    """Missing files are listed, never repaired; --repair removes only what is older than the
    threshold; a file about to be named again by an upload is refreshed and survives."""
    from walkapp.media_check import DEFAULT_MIN_AGE, check, repair
    from walkapp.storage import MediaStore

    media = Path(media_env["WALKAPP_MEDIA_DIR"])
    server, url, _ = start_server(media_env, tmp_path)
    try:
        walk = await make_walk("open")
        with participant_client(url, walk) as phone:
            assert send_observation(phone, walk, [(PHOTOS / "ok" / "landscape_1.jpg").read_bytes()]).status_code == 201
    finally:
        stop(server)
    row = await Photo.objects().first()
    (media / row.thumb_path).unlink()
    long_ago = time.time() - 2 * DEFAULT_MIN_AGE
    old_orphan = media / "originals" / "ab" / ("ab" + "0" * 62 + ".jpg")
    fresh_orphan = media / "display" / "cd" / ("cd" + "1" * 62 + ".jpg")
    reused = media / "display" / "ef" / ("ef" + "2" * 62 + ".jpg")
    old_temporary = media / "originals" / "ab" / ".x.jpg.4242.abcdef.tmp"
    for path in (old_orphan, fresh_orphan, reused, old_temporary):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    for path in (old_orphan, reused, old_temporary):
        os.utime(path, (long_ago, long_ago))
    (media / ".gitkeep").write_text("")

    listed = walkapp(media_env, "check-media", cwd=tmp_path)
    assert listed.returncode == 1 and media_counts(listed) == (1, 3, 1)
    assert f"manquant : {row.thumb_path} (photo {row.id})" in listed.stdout
    assert "sans ligne : originals/ab/" in listed.stdout and "temporaire : originals/ab/.x.jpg" in listed.stdout

    # An upload of the same content finds `reused` there: it refreshes it rather than rewriting.
    report = await check(media)
    assert MediaStore(media).write(reused.relative_to(media).as_posix(), b"x") is False
    removed, left = repair(report)
    assert removed == 2 and not old_orphan.exists() and not old_temporary.exists()
    assert fresh_orphan.exists() and reused.exists() and left.missing == [(row.id, row.thumb_path)]

    again = walkapp(media_env, "check-media", "--repair", "--older-than", "0", cwd=tmp_path)
    assert again.returncode == 1 and media_counts(again) == (1, 0, 0)  # the missing thumbnail stays
    assert not fresh_orphan.exists() and (media / row.original_path).is_file() and (media / ".gitkeep").exists()
    assert "0 when clean, 1 when" in " ".join(walkapp(media_env, "check-media", "--help").stdout.split())


async def test_backup_then_restore_into_a_fresh_site(media_env, fresh_database, tmp_path):
    """backup → restore into a new database and media folder: every row and every file the same
    (the secret key too), and the next constat gets a new id (sequences restored)."""
    source = {k: v for k, v in media_env.items() if k != "WALKAPP_SECRET_KEY"}  # key kept in media/
    walk = await make_walk("open")
    server, url, _ = start_server(source, tmp_path)
    try:
        with participant_client(url, walk) as phone:
            for name in ("landscape_1.jpg", "DSCN0010.jpg"):
                sent = send_observation(phone, walk, [(PHOTOS / "ok" / name).read_bytes()])
                assert sent.status_code == 201, sent.text
    finally:
        stop(server)
    backup = tmp_path / "sauvegarde"
    made = walkapp(source, "backup", "--out", str(backup), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "walkapp restore" in (backup / "LISEZMOI.txt").read_text(encoding="utf-8")

    target = {**source, "WALKAPP_DATABASE_URL": fresh_database, "WALKAPP_MEDIA_DIR": str(tmp_path / "restored")}
    restored = walkapp(target, "restore", str(backup), cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith("restore: ")

    assert await table_rows(fresh_database) == await table_rows(source["WALKAPP_DATABASE_URL"])
    original = file_hashes(Path(source["WALKAPP_MEDIA_DIR"]))
    assert ".secret_key" in original and len(original) == 7
    assert file_hashes(tmp_path / "restored") == original

    newest = max(o.id for o in await Observation.objects())
    server, url, _ = start_server(target, tmp_path)
    try:
        with participant_client(url, walk) as phone:
            created = send_observation(phone, walk, [(PHOTOS / "ok" / "landscape_2.jpg").read_bytes()])
    finally:
        stop(server)
    assert created.status_code == 201, created.text
    assert created.json()["id"] > newest

    # Restoring again into what is now a site with data is refused, and changes nothing.
    rows = await table_rows(fresh_database)
    refused = walkapp(target, "restore", str(backup), cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith("restore: la base n'est pas vide")
    assert "Traceback" not in refused.stderr
    assert await table_rows(fresh_database) == rows


async def test_restore_refuses_a_media_folder_with_files(test_env, fresh_database, tmp_path):
    backup = tmp_path / "sauvegarde"
    assert walkapp(test_env, "backup", "--out", str(backup), cwd=tmp_path).returncode == 0
    media = tmp_path / "occupied"
    (media / "originals").mkdir(parents=True)
    (media / "originals" / "photo.jpg").write_bytes(b"x")
    target = {**test_env, "WALKAPP_DATABASE_URL": fresh_database, "WALKAPP_MEDIA_DIR": str(media)}
    refused = walkapp(target, "restore", str(backup), cwd=tmp_path)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().startswith(f"restore: le dossier {media} n'est pas vide")
    not_a_backup = walkapp(target, "restore", str(tmp_path), cwd=tmp_path)
    assert not_a_backup.returncode == 1 and "n'est pas une sauvegarde walkapp" in not_a_backup.stderr
    assert sorted(p.name for p in media.rglob("*")) == ["originals", "photo.jpg"]


def test_serve_on_a_busy_port_says_so_in_one_line(test_env, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = walkapp(test_env, "serve", "--port", str(port), cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"walkapp: le port {port} est déjà utilisé : choisissez-en un autre "
                                     "avec --port")
    assert "serving on" not in result.stdout


def test_serve_with_two_workers(test_env, tmp_path):
    server, url, log = start_server(test_env, tmp_path, "--workers", "2")
    try:
        for _ in range(6):
            assert httpx.get(url + "/connexion", timeout=5).status_code == 200
        text = log.read_text()
        assert text.count(f"walkapp: serving on {url}") == 1
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        assert len(workers) >= 2, text
    finally:
        stop(server)
    assert server.returncode == 0
    assert "Traceback" not in log.read_text()


async def test_two_workers_agree_on_sessions_sign_out_and_the_throttle(test_env, tmp_path):
    """Two processes share one database: a session opened by one is known to the other, a
    sign-out on one ends it for both, and wrong passwords are counted once for both (the 429 comes
    at the 6th try, not the 11th). Every request is a new connection, so the kernel spreads them
    over both workers."""
    from conftest import PASSWORD, make_user

    user = await make_user("agent", "agent-workers@ville.example")
    server, url, log = start_server(test_env, tmp_path, "--workers", "2")
    fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection for every request
    try:
        with httpx.Client(base_url=url, timeout=10, limits=fresh) as browser:
            browser.get("/connexion")
            browser.headers["x-csrftoken"] = browser.cookies["walkapp_csrf"]
            signed_in = browser.post("/connexion", data={"email": user.email, "password": PASSWORD})
            assert signed_in.status_code in (200, 303), signed_in.text
            assert all(browser.get("/marches/").status_code == 200 for _ in range(12))
            copied = dict(browser.cookies)
            assert browser.post("/deconnexion").status_code in (200, 303)
        with httpx.Client(base_url=url, timeout=10, limits=fresh, cookies=copied) as thief:
            answers = [thief.get("/marches/").status_code for _ in range(12)]
            assert answers == [303] * 12, answers  # sent to sign in by every worker

        with httpx.Client(base_url=url, timeout=10, limits=fresh) as guesser:
            guesser.get("/connexion")
            guesser.headers["x-csrftoken"] = guesser.cookies["walkapp_csrf"]
            wrong = [guesser.post("/connexion", data={"email": user.email, "password": "mauvais"}).status_code
                     for _ in range(5)]
            assert wrong == [401] * 5, wrong
            refused = guesser.post("/connexion", data={"email": user.email, "password": PASSWORD})
            assert refused.status_code == 429 and "minute" in refused.text
    finally:
        stop(server)
    assert "Traceback" not in log.read_text()
