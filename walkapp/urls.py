"""Every URL of the app is built here, from a route name: the route decorators are the only place
that spells a path (PRODUCT.md keeps public URLs stable; this keeps them written once).

Why not `request.app.route_reverse` at each call: services that build URLs (photo URLs in the API,
Open311 media, GeoJSON links, the join link printed by `walkapp demo`) have no request. The paths
belong to the controllers, not to one app instance, so a routing table built once from the same
controllers (walkapp.app.ROUTES) answers for every app and for the command line alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Litestar


_PARAM = re.compile(r"\{(\w+):\w+\}")  # `{walk_id:int}` in a route's path


@cache
def _router() -> Litestar:
    from .app import ROUTES  # imported when first used: the controllers import this module

    return Litestar(route_handlers=ROUTES, openapi_config=None)


@cache
def _paths(route: str) -> tuple[str, ...]:
    """The full paths of the route named `route` (a few routes have two: `.json` and `.xml`).
    Litestar joins the controllers' prefixes; its own route_reverse can't take a path parameter
    called `name` (Open311's), hence `url` fills the paths in itself."""
    index = _router().get_handler_index_by_name(route)
    if index is None:
        raise LookupError(f"no route named {route!r}")
    return tuple(sorted(index["paths"]))


def query_string(query: Mapping[str, Any] | None) -> str:
    """`?a=1&b=2` (url-encoded, empty values left out), or "" when nothing is left."""
    kept = {k: v for k, v in (query or {}).items() if v is not None and v != ""}
    # "/" stays as it is (RFC 3986 allows it in a query): `?suite=/marches/3` reads as it did.
    return f"?{urlencode(kept, doseq=True, safe='/')}" if kept else ""


def url(route: str, /, query: Mapping[str, Any] | None = None, **params: Any) -> str:
    """The path of the route named `route` with its path parameters, plus `query` (templates call
    it as `url('field.page', walk_id=walk.id)`). The first path that takes exactly these
    parameters: `.json` before `.xml`."""
    for path in _paths(route):
        if set(_PARAM.findall(path)) == set(params):
            filled = _PARAM.sub(lambda m: quote(str(params[m.group(1)]), safe=""), path)
            return filled + query_string(query)
    raise LookupError(f"route {route!r} takes other path parameters than {sorted(params)}")


def absolute(base_url: str, route: str, /, query: Mapping[str, Any] | None = None, **params: Any) -> str:
    """The same, after the site's address (`request.base_url`, or `walkapp demo --url`)."""
    return str(base_url).rstrip("/") + url(route, query, **params)


def template(route: str) -> str:
    """Route `route`'s path with `{param}` left in it, for scripts that fill the id themselves
    (a map popup per marker, the outbox's walk): `/carte/popup/{observation_id}`."""
    return _PARAM.sub(r"{\1}", _paths(route)[0])
