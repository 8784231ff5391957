"""What every page shares: the template engine, rendering a page or one of its blocks, errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from jinja2 import Environment
from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException
from litestar.plugins.htmx import ClientRedirect, HTMXRequest
from litestar.response import Redirect, Template

from . import clock, gusp, policy
from .urls import template, url
from .errors import CSRF_SENTENCE, AppError, Invalid, JoinRequired
from .caching import static_url
from .headers import csp_nonce

log = logging.getLogger("walkapp")


def privacy_boxes(photo: Any) -> list[dict]:
    from .privacy.services import boxes_of

    return boxes_of(photo)


def configure_jinja(env: Environment) -> None:
    # Times in pages are the site's (walkapp.clock), never the server's zone or a sliced string.
    env.filters["date_fr"] = clock.date_text
    env.filters["datetime_fr"] = clock.datetime_text
    env.filters["time_fr"] = clock.time_text
    env.globals.update(gusp.template_globals())
    env.globals["csp_nonce"] = csp_nonce
    env.globals["static_url"] = static_url  # versioned static URLs (walkapp.caching)
    env.globals["can"] = policy.template_can  # permissions: templates never test a role
    env.globals["url"] = url  # links from route names: `url('field.page', walk_id=walk.id)`
    env.globals["url_template"] = template  # for scripts: `/api/v1/walks/{walk_id}/observations`
    env.globals["photo_boxes"] = privacy_boxes  # a photo's blurred zones (walkapp.privacy)


class WalkRequest(HTMXRequest):
    """The app's request: htmx's, with a form that can't be decoded refused in French."""

    async def form(self) -> Any:
        # Litestar decodes each multipart text field with its charset, strictly: invalid UTF-8
        # (or an unknown charset) would be a 500. Every reader of a form (handlers, the CSRF
        # check) comes through here.
        try:
            return await super().form()
        except (UnicodeDecodeError, LookupError):
            raise Invalid("Un champ du formulaire n'est pas du texte lisible (UTF-8 attendu) : "
                          "rien n'a été enregistré.") from None


def render(request: Request, template: str, block: str | None = None, status_code: int = 200,
           push_url: str | None = None, **context: Any) -> Template:
    """The whole page, or only `block` of it when htmx asks: one template serves both.

    htmx is configured (base.html) to swap 4xx answers too, so a form re-rendered with its
    errors can carry an honest 422. `push_url` puts that URL in the address bar (shareable views).
    """
    if block and getattr(request, "htmx", False):
        return HTMXBlockTemplate(template_name=template, block_name=block, context=context,
                                 status_code=status_code, push_url=push_url or False)
    return Template(template_name=template, context=context, status_code=status_code)


def render_text(request: Request, template: str, **context: Any) -> str:
    """A page rendered to a string, with the context a Template response gives it (the request,
    the CSRF field): for what is made from HTML on the server (walkapp.pdf)."""
    page = Template(template_name=template, context=context)
    return request.app.template_engine.get_template(template).render(**page.create_template_context(request))


def redirect(request: Request, path: str) -> Response:
    """After a write: htmx follows an HX-Redirect, a plain form a 303."""
    if getattr(request, "htmx", False):
        return ClientRedirect(redirect_to=path)
    return Redirect(path=path, status_code=303)


def outside_htmx(request: Request, page: str) -> Response | None:
    """For URLs that only serve a block to htmx: a person who opens one in the address bar (a
    reload, a bookmark) is sent to the page the block belongs to; None when htmx asks."""
    return None if getattr(request, "htmx", False) else Redirect(path=page, status_code=303)


# ---------------------------------------------------------------- errors: one type, three shapes

PAGE, JSON, OPEN311 = "page", "json", "open311"
# How a route's errors are shown is part of the route: controllers of the JSON API set
# `opt={ERRORS_OPT: JSON}`, Open311's `opt={ERRORS_OPT: OPEN311}`; pages need nothing.
ERRORS_OPT = "errors"
_RENDERERS: dict[str, Callable[[Request, AppError], Response]] = {}


def error_renderer(shape: str) -> Callable:
    """Registers how the errors of the routes of `shape` are written (Open311 registers its own)."""
    def register(function: Callable[[Request, AppError], Response]) -> Callable[[Request, AppError], Response]:
        _RENDERERS[shape] = function
        return function
    return register


def _route_handler(request: Request) -> Any:
    """The handler of the request's route. A request refused before routing (unknown URL, wrong
    method, a path parameter that can't be read) has none: then the route is looked up as the
    router does for the other methods, else the routes mounted under the longest prefix decide,
    so an API URL still answers in the API's shape."""
    handler = request.scope.get("route_handler")
    if handler is not None:
        return handler
    path = request.scope.get("path", "/")
    for method in ("GET", "POST"):
        try:
            return request.app.asgi_router.handle_routing(path=path, method=method)[1]
        except Exception:  # noqa: BLE001, S112 - no route for that method: try the next one
            continue
    best, best_length = None, 0
    for route in request.app.routes:
        prefix = route.path.split("{", 1)[0].rstrip("/")
        if prefix and path.startswith(prefix + "/") and len(prefix) > best_length:
            handlers = getattr(route, "route_handlers", None)
            if handlers:
                best, best_length = handlers[0], len(prefix)
    return best


def error_shape(request: Request) -> str:
    handler = _route_handler(request)
    shape = handler.opt.get(ERRORS_OPT, PAGE) if handler is not None else PAGE
    if shape == PAGE and "application/json" in request.headers.get("accept", "") \
            and not request.headers.get("hx-request"):
        shape = JSON  # a script asked a page's URL for JSON
    if shape == PAGE and policy.bearer_token(request.headers.get("authorization")) is not None:
        shape = JSON  # a program with a token (QGIS fetching a photo): no sign-in page for it
    return shape


@error_renderer(JSON)
def json_error(request: Request, error: AppError) -> Response:
    """The API's error shape, pinned by a test: {"error": code, "detail": French sentence}, plus
    "fields" (field name -> French message) when a form's fields were refused."""
    body: dict[str, Any] = {"error": error.code, "detail": error.detail}
    if error.fields:
        body["fields"] = error.fields
    return Response(body, status_code=error.status, media_type=MediaType.JSON, headers=error.headers)


@error_renderer(PAGE)
def page_error(request: Request, error: AppError) -> Response:
    htmx = bool(getattr(request, "htmx", False))
    # A resident told to join a walk (JoinRequired) reads why; only staff are sent to sign in.
    if error.status == 401 and not isinstance(error, JoinRequired) and request.method in ("GET", "HEAD") and not htmx:
        return Redirect(path=url("sign_in.page", query={"suite": request.url.path}), status_code=303)
    context = {"status": error.status, "detail": error.detail}
    if htmx:
        # Shown where every page keeps its messages, whatever element made the request.
        return HTMXBlockTemplate(template_name="error.html", block_name="message", context=context,
                                 re_target="#messages", re_swap="innerHTML", status_code=error.status,
                                 headers=error.headers or None)
    return Template(template_name="error.html", context=context, status_code=error.status,
                    headers=error.headers or None)


def error_response(request: Request, error: AppError) -> Response:
    return _RENDERERS.get(error_shape(request), page_error)(request, error)


def as_app_error(exc: Exception) -> AppError:
    """Any exception as the error a person reads: ours as they are, Litestar's by their status
    (in French), anything else a 500 that says nothing was saved."""
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, HTTPException):
        status = exc.status_code
        csrf = status == 403 and "CSRF" in str(exc.detail or "")
        error = AppError.from_status(status, CSRF_SENTENCE if csrf else None)
        if exc.headers:
            error.headers.update({k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")})
        return error
    return AppError.from_status(500)


def exception_handler(request: Request, exc: Exception) -> Response:
    error = as_app_error(exc)
    if error.status >= 500:
        # Logged for the operator with its traceback; the person gets a French sentence, never a trace.
        log.error("Unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, error)


EXCEPTION_HANDLERS = {Exception: exception_handler}


__all__ = ["HTMXRequest", "render", "redirect", "outside_htmx", "error_response", "error_renderer",
           "EXCEPTION_HANDLERS"]
