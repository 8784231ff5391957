"""The `walkapp` command: serve, migrate, demo, createuser, createtoken, backup, restore, check-media,
export-photos (PRODUCT.md, "External contract")."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import getpass
import io
import socket
import sys

from . import gusp

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _site_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return f"http://{shown}:{port}"


async def migrate(quiet: bool = False) -> int:
    """Runs the migrations not yet run; prints one line. Returns how many tables exist after."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    from .tables import ALL_TABLES

    log = io.StringIO()
    with contextlib.redirect_stdout(log):  # Piccolo narrates with emoji; keep one line of ours
        result = await run_forwards(app_name="walkapp")
    if not result.success:
        print(log.getvalue(), file=sys.stderr)
        raise SystemExit(f"walkapp migrate: échec : {result.message}")
    if not quiet:
        print(f"migrate: {result.message} ({len(ALL_TABLES)} tables)")
    return len(ALL_TABLES)


async def _is_empty() -> bool:
    from .tables import Walk

    return not await Walk.exists()


async def demo(url: str, only_if_empty: bool) -> None:
    """Loads the demo; with only_if_empty, a database that has walks is left alone, but when the
    demo is among them its three lines are printed again (`make run` shows them on every start)."""
    from . import db
    from .demo import DEMO_PASSWORD, load_demo, loaded_demo
    from .storage import media_store
    from .walks.services import join_url

    await migrate(quiet=True)
    await db.prepare()
    try:
        if only_if_empty and not await _is_empty():
            loaded = await loaded_demo()
            if loaded is None:
                print("demo: la base contient déjà des marches, démo non chargée")
                return
        else:
            loaded = await load_demo(media_store())
    finally:
        await db.release()
    print(f"url: {url}")
    print(f"login: {loaded['coordinator'].email} {DEMO_PASSWORD}")
    print(f"join: {join_url(url, loaded['open_walk'])}")


async def createuser(args: argparse.Namespace) -> None:
    from . import db
    from .accounts.services import AccountError, create_user

    password = args.password_stdin and sys.stdin.readline().rstrip("\n")
    if not password:
        password = getpass.getpass("Mot de passe : ")
        if password != getpass.getpass("Mot de passe (encore) : "):
            raise SystemExit("createuser: les deux mots de passe diffèrent")
    await db.prepare()
    try:
        user = await create_user(args.email, password, args.name or args.email.split("@")[0], args.role, args.partner)
    except AccountError as error:
        raise SystemExit("createuser: " + " ".join(error.errors.values())) from None
    finally:
        await db.release()
    print(f"createuser: {user.email} ({gusp.label('role', user.role)}) créé")


async def createtoken(email: str, name: str | None) -> int:
    """`walkapp createtoken`: a read token for a staff account, printed alone on standard output
    (`TOKEN=$(walkapp createtoken --email …)`); what it is goes to standard error."""
    from . import db
    from .accounts import tokens
    from .errors import AppError
    from .tables import StaffUser

    await db.prepare(pool=False)
    try:
        user = await StaffUser.objects().where(
            (StaffUser.email == email.strip().lower()) & (StaffUser.active == True)  # noqa: E712
        ).first()
        if user is None:
            print(f"createtoken: aucun compte actif avec l'adresse {email}", file=sys.stderr)
            return 1
        row, token = await tokens.create_token(user, name or tokens.DEFAULT_NAME)
    except AppError as error:
        print(f"createtoken: {' '.join(error.fields.values()) or error.detail}", file=sys.stderr)
        return 1
    finally:
        await db.release()
    print(f"createtoken: jeton de lecture « {row.name} » de {user.email} ({gusp.label('role', user.role)}) ; "
          "envoyez-le en « Authorization: Bearer <jeton> » ; il ne sera plus affiché", file=sys.stderr)
    print(token)
    return 0


async def export_photos(args: argparse.Namespace) -> None:
    """The photo zip of a walk, the same as /exports/photos.zip?walk=ID, written atomically."""
    from pathlib import Path

    from . import db
    from .exports import builder
    from .observations.filters import ObservationFilter
    from .storage import media_store

    out = Path(args.out)
    if not out.parent.is_dir():
        raise SystemExit(f"export-photos: le dossier {out.parent} n'existe pas")
    await db.prepare()
    try:
        plan = await builder.collect(ObservationFilter(walk=args.walk), args.originals)
    except builder.ExportError as error:
        raise SystemExit(f"export-photos: {error.message}") from None
    finally:
        await db.release()
    zs = builder.build_zip(plan, media_store())
    size = builder.write_file(zs, out)
    missing = len(plan.missing)
    print(f"export-photos: {out} ({len(plan.rows)} constats, {len(plan.photos) - missing} photos, "
          f"{size} octets" + (f", {missing} fichiers manquants : voir LISEZMOI.txt" if missing else "") + ")")


def backup(out: str | None) -> None:
    from pathlib import Path

    from .backup import BackupError, make_backup
    from .settings import get_settings

    try:
        result = make_backup(get_settings(), Path(out) if out else None)
    except BackupError as error:
        raise SystemExit(f"backup: {error}") from None
    print(f"backup: {result.folder} ({result.database_file.name}, {result.media_files} fichiers de photos, "
          f"{result.media_bytes / 2**20:.1f} Mo)")


def _listen(host: str, port: int, backlog: int) -> socket.socket:
    """The listening socket, bound here rather than by uvicorn: a port that can't be had gets one
    French line and exit status 1, not a log record and a traceback."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise SystemExit(f"walkapp: le port {port} est déjà utilisé : choisissez-en un autre avec --port") from None
        if error.errno == errno.EACCES:
            raise SystemExit(f"walkapp: pas le droit d'écouter sur le port {port} (sous 1024, il faut être "
                             "administrateur) : choisissez-en un autre avec --port") from None
        raise SystemExit(f"walkapp: impossible d'écouter sur {host}:{port} ({error.strerror or error}) : "
                         "vérifiez --host et --port") from None
    sock.set_inheritable(True)  # the worker processes serve on it
    return sock


def serve(host: str, port: int, workers: int = 1) -> None:
    """Migrates once, removes what crashed uploads left, then serves with `workers` processes."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from .media_check import remove_abandoned_temporary
    from .settings import get_settings

    if workers < 1:
        raise SystemExit("walkapp: --workers doit valoir 1 ou plus")
    asyncio.run(migrate(quiet=True))
    removed = remove_abandoned_temporary(get_settings().media_dir)
    if removed:
        print(f"walkapp: {removed} fichier(s) temporaire(s) abandonné(s) supprimé(s)", flush=True)
    config = uvicorn.Config("walkapp.app:asgi", factory=True, host=host, port=port, workers=workers,
                            proxy_headers=True, log_level="info", access_log=False)
    sock = _listen(host, port, config.backlog)
    print(f"walkapp: serving on {_site_url(host, sock.getsockname()[1])} (Ctrl+C to stop)", flush=True)
    server = uvicorn.Server(config)
    try:
        if workers > 1:
            Multiprocess(config, sockets=[sock]).run()
        else:
            server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    if workers == 1 and not server.started:
        raise SystemExit(1)  # uvicorn has logged why the app did not start


async def check_media(repair: bool, min_age: float) -> int:
    """Prints what is wrong in the media folder (and repairs it with repair). Returns the exit
    status: 0 when clean, 1 when problems remain."""
    from . import db, media_check
    from .settings import get_settings

    root = get_settings().media_dir
    await db.prepare(pool=False)
    try:
        report = await media_check.check(root)
    finally:
        await db.release()
    _print_media_report(report, root)
    if repair:
        removed, report = media_check.repair(report, min_age)
        kept = len(report.orphans) + len(report.temporary)
        print(f"check-media: --repair : {removed} fichier(s) supprimé(s)"
              + (f", {kept} gardé(s) car modifié(s) il y a moins de {min_age:g} s (un envoi peut être en cours)"
                 if kept else ""))
    print(f"check-media: {len(report.missing)} manquant(s), {len(report.orphans)} sans ligne, "
          f"{len(report.temporary)} temporaire(s)" + (" : tout est en ordre" if report.clean else ""))
    return 0 if report.clean else 1


def _print_media_report(report, root) -> None:
    for photo_id, relative in report.missing:
        print(f"manquant : {relative} (photo {photo_id})")
    for path in report.orphans:
        print(f"sans ligne : {path.relative_to(root)}")
    for path in report.temporary:
        print(f"temporaire : {path.relative_to(root)}")


def restore(folder: str) -> None:
    from pathlib import Path

    from .backup import BackupError, restore_backup
    from .settings import get_settings

    try:
        result = restore_backup(get_settings(), Path(folder))
    except BackupError as error:
        raise SystemExit(f"restore: {error}") from None
    asyncio.run(migrate(quiet=True))  # a backup made by an older version gets the newer tables
    print(f"restore: {folder} restaurée ({result.database_file.name}, {result.media_files} fichiers de photos)")


async def blur_pending() -> int:
    """`walkapp blur-pending`: blurs the photos still pending, now, in this process."""
    from . import db
    from .privacy import detect, services as privacy
    from .storage import media_store

    detect.check_models()
    await db.prepare(pool=False)
    try:
        done = await privacy.process_pending(media_store())
        left = await privacy.Photo.count().where(privacy.Photo.privacy_state == privacy.PENDING)
    finally:
        await db.release()
    print(f"blur-pending: {done} photo(s) floutée(s), {left} en attente")
    return 0


async def purge_originals(days: int | None) -> int:
    """`walkapp purge-originals`: deletes originals past the retention (the server does it daily)."""
    from . import db
    from .privacy import services as privacy
    from .settings import get_settings
    from .storage import media_store

    days = days or get_settings().originals_retention_days
    if days is None:
        print("purge-originals: WALKAPP_ORIGINALS_RETENTION_DAYS n'est pas défini (ou --days) : rien à faire")
        return 0
    await db.prepare(pool=False)
    try:
        purged = await privacy.purge_originals(media_store(), days)
    finally:
        await db.release()
    print(f"purge-originals: {purged} original(aux) supprimé(s) (constats reçus il y a plus de {days} jours ; "
          "l'image floutée les remplace)")
    return 0


async def erase_participant(walk_id: int, name: str, delete_constats: bool) -> int:
    """`walkapp erase-participant`: a participant erased at their request (by the command line)."""
    from . import db
    from .errors import AppError
    from .privacy import services as privacy
    from .storage import media_store
    from .walks.services import get_walk

    await db.prepare(pool=False)
    try:
        walk = await get_walk(walk_id)
        participant = await privacy.find_participant(walk.id, name)
        count = await privacy.erase_participant(media_store(), participant, None, delete_constats)
    except AppError as error:
        print(f"erase-participant: {error.detail}", file=sys.stderr)
        return 1
    finally:
        await db.release()
    what = "supprimé(s) avec leurs photos" if delete_constats else "gardé(s) sans auteur"
    print(f"erase-participant: participant n° {participant.id} de la marche n° {walk.id} effacé ; "
          f"{count} constat(s) {what}")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="walkapp", description="Diagnostic en marchant (GUSP).")
    commands = parser.add_subparsers(dest="command", required=True)

    p_serve = commands.add_parser("serve", help="serve the web app")
    p_serve.add_argument("--host", default=DEFAULT_HOST)
    p_serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    p_serve.add_argument("--workers", type=int, default=1,
                         help="worker processes (default 1); migrations run once before they start")

    commands.add_parser("migrate", help="create or update the database tables")

    p_demo = commands.add_parser("demo", help="load the Lillers demo (idempotent)")
    p_demo.add_argument("--url", help="the site's URL, for the links printed (default: from --host and --port)")
    p_demo.add_argument("--host", default=DEFAULT_HOST, help="the host `walkapp serve` listens on")
    p_demo.add_argument("--port", type=int, default=DEFAULT_PORT, help="the port `walkapp serve` listens on")
    p_demo.add_argument("--if-empty", action="store_true", help="load only when the database has no walk")

    p_user = commands.add_parser("createuser", help="create a staff account")
    p_user.add_argument("--email", required=True)
    p_user.add_argument("--name", help="display name (default: the e-mail's first part)")
    p_user.add_argument("--role", required=True, choices=gusp.codes("role"))
    p_user.add_argument("--partner", help="partner name, exactly as in the database")
    p_user.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    p_token = commands.add_parser(
        "createtoken", help="print a new read token of a staff account (QGIS, scripts)",
        description="Creates a personal read token for the account and prints it alone on standard output. "
                    "Sent as `Authorization: Bearer <token>`, it reads the GeoJSON, the OGC API (/ogc/) and the "
                    "photos with the account's permissions, and never writes. Revoke it on the account page.")
    p_token.add_argument("--email", required=True, help="the staff account's e-mail")
    p_token.add_argument("--name", help="what the token is for (default: « Jeton de lecture »)")

    p_export = commands.add_parser("export-photos", help="write the photo zip of a walk")
    p_export.add_argument("--walk", type=int, required=True, help="walk id")
    p_export.add_argument("--originals", action="store_true", help="original files instead of display-size images")
    p_export.add_argument("--out", required=True, help="the zip file to write")

    p_backup = commands.add_parser("backup", help="copy the database and the photos into one folder")
    p_backup.add_argument("--out", help="the folder to create (default: backups/walkapp-<date>-<time>)")

    p_restore = commands.add_parser(
        "restore", help="restore a `walkapp backup` folder into an empty database and media folder",
        description="Restores a folder made by `walkapp backup` into the database and media folder of "
                    "the settings. Both must be empty (a migrated database without rows is empty); "
                    "stop walkapp first. Exit status 1 when refused.")
    p_restore.add_argument("folder", metavar="DIR", help="the backup folder")

    p_check = commands.add_parser(
        "check-media", help="compare the media folder with the database",
        description="Lists photo rows whose files are missing, files no row references and unfinished "
                    "temporary files. --repair removes the last two when older than --older-than "
                    "seconds; missing files are only reported. Exit status: 0 when clean, 1 when "
                    "problems remain.")
    p_check.add_argument("--repair", action="store_true",
                         help="remove unreferenced and temporary files older than --older-than")
    p_check.add_argument("--older-than", type=float, default=None, metavar="SECONDS",
                         help="age below which --repair keeps a file: an upload may be in flight (default 3600)")

    commands.add_parser("blur-pending", help="blur the photos still pending, now (the server does it by itself)")

    p_purge = commands.add_parser(
        "purge-originals", help="delete photos' originals past WALKAPP_ORIGINALS_RETENTION_DAYS",
        description="Deletes the originals (and unblurred display images) of photos whose constat arrived "
                    "more than the retention ago; their blurred image becomes the reference. The server "
                    "runs it daily when WALKAPP_ORIGINALS_RETENTION_DAYS is set.")
    p_purge.add_argument("--days", type=int, default=None, help="retention in days (default: the setting)")

    p_erase = commands.add_parser(
        "erase-participant", help="erase a participant at their request",
        description="Replaces the participant's name; their constats are kept without author, or deleted "
                    "with their photos (--delete-constats). The history says when, not who was erased.")
    p_erase.add_argument("--walk", type=int, required=True, help="walk id")
    p_erase.add_argument("--name", required=True, help="the participant's name (case ignored)")
    p_erase.add_argument("--delete-constats", action="store_true", help="delete their constats and photos")

    args = parser.parse_args(argv)
    from .settings import SettingsError, get_settings

    try:
        get_settings()  # a setting that cannot work (WALKAPP_TIMEZONE…) stops here in one sentence
    except SettingsError as error:
        sys.exit(f"walkapp: {error}")
    if args.command == "serve":
        serve(args.host, args.port, args.workers)
    elif args.command == "migrate":
        asyncio.run(migrate())
    elif args.command == "demo":
        asyncio.run(demo(args.url or _site_url(args.host, args.port), args.if_empty))
    elif args.command == "restore":
        restore(args.folder)
    elif args.command == "check-media":
        from .media_check import DEFAULT_MIN_AGE

        min_age = DEFAULT_MIN_AGE if args.older_than is None else max(0.0, args.older_than)
        sys.exit(asyncio.run(check_media(args.repair, min_age)))
    elif args.command == "createuser":
        asyncio.run(createuser(args))
    elif args.command == "createtoken":
        sys.exit(asyncio.run(createtoken(args.email, args.name)))
    elif args.command == "backup":
        backup(args.out)
    elif args.command == "export-photos":
        asyncio.run(export_photos(args))
    elif args.command == "blur-pending":
        sys.exit(asyncio.run(blur_pending()))
    elif args.command == "purge-originals":
        sys.exit(asyncio.run(purge_originals(args.days)))
    elif args.command == "erase-participant":
        sys.exit(asyncio.run(erase_participant(args.walk, args.name, args.delete_constats)))
