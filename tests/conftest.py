"""Test harness: a real database (a SQLite file, or a PostgreSQL server started here), the app,
clients, and a real server process for browser and concurrency tests.

Choose the database with WALKAPP_TEST_DB=sqlite (default) or WALKAPP_TEST_DB=postgres; `make test`
runs the suite once with each.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT.parent / "shared" / "photos"
BACKEND = os.environ.get("WALKAPP_TEST_DB", "sqlite")
PASSWORD = "un-mot-de-passe-solide"

_state: dict[str, object] = {}

sys.path.insert(0, str(ROOT / "tests"))
pytest_plugins = ["browser"]  # Chromium fixtures (tests/browser.py)


def pytest_configure(config):
    """Before any test module imports walkapp: point its settings at the test database."""
    work = Path(tempfile.mkdtemp(prefix="walkapp-test-"))
    _state["work"] = work
    os.environ["WALKAPP_MEDIA_DIR"] = str(work / "media")
    os.environ["WALKAPP_SECRET_KEY"] = "test-secret-key-" + "x" * 40
    if BACKEND == "postgres":
        sys.path.insert(0, str(ROOT / "tests"))
        import pgserver

        server = pgserver.start()
        _state["pg"] = server
        os.environ["WALKAPP_DATABASE_URL"] = server.create_database("walkapp_test")
    else:
        os.environ["WALKAPP_DATABASE_URL"] = f"sqlite:///{work / 'walkapp_test.sqlite'}"


def pytest_unconfigure(config):
    server = _state.get("pg")
    if server is not None:
        server.stop()


def pytest_report_header(config):
    return f"walkapp database: {BACKEND} ({os.environ.get('WALKAPP_DATABASE_URL')})"


def pytest_terminal_summary(terminalreporter):
    passed = len(terminalreporter.stats.get("passed", []))
    failed = len(terminalreporter.stats.get("failed", [])) + len(terminalreporter.stats.get("error", []))
    terminalreporter.write_line(f"walkapp tests on {BACKEND}: {passed} passed, {failed} failed")


@pytest.fixture(scope="session")
def backend() -> str:
    return BACKEND


@pytest.fixture(scope="session")
def pg_server():
    server = _state.get("pg")
    if server is None:
        pytest.skip("PostgreSQL pass only")
    return server


@pytest.fixture(scope="session")
def work_dir() -> Path:
    return _state["work"]  # type: ignore[return-value]


@pytest.fixture(scope="session")
def test_env() -> dict[str, str]:
    """The environment a subprocess needs to use the same database and media folder."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="session", autouse=True)
async def database():
    from walkapp import db
    from walkapp.cli import migrate

    await migrate(quiet=True)
    await db.prepare(pool=False)
    yield
    await db.release()


TABLES = ("web_session", "sign_in_failure", "action_event", "action_observation", "action", "api_key",
          "observation_event", "photo", "observation",
          "participant", "stop",
          "walk", "staff_user", "street", "partner", "neighbourhood_outline", "neighbourhood")
TABLES = ("bilan_event", "indicator_value", "assessment", "local_indicator") + TABLES  # the bilan's
TABLES = ("tfpb_amount", "tfpb_programme") + TABLES  # the TFPB programme's rows go before their partner's
TABLES = ("read_token",) + TABLES  # staff members' read tokens (walkapp.accounts.tokens)


@pytest.fixture(autouse=True)
async def clean_database(database):
    """Every test starts from empty tables (the schema stays: migrations ran once)."""
    from walkapp.db import engine

    yield
    db = engine()
    if db.engine_type == "postgres":
        await db.run_ddl(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    else:
        for table in TABLES:
            await db.run_ddl(f"DELETE FROM {table}")


@pytest.fixture(scope="session")
def app():
    from walkapp.app import create_app

    return create_app(db_pool=False)


@pytest.fixture
async def client(app):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as test_client:
        yield test_client


@pytest.fixture
async def other_client(app):
    from litestar.testing import AsyncTestClient

    async with AsyncTestClient(app=app) as test_client:
        yield test_client


# ---------------------------------------------------------------- helpers used by many tests

def shown(response) -> str:
    """The page's text as a person reads it: tags dropped, entities such as &#39; decoded, spaces
    folded."""
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


async def csrf_headers(client) -> dict[str, str]:
    """The CSRF header a page would send: the token is set as a cookie by any GET."""
    if "walkapp_csrf" not in client.cookies:
        await client.get("/connexion")
    return {"x-csrftoken": client.cookies["walkapp_csrf"]}


async def post_form(client, path: str, data, htmx: bool = False, follow_redirects: bool = False, **kwargs):
    headers = await csrf_headers(client)
    if htmx:
        headers["hx-request"] = "true"
    return await client.post(path, data=data, headers=headers, follow_redirects=follow_redirects, **kwargs)


async def make_user(role: str = "coordinator", email: str | None = None, partner: str | None = None):
    from walkapp.accounts.services import create_user
    from walkapp.tables import Partner

    if partner and not await Partner.exists().where(Partner.name == partner):
        await Partner(name=partner, kind="bailleur").save()
    return await create_user(email or f"{role}@ville.example", PASSWORD, role.title(), role, partner)


async def sign_in(client, role: str = "coordinator", email: str | None = None):
    user = await make_user(role, email)
    response = await post_form(client, "/connexion", {"email": user.email, "password": PASSWORD})
    assert response.status_code in (200, 303), response.text
    return user


async def make_neighbourhood(code: str = "QP062057"):
    from walkapp.tables import Neighbourhood

    hood = await Neighbourhood.objects().where(Neighbourhood.qpv_code == code).first()
    if hood is None:
        hood = Neighbourhood(qpv_code=code, name="Ville Centre", town="Lillers", centre_lat=50.5636, centre_lon=2.4826)
        await hood.save()
    return hood


async def make_walk(status: str = "open", title: str = "Marche test", stops: int = 2):
    from walkapp.walks.services import StopInput, WalkInput, create_walk, set_status

    hood = await make_neighbourhood()
    import datetime as dt

    data = WalkInput(neighbourhood=hood.id, title=title, date=dt.date(2026, 11, 25),
                     stops=[StopInput(f"Halte {i}", 50.5636 + i / 1000, 2.4826) for i in range(stops)])
    walk = await create_walk(data, None)
    if status != "planned":
        await set_status(walk, status)
        walk.status = status
    return walk


# ---------------------------------------------------------------- a real server process

def _wait_for(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    import httpx

    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start: {log.read_text()}")


@contextlib.contextmanager
def serve(test_env: dict[str, str], work_dir: Path, env: dict[str, str] | None = None, log_name: str = "server.log"):
    """`walkapp serve` on a free loopback port, on the test database, with `env` added to its
    environment (settings read at start): {"url": ..., "log": ...}."""
    sys.path.insert(0, str(ROOT / "tests"))
    from pgserver import free_port

    port = free_port()
    log = work_dir / log_name
    with open(log, "w") as out:
        # No blurring worker in it: tests blur photos themselves (walkapp.privacy), and a worker
        # of this server would race with them on the shared database.
        process = subprocess.Popen([sys.executable, "-m", "walkapp", "serve", "--port", str(port)],
                                   cwd=work_dir, env={**test_env, "WALKAPP_BLUR_IN_SERVER": "0", **(env or {})},
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url + "/connexion", process, log)
        yield {"url": url, "log": log}
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(test_env, work_dir):
    """`walkapp serve` on a free loopback port, on the test database: HTTP as a phone speaks it."""
    with serve(test_env, work_dir) as server:
        yield server


def server_log_problems(log: Path) -> list[str]:
    text = log.read_text()
    return re.findall(r".*(?:database is locked|Traceback|Internal Server Error).*", text)


@pytest.fixture
def fresh_database(tmp_path, request) -> str:
    """The URL of a new, empty database on the engine of this pass (restore, a second demo site)."""
    if BACKEND == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    import uuid

    return request.getfixturevalue("pg_server").create_database(f"fresh_{uuid.uuid4().hex[:10]}")
