"""The `walkapp` command: serve, migrate, demo, createuser, backup, export-photos (PRODUCT.md, "External contract")."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import io
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
    from . import db
    from .demo import DEMO_PASSWORD, load_demo
    from .settings import get_settings
    from .storage import MediaStore
    from .walks.services import join_url

    await migrate(quiet=True)
    await db.prepare()
    try:
        if only_if_empty and not await _is_empty():
            print("demo: la base contient déjà des marches, démo non chargée")
            return
        loaded = await load_demo(MediaStore(get_settings().media_dir))
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
        raise SystemExit("createuser: " + " ".join(error.errors.values()))
    finally:
        await db.release()
    print(f"createuser: {user.email} ({gusp.label('role', user.role)}) créé")


async def export_photos(args: argparse.Namespace) -> None:
    """The photo zip of a walk, the same as /exports/photos.zip?walk=ID, written atomically."""
    from pathlib import Path

    from . import db
    from .exports import builder
    from .observations.filters import ObservationFilter
    from .settings import get_settings
    from .storage import MediaStore

    out = Path(args.out)
    if not out.parent.is_dir():
        raise SystemExit(f"export-photos: le dossier {out.parent} n'existe pas")
    await db.prepare()
    try:
        plan = await builder.collect(ObservationFilter(walk=args.walk), args.originals)
    except builder.ExportError as error:
        raise SystemExit(f"export-photos: {error.message}")
    finally:
        await db.release()
    zs = builder.build_zip(plan, MediaStore(get_settings().media_dir))
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
        raise SystemExit(f"backup: {error}")
    print(f"backup: {result.folder} ({result.database_file.name}, {result.media_files} fichiers de photos, "
          f"{result.media_bytes / 2**20:.1f} Mo)")


def serve(host: str, port: int) -> None:
    import uvicorn

    asyncio.run(migrate(quiet=True))
    print(f"walkapp: serving on {_site_url(host, port)} (Ctrl+C to stop)", flush=True)
    uvicorn.run("walkapp.app:asgi", factory=True, host=host, port=port, proxy_headers=True,
                log_level="info", access_log=False)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="walkapp", description="Diagnostic en marchant (GUSP).")
    commands = parser.add_subparsers(dest="command", required=True)

    p_serve = commands.add_parser("serve", help="serve the web app")
    p_serve.add_argument("--host", default=DEFAULT_HOST)
    p_serve.add_argument("--port", type=int, default=DEFAULT_PORT)

    commands.add_parser("migrate", help="create or update the database tables")

    p_demo = commands.add_parser("demo", help="load the Lillers demo (idempotent)")
    p_demo.add_argument("--url", default=_site_url(DEFAULT_HOST, DEFAULT_PORT), help="the site's URL, for the links printed")
    p_demo.add_argument("--if-empty", action="store_true", help="load only when the database has no walk")

    p_user = commands.add_parser("createuser", help="create a staff account")
    p_user.add_argument("--email", required=True)
    p_user.add_argument("--name", help="display name (default: the e-mail's first part)")
    p_user.add_argument("--role", required=True, choices=gusp.codes("role"))
    p_user.add_argument("--partner", help="partner name, exactly as in the database")
    p_user.add_argument("--password-stdin", action="store_true", help="read the password from standard input")

    p_export = commands.add_parser("export-photos", help="write the photo zip of a walk")
    p_export.add_argument("--walk", type=int, required=True, help="walk id")
    p_export.add_argument("--originals", action="store_true", help="original files instead of display-size images")
    p_export.add_argument("--out", required=True, help="the zip file to write")

    p_backup = commands.add_parser("backup", help="copy the database and the photos into one folder")
    p_backup.add_argument("--out", help="the folder to create (default: backups/walkapp-<date>-<time>)")

    args = parser.parse_args(argv)
    from .settings import SettingsError, get_settings

    try:
        get_settings()  # a setting that cannot work (WALKAPP_TIMEZONE…) stops here in one sentence
    except SettingsError as error:
        sys.exit(f"walkapp: {error}")
    if args.command == "serve":
        serve(args.host, args.port)
    elif args.command == "migrate":
        asyncio.run(migrate())
    elif args.command == "demo":
        asyncio.run(demo(args.url, args.if_empty))
    elif args.command == "createuser":
        asyncio.run(createuser(args))
    elif args.command == "backup":
        backup(args.out)
    elif args.command == "export-photos":
        asyncio.run(export_photos(args))
