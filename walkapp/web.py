"""What every page shares: the template engine, rendering a page or one of its blocks, errors."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from jinja2 import Environment
from jinja2_fragments.litestar import HTMXBlockTemplate
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.plugins.htmx import ClientRedirect, HTMXRequest
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from . import gusp
from .errors import UserFacing

log = logging.getLogger("walkapp")


def format_date(value: dt.date | dt.datetime | None) -> str:
    """dd/mm/yyyy, the French way."""
    return value.strftime("%d/%m/%Y") if value else ""


def format_datetime(value: dt.datetime | None) -> str:
    return value.astimezone().strftime("%d/%m/%Y %H:%M") if value else ""


def configure_jinja(env: Environment) -> None:
    env.filters["date_fr"] = format_date
    env.filters["datetime_fr"] = format_datetime
    env.globals.update(gusp.template_globals())


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


def redirect(request: Request, path: str) -> Response:
    """After a write: htmx follows an HX-Redirect, a plain form a 303."""
    if getattr(request, "htmx", False):
        return ClientRedirect(redirect_to=path)
    return Redirect(path=path, status_code=303)


class FormError(Exception):
    """A form that can't be accepted. Carries French messages by field name ("" for the form)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/open311/v2/")) or (
        "application/json" in request.headers.get("accept", "") and not request.headers.get("hx-request")
    )


_ERROR_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
                422: "invalid", 429: "too_many_requests", 500: "server_error"}

_FRENCH_DEFAULTS = {
    400: "La demande n'est pas valide.",
    401: "Connectez-vous pour continuer.",
    403: "Vous n'avez pas accès à cette page.",
    404: "Cette page n'existe pas ou plus.",
    405: "Cette action n'est pas possible ici.",
    413: "Le fichier envoyé est trop gros.",
    429: "Trop de tentatives : patientez un peu avant de réessayer.",
    500: "Une erreur est survenue de notre côté. Rien n'a été enregistré ; réessayez plus tard.",
}


def _french_detail(exc: Exception, status: int) -> str:
    if isinstance(exc, UserFacing):
        return exc.detail
    if status == 403 and "CSRF" in (getattr(exc, "detail", "") or ""):
        return "Le formulaire a expiré. Rechargez la page puis recommencez."
    return _FRENCH_DEFAULTS.get(status, _FRENCH_DEFAULTS[400])


def error_response(request: Request, status: int, detail: str, code: str | None = None) -> Response:
    code = code or _ERROR_CODES.get(status, "error")
    if _wants_json(request):
        return Response({"error": code, "detail": detail}, status_code=status, media_type=MediaType.JSON)
    if status == 401 and request.method == "GET":
        return Redirect(path=f"/connexion?suite={request.url.path}", status_code=303)
    if getattr(request, "htmx", False):
        # Shown where every page keeps its messages, whatever element made the request.
        return HTMXBlockTemplate(template_name="error.html", block_name="message",
                                 context={"status": status, "detail": detail},
                                 re_target="#messages", re_swap="innerHTML", status_code=status)
    return Template(template_name="error.html", context={"status": status, "detail": detail},
                    status_code=status)


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    code = exc.code if isinstance(exc, UserFacing) else None
    return error_response(request, status, _french_detail(exc, status), code)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    # Logged for the operator with its traceback; the user gets a French sentence, never a trace.
    log.exception("Unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, HTTP_500_INTERNAL_SERVER_ERROR, _FRENCH_DEFAULTS[500])


EXCEPTION_HANDLERS = {
    HTTPException: http_exception_handler,
    NotAuthorizedException: http_exception_handler,
    PermissionDeniedException: http_exception_handler,
    NotFoundException: http_exception_handler,
    ValidationException: http_exception_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
    Exception: internal_error_handler,
}

__all__ = ["HTMXRequest", "render", "redirect", "FormError", "error_response", "EXCEPTION_HANDLERS"]
