"""What keeps phones from downloading the same bytes twice, in one place.

- Polled answers (the field feed every phone asks for every few seconds): `Revalidated(answer)`
  gives them an ETag, the hash of the body they would send, and answers a poll whose
  If-None-Match names it with a 304 and no body. Hashing the rendered body, rather than listing
  what the feed depends on (constats, their photos and edits, haltes, names, the reader's rights),
  means no change can be missed; the server renders as before, the network carries nothing.
- Static files: templates write `static_url('css/app.css')`, which gives
  `/static/css/app.css?v=<hash of the file's bytes>`, hashed once at start. A request whose `v`
  is the file's current hash may be kept a year (`immutable`): a new file has a new URL.
  Anything else (no `v`, an old one, files CSS refers to) is kept a few minutes only.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from jinja2 import pass_context
from litestar import Request, Response
from litestar.datastructures import MutableScopeHeaders
from litestar.response.base import ASGIResponse
from litestar.types import Message, Scope

STATIC_PATH = "/static"
STATIC_NAME = "static"  # the route name of the static files router (app.py)
VERSION_PARAM = "v"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
# Every poll asks the server (no-cache), which answers 304 while nothing changed; a shared cache
# must not keep it: the feed shows the reader's own constats and rights (private).
REVALIDATE = "no-cache, private"


# ---------------------------------------------------------------- polled answers: ETag and 304

def body_etag(body: bytes) -> str:
    """A weak validator: the same content compressed or not (br, gzip) is the same feed."""
    digest = hashlib.sha256(body).digest()[:16]
    return 'W/"' + base64.urlsafe_b64encode(digest).decode().rstrip("=") + '"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 13.1.2: If-None-Match compares weakly (W/ ignored), `*` matches any."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


class Revalidated(Response):
    """A handler's answer made revalidatable: `return Revalidated(render(...))`."""

    def __init__(self, answer: Response) -> None:
        super().__init__(content=None)
        self.answer = answer

    def to_asgi_response(self, app: Any, request: Request, **kwargs: Any) -> ASGIResponse:
        response = self.answer.to_asgi_response(app, request, **kwargs)
        if response.status_code != 200:
            return response  # errors and redirects are never revalidated
        etag = body_etag(response.body)
        response.headers["etag"] = etag
        response.headers["cache-control"] = REVALIDATE
        if etag_matches(request.headers.get("if-none-match"), etag):
            # RFC 9110 15.4.5: same validators and caching headers, no content.
            response.status_code = 304
            response.body = b""
            response.content_length = 0
            for header in ("content-length", "content-type"):
                if header in response.headers:
                    del response.headers[header]
        return response


# ---------------------------------------------------------------- static files: versioned URLs

def asset_versions(directory: Path) -> dict[str, str]:
    """`{"css/app.css": "<10 hex digits of its sha256>", ...}` for every file under `directory`."""
    versions = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            versions[path.relative_to(directory).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
    return versions


@pass_context
def static_url(context: Any, path: str) -> str:
    """The Jinja global `static_url('js/app.js')`: the file's URL with its version."""
    request = context["request"]
    relative = path.lstrip("/")
    url = request.app.route_reverse(STATIC_NAME, file_path="/" + relative)
    version = request.app.state.static_versions.get(relative)
    return f"{url}?{VERSION_PARAM}={version}" if version else url


def static_cache_control(versions: dict[str, str]):
    """The before_send hook: how long a browser may keep a static file (see the module's doc)."""
    prefix = STATIC_PATH + "/"

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or not scope.get("path", "").startswith(prefix):
            return
        if message["status"] != 200:
            return
        relative = scope["path"][len(prefix):]
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(VERSION_PARAM, [None])[0]
        current = versions.get(relative)
        headers = MutableScopeHeaders.from_message(message)
        headers["Cache-Control"] = IMMUTABLE if current and asked == current else SHORT

    return before_send
