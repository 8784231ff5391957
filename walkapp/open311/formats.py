"""JSON and XML, as GeoReport v2 writes them, and its error shape.

Why hand-made XML: the spec's layout is fixed (a list element, one element per item, singular
names), and xml.etree escapes text for us; no schema library is needed. Both formats are UTF-8
with the content types the spec gives.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree import ElementTree as ET

from litestar import Request, Response

from ..errors import AppError
from ..web import OPEN311, error_renderer

# Litestar appends "; charset=utf-8" to every text/* type itself: naming it here sent it twice.
JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml"
FORMATS = ("json", "xml")

# The element of one item in each list of the spec.
ITEM_TAGS = {"services": "service", "service_requests": "request", "attributes": "attribute",
             "values": "value", "errors": "error", "endpoints": "endpoint", "formats": "format"}


def split_format(name: str) -> tuple[str, str]:
    """"dechets.json" -> ("dechets", "json"). An unknown format is a 404 in JSON."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FORMATS or not stem:
        raise AppError(status=404, detail="Ressource introuvable : l'adresse doit finir par .json ou .xml.")
    return stem, fmt


def format_of(request: Request) -> str:
    return "xml" if request.url.path.endswith(".xml") else "json"


# What XML 1.0 forbids in a document, escaped or not (control characters, surrogates, U+FFFE and
# U+FFFF). clean_text keeps them out of new rows, but rows stored before it may hold them, and
# one such character makes the whole list unreadable to every client: they are dropped here.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


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


@error_renderer(OPEN311)
def open311_error(request: Request, error: AppError) -> Response:
    """GeoReport v2's error shape: a list of {code, description}, the code being the HTTP status."""
    return respond(format_of(request), "errors", [{"code": error.status, "description": error.detail}],
                   status_code=error.status, headers=error.headers or None)
