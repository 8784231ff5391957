"""JSON and XML, as GeoReport v2 writes them, and its error shape.

Why hand-made XML: the spec's layout is fixed (a list element, one element per item, singular
names), and xml.etree escapes text for us; no schema library is needed. Both formats are UTF-8
with the content types the spec gives.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from xml.etree import ElementTree as ET

from litestar import Request, Response
from litestar.exceptions import HTTPException

from ..errors import UserFacing

log = logging.getLogger("walkapp")

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")

# The element of one item in each list of the spec.
ITEM_TAGS = {"services": "service", "service_requests": "request", "attributes": "attribute",
             "values": "value", "errors": "error", "endpoints": "endpoint", "formats": "format"}


class Open311Error(Exception):
    """A refusal in the spec's shape: HTTP status = code, a French description."""

    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code, self.description = code, description


def split_format(name: str) -> tuple[str, str]:
    """"dechets.json" -> ("dechets", "json"). An unknown format is a 404 in JSON."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FORMATS or not stem:
        raise Open311Error(404, "Ressource introuvable : l'adresse doit finir par .json ou .xml.")
    return stem, fmt


def format_of(request: Request) -> str:
    return "xml" if request.url.path.endswith(".xml") else "json"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(parent: ET.Element, key: str, value: Any) -> None:
    element = ET.SubElement(parent, key)
    if isinstance(value, dict):
        for child_key, child_value in value.items():
            _fill(element, child_key, child_value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _fill(element, ITEM_TAGS.get(key, "item"), item)
    else:
        element.text = _text(value)


def to_xml(root: str, body: Any) -> bytes:
    """`root` holding `body`: a list (one element per item) or a dict (one element per key)."""
    element = ET.Element(root)
    if isinstance(body, dict):
        for key, value in body.items():
            _fill(element, key, value)
    else:
        for item in body:
            _fill(element, ITEM_TAGS[root], item)
    # The declaration as the spec writes it (ElementTree's own uses single quotes and "utf-8").
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element, encoding="unicode").encode("utf-8")


def respond(fmt: str, root: str, body: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, body), media_type=XML_TYPE, status_code=status_code, headers=headers)
    content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return Response(content, media_type=JSON_TYPE, status_code=status_code, headers=headers)


def error_response(request: Request, code: int, description: str) -> Response:
    return respond(format_of(request), "errors", [{"code": code, "description": description}], status_code=code)


_FRENCH = {
    400: "Requête invalide.",
    401: "Authentification nécessaire.",
    403: "Accès refusé.",
    404: "Ressource introuvable.",
    405: "Méthode non permise ici.",
    413: "Requête trop volumineuse.",
    500: "Erreur interne : rien n'a été enregistré. Réessayez plus tard.",
}


def open311_error_handler(request: Request, exc: Open311Error) -> Response:
    return error_response(request, exc.code, exc.description)


def http_error_handler(request: Request, exc: HTTPException) -> Response:
    """Litestar's own refusals (bad form, body too large…), in the spec's shape and in French."""
    status = exc.status_code if 400 <= exc.status_code < 500 else 500
    detail = exc.detail if isinstance(exc, UserFacing) else ""
    return error_response(request, status, detail or _FRENCH.get(status, _FRENCH[400]))


def internal_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("Unhandled error on %s %s", request.method, request.url.path)
    return error_response(request, 500, _FRENCH[500])


EXCEPTION_HANDLERS = {Open311Error: open311_error_handler, HTTPException: http_error_handler,
                      Exception: internal_error_handler}
