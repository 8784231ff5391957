"""The security headers of every response, in one place (a Litestar `before_send` hook).

- Content-Security-Policy: scripts, styles, images, fetches only from the site itself, plus the
  map's tile server for images, and for fetches in the service worker's own CSP (the one on
  /sw.js: it fetches the walk's tiles and passes the map's tile requests on, static/js/sw.js;
  pages have no need, and every feed poll would carry the longer header); inline scripts only
  with this response's nonce (`csp_nonce()` in templates: folium's map script); no framing
  (`frame-ancestors 'none'`), no plugins.
  Styles allow 'unsafe-inline': the templates colour tiles, badges and legends with `style="--c: …"`
  attributes, and Leaflet positions its panes with inline styles; a style cannot run code.
- X-Content-Type-Options: nosniff (uploaded photos are never read as HTML or script),
  X-Frame-Options: DENY (browsers without frame-ancestors), Referrer-Policy:
  strict-origin-when-cross-origin: join links carry their secret in the path, so another site gets
  the site's origin only, never a path; and the tile server gets that origin, which is how a web
  map identifies itself to it (OpenStreetMap's tile policy asks for a Referer and forbids a policy
  that suppresses it: a page cannot set its User-Agent). Permissions-Policy: camera and
  geolocation for the site only.
- Strict-Transport-Security on https responses.
- Cache-Control: no-store on every answer to a signed-in staff user but static files, so staff pages
  never rest in a browser or service worker cache (static/js/sw.js honours it).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from jinja2 import pass_context
from litestar.datastructures import MutableScopeHeaders
from litestar.types import Message, Scope

from .caching import STATIC_PATH
from .urls import url

NONCE_KEY = "walkapp.csp_nonce"
HSTS = "max-age=31536000"
# The static files' mount (app.py); with the service worker, the answers that are the same for
# everyone and may be cached, even for staff.


def tiles_source(tiles_url: str) -> str:
    """The CSP source of the tile server: its scheme and host, a `{s}`-style subdomain placeholder
    as a wildcard (https://{s}.tile.openstreetmap.org/... -> https://*.tile.openstreetmap.org).
    A relative URL (tiles served by this site) needs nothing beyond 'self'."""
    parts = urlsplit(tiles_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    labels = ["*" if "{" in label else label for label in parts.netloc.split(".")]
    return f"{parts.scheme}://{'.'.join(labels)}"


def content_security_policy(tiles_url: str, nonce: str | None, worker: bool = False) -> str:
    """`worker`: the service worker's, which fetches from the tile server too."""
    script = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    tiles = tiles_source(tiles_url)
    images = " ".join(filter(None, ["'self'", "data:", "blob:", tiles]))
    fetches = " ".join(filter(None, ["'self'", tiles if worker else ""]))
    return "; ".join([
        "default-src 'self'",
        f"script-src {script}",
        "style-src 'self' 'unsafe-inline'",
        f"img-src {images}",
        f"connect-src {fetches}",
        "font-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def request_nonce(scope: Scope) -> str:
    """This request's nonce, made when a template first asks for it."""
    nonce = scope.get(NONCE_KEY)  # type: ignore[call-overload]
    if nonce is None:
        nonce = scope[NONCE_KEY] = secrets.token_urlsafe(18)  # type: ignore[literal-required]
    return nonce


@pass_context
def csp_nonce(context) -> str:
    """`<script nonce="{{ csp_nonce() }}">`: the one way an inline script runs."""
    return request_nonce(context["request"].scope)


def security_headers(tiles_url: str):
    """The before_send hook, for the app's tile server."""
    worker = url("service_worker")
    shared = (STATIC_PATH + "/", worker)

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope["type"] != "http":
            return
        headers = MutableScopeHeaders.from_message(message)
        headers["Content-Security-Policy"] = content_security_policy(
            tiles_url, scope.get(NONCE_KEY), scope.get("path") == worker)  # type: ignore[call-overload]
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        headers["Permissions-Policy"] = "camera=(self), geolocation=(self), microphone=(), payment=(), usb=()"
        if scope.get("scheme") == "https":
            headers["Strict-Transport-Security"] = HSTS
        if scope.get("user") is not None and not scope.get("path", "").startswith(shared):
            headers["Cache-Control"] = "no-store"

    return before_send
