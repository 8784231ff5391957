"""The app, assembled in one place: settings, database, sessions, CSRF, security headers, templates, routes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

from litestar import Litestar, Request
from litestar.types import Message, Receive, Scope, Send
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine as Jinja
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from . import db
from .review import clusters as map_clusters
from .caching import STATIC_NAME, STATIC_PATH, asset_versions, static_cache_control
from .compression import compression
from .errors import NotFound
from .validation import MAX_ID
from .accounts.controllers import AccountController, StaffAccountController
from .actions.controllers import ActionController
from .bilan.controllers import BilanController
from .settings import STATIC_DIR, TEMPLATES_DIR, Settings, get_settings
from .headers import security_headers
from .policy import ActorMiddleware
from .security import CSRFUnlessBearer, SecureCookiesOverHttps
from .sessions import DatabaseSessionConfig, DatabaseSessionStore
from .field.controllers import FieldController, OfflineSupport
from .exports.controllers import ExportController
from .observations.controllers import ObservationApi, PhotoFiles
from .openapi import document
from .open311.controllers import ApiKeyController, GeoReportController
from .ogc.controllers import OgcController, QgisStyleController
from .outline.controllers import OutlineController
from .review.controllers import ReviewController
from .privacy.controllers import ErasureController, RedactionController
from .walks.controllers import JoinController, WalkController
from .reports.controllers import ReportController, RestitutionController
from .web import EXCEPTION_HANDLERS, WalkRequest, configure_jinja
from .tfpb.controllers import TfpbController

# Every route of the app: create_app serves them, walkapp.urls builds URLs from their names.
ROUTES = [
    AccountController,
    StaffAccountController,
    WalkController,
    JoinController,
    FieldController,
    OfflineSupport,
    ObservationApi,
    PhotoFiles,
    ExportController,
    GeoReportController,
    ApiKeyController,
    OutlineController,
    ReviewController,
    ActionController,
    BilanController,
    TfpbController,
    ReportController,
    RestitutionController,
    RedactionController,
    ErasureController,
    OgcController,
    QgisStyleController,
]
MAX_FORM_BYTES = 1_000_000  # forms without files; photo uploads set their own limit


def _key(secret: str, purpose: str, size: int = 32) -> bytes:
    """A key per purpose, derived from the one secret: sessions and CSRF never share one."""
    return hashlib.sha256(f"walkapp:{purpose}:{secret}".encode()).digest()[:size]


class WalkApp(Litestar):
    """Litestar, with HEAD answered wherever GET is (RFC 9110: the same headers, no body)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await super().__call__(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await super().__call__({**scope, "method": "GET"}, receive, send_headers_only)


def ids_in_range(request: Request) -> None:
    """Every id in a path names a row, or the answer is 404: an id past what the database holds
    would otherwise overflow the query (before_request of the whole app: one place for all)."""
    for value in request.path_params.values():
        if isinstance(value, int) and not 0 <= value <= MAX_ID:
            raise NotFound()


@asynccontextmanager
async def blurring_worker() -> AsyncIterator[None]:
    """The blurring worker (walkapp.privacy.worker) for as long as the app serves."""
    from .privacy import worker

    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    try:
        yield
    finally:
        stop.set()
        worker.wake()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def create_app(settings: Settings | None = None, db_pool: bool = True, privacy_worker: bool = False,
               warm_map: bool = False) -> Litestar:
    """The app; `privacy_worker`: run the blurring worker in this process (`walkapp serve` does);
    `warm_map`: read the map's default index at start (walkapp.review.clusters), not at the first map."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def database(_: Litestar) -> AsyncIterator[None]:
        await db.prepare(pool=db_pool)
        warming = asyncio.create_task(map_clusters.warm()) if warm_map else None
        try:
            if privacy_worker:
                async with blurring_worker():
                    yield
            else:
                yield
        finally:
            if warming is not None:
                warming.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await warming
            await db.release()

    # Sessions live in the database (walkapp.sessions): every worker shares them, and they can end.
    session = DatabaseSessionConfig(store="sessions")
    csrf = CSRFConfig(
        secret=_key(settings.secret_key, "csrf").hex(),
        cookie_name="walkapp_csrf",
        header_name="x-csrftoken",
        cookie_httponly=True,  # pages put the token in the X-CSRFToken header themselves
        cookie_samesite="lax",
    )
    static_versions = asset_versions(STATIC_DIR)  # hashed once: static_url() (walkapp.caching)
    templates = TemplateConfig(directory=TEMPLATES_DIR, engine=Jinja,
                               engine_callback=lambda e: configure_jinja(e.engine))
    app = WalkApp(
        route_handlers=[
            *ROUTES,
            create_static_files_router(path=STATIC_PATH, directories=[STATIC_DIR], name=STATIC_NAME,
                                       include_in_schema=False),
        ],
        lifespan=[database],
        middleware=[session.middleware, DefineMiddleware(ActorMiddleware),
                    DefineMiddleware(CSRFUnlessBearer, config=csrf)],
        template_config=templates,
        plugins=[HTMXPlugin()],
        request_class=WalkRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=ids_in_range,
        before_send=[security_headers(settings.tiles_url), static_cache_control(static_versions)],
        compression_config=compression(),
        stores={"sessions": DatabaseSessionStore()},
        request_max_body_size=MAX_FORM_BYTES,
        openapi_config=OpenAPIConfig(
            title="walkapp",
            version="1",
            description="API du diagnostic en marchant (constats, carte, Open311).",
            path="/schema",
            # The schema as JSON and YAML only: the HTML viewers load their scripts from a CDN.
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
        ),
        debug=False,
    )
    app.state.settings = settings
    app.state.static_versions = static_versions
    document(app)  # what the handlers read themselves, and our error shapes (openapi.py)
    return app


def asgi() -> SecureCookiesOverHttps:
    """What `walkapp serve` runs: the app, with cookies marked Secure on https requests."""
    return SecureCookiesOverHttps(create_app(privacy_worker=get_settings().blur_in_server, warm_map=True))
