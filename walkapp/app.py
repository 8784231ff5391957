"""The app, assembled in one place: settings, database, sessions, CSRF, templates, routes."""

from __future__ import annotations

import hashlib
from contextlib import asynccontextmanager
from typing import AsyncIterator

from litestar import Litestar
from litestar.config.csrf import CSRFConfig
from litestar.middleware import DefineMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine as Jinja
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from . import db
from .accounts.controllers import AccountController
from .actions.controllers import ActionController
from .settings import STATIC_DIR, TEMPLATES_DIR, Settings, get_settings
from .security import CSRFUnlessBearer, SecureCookiesOverHttps, SessionUserMiddleware
from .field.controllers import FieldController, OfflineSupport
from .exports.controllers import ExportController
from .observations.controllers import ObservationApi, PhotoFiles
from .open311.controllers import ApiKeyController, GeoReportController
from .review.controllers import ReviewController
from .walks.controllers import JoinController, WalkController
from .web import EXCEPTION_HANDLERS, configure_jinja

SESSION_DAYS = 30
MAX_FORM_BYTES = 1_000_000  # forms without files; photo uploads set their own limit


def _key(secret: str, purpose: str, size: int = 32) -> bytes:
    """A key per purpose, derived from the one secret: sessions and CSRF never share one."""
    return hashlib.sha256(f"walkapp:{purpose}:{secret}".encode()).digest()[:size]


def create_app(settings: Settings | None = None, db_pool: bool = True) -> Litestar:
    settings = settings or get_settings()

    @asynccontextmanager
    async def database(_: Litestar) -> AsyncIterator[None]:
        await db.prepare(pool=db_pool)
        try:
            yield
        finally:
            await db.release()

    session = CookieBackendConfig(
        secret=_key(settings.secret_key, "session"),
        key="walkapp_session",
        max_age=SESSION_DAYS * 24 * 3600,
        httponly=True,
        samesite="lax",
    )
    csrf = CSRFConfig(
        secret=_key(settings.secret_key, "csrf").hex(),
        cookie_name="walkapp_csrf",
        header_name="x-csrftoken",
        cookie_httponly=True,  # pages put the token in the X-CSRFToken header themselves
        cookie_samesite="lax",
    )
    templates = TemplateConfig(directory=TEMPLATES_DIR, engine=Jinja, engine_callback=lambda e: configure_jinja(e.engine))
    app = Litestar(
        route_handlers=[
            AccountController,
            WalkController,
            JoinController,
            FieldController,
            OfflineSupport,
            ObservationApi,
            PhotoFiles,
            ExportController,
            GeoReportController,
            ApiKeyController,
            ReviewController,
            ActionController,
            create_static_files_router(path="/static", directories=[STATIC_DIR], name="static",
                                       include_in_schema=False),
        ],
        lifespan=[database],
        middleware=[session.middleware, DefineMiddleware(SessionUserMiddleware),
                    DefineMiddleware(CSRFUnlessBearer, config=csrf)],
        template_config=templates,
        plugins=[HTMXPlugin()],
        exception_handlers=EXCEPTION_HANDLERS,
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
    return app


def asgi() -> SecureCookiesOverHttps:
    """What `walkapp serve` runs: the app, with cookies marked Secure on https requests."""
    return SecureCookiesOverHttps(create_app())
