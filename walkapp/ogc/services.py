"""OGC API - Features, Part 1 (Core, GeoJSON): the documents of /ogc/ and the reading of `items`'
query parameters. The controllers only ask here.

What a GIS officer gets: one collection, `constats`, whose items are the same Features as the
API's GeoJSON (walkapp.observations.features), filtered by what the reader may see (policy "map.see"
and the map's scope), then by `bbox`, `datetime` and the map's own filters (walk, neighbourhood,
issue, angle, polarity, status, du, au, revu), paged by `limit` and `offset` with a `next` link.
Decisions:
- Order: constat number (id) ascending, so a page stays the same page while new constats arrive
  (they go at the end).
- `limit`: DEFAULT_LIMIT when absent; above MAX_LIMIT it is MAX_LIMIT (the standard says a larger
  limit is not an error); below 1 or not a number is a 400.
- `datetime` is the constat's time: observed_at (the phone's), else received_at. An instant, a
  closed interval, or an open one (`../end`, `start/..`, or an empty side). A date alone is the
  whole day, in the site's zone (WALKAPP_TIMEZONE); a time without offset is the site's time.
- A parameter the API does not define, a repeated one or a bad value is a 400 with a French
  sentence (requirement /req/core/query-param-invalid and -unknown), never ignored: a filter
  dropped silently would show a GIS layer that isn't what was asked.
- Coordinates: CRS84 only (longitude, latitude); `bbox-crs` and `crs` are accepted when they say so.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from piccolo.query import Max, Min

from .. import clock
from ..errors import BadRequest
from ..observations.filters import ObservationFilter, all_of
from ..tables import Observation
from ..urls import absolute, query_string
from ..validation import clean_text, instant, parse_int

COLLECTION = "constats"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_CRS84_NAMES = {CRS84, CRS84.replace("http://", "https://"), "[OGC:CRS84]", "OGC:CRS84"}
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
CONFORMANCE = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_OFFSET = 10**9
JSON_TYPE = "application/json"
# The definition is OpenAPI 3.1 (Litestar's), served as plain JSON: GDAL accepts application/json
# or the 3.0 media type only, and 3.0 it is not.
API_TYPE = "application/vnd.oai.openapi+json;version=3.1"
GEOJSON_TYPE = "application/geo+json"
FILTER_NAMES = ("walk", "neighbourhood", "issue", "angle", "polarity", "status", "du", "au", "revu")
DOCUMENT_PARAMS = frozenset({"f"})
ITEMS_PARAMS = frozenset({"f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", *FILTER_NAMES})
ITEM_PARAMS = frozenset({"f", "crs"})
TITLE = "walkapp : constats du diagnostic en marchant"


# ---------------------------------------------------------------- parameters

def check_params(params: Any, allowed: frozenset[str]) -> dict[str, str]:
    """The query string as one value per name; a 400 for an unknown name, a repeated one, `f`
    other than json, or a CRS other than CRS84."""
    names = list(dict.fromkeys(params.keys()))  # a MultiDict names a repeated key once per value
    values: dict[str, str] = {}
    for name in names:
        if name not in allowed:
            known = ", ".join(sorted(allowed))
            raise BadRequest(f"Paramètre inconnu « {clean_text(name, max_length=40)} » : ceux de cette adresse "
                             f"sont {known}.", code="unknown_parameter")
        many = params.getall(name) if hasattr(params, "getall") else [params[name]]
        if len(many) > 1:
            raise BadRequest(f"Paramètre « {name} » donné plusieurs fois : une seule valeur.")
        values[name] = clean_text(many[0], max_length=200)
    if values.get("f", "json").lower() != "json":
        raise BadRequest("Paramètre « f » : seul le format json est servi (GeoJSON pour les constats).")
    for name in ("crs", "bbox-crs"):
        if name in values and values[name] not in _CRS84_NAMES:
            raise BadRequest(f"Paramètre « {name} » : seul {CRS84} (longitude, latitude en WGS 84) est servi.")
    return values


@dataclass(frozen=True)
class ItemsQuery:
    filter: ObservationFilter
    limit: int
    offset: int
    bbox: tuple[float, float, float, float] | None
    interval: tuple[dt.datetime | None, dt.datetime | None] | None  # inclusive start, exclusive end

    def where(self) -> Any:
        clauses = [c for c in (self.filter.where(), bbox_where(self.bbox), time_where(self.interval)) if c is not None]
        return all_of(clauses)


def parse_items(values: Mapping[str, str]) -> ItemsQuery:
    chosen, errors = ObservationFilter.from_query({k: v for k, v in values.items() if k in FILTER_NAMES})
    if errors:
        raise BadRequest(" ".join(errors.values()))
    return ItemsQuery(chosen, parse_limit(values.get("limit")), parse_offset(values.get("offset")),
                      parse_bbox(values.get("bbox")), parse_datetime(values.get("datetime")))


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    number = parse_int(raw, low=1, high=10**12)
    if number is None:
        raise BadRequest(f"Paramètre « limit » : un nombre entier de 1 à {MAX_LIMIT} est attendu.")
    return min(number, MAX_LIMIT)


def parse_offset(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    number = parse_int(raw, low=0, high=MAX_OFFSET)
    if number is None:
        raise BadRequest("Paramètre « offset » : un nombre entier positif ou nul est attendu.")
    return number


def parse_bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    """`minLon,minLat,maxLon,maxLat` (or six numbers, with heights, ignored). West may exceed
    east: the box then crosses the antimeridian."""
    if raw is None or raw == "":
        return None
    parts = raw.split(",")
    problem = "quatre nombres attendus : ouest,sud,est,nord (longitudes et latitudes en degrés décimaux)."
    if len(parts) not in (4, 6):
        raise BadRequest(f"Paramètre « bbox » : {problem}")
    try:
        numbers = [float(p.strip()) for p in parts]
    except ValueError:
        raise BadRequest(f"Paramètre « bbox » : {problem}") from None
    if not all(math.isfinite(n) for n in numbers):
        raise BadRequest(f"Paramètre « bbox » : {problem}")
    west, south, east, north = (numbers[0], numbers[1], numbers[3], numbers[4]) if len(numbers) == 6 else numbers
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90):
        raise BadRequest("Paramètre « bbox » : longitudes entre -180 et 180, latitudes entre -90 et 90.")
    if south > north:
        raise BadRequest("Paramètre « bbox » : la latitude sud doit être inférieure ou égale à la latitude nord.")
    return west, south, east, north


def bbox_where(bbox: tuple[float, float, float, float] | None) -> Any:
    if bbox is None:
        return None
    west, south, east, north = bbox
    lat = (Observation.lat >= south) & (Observation.lat <= north)
    if west <= east:
        return lat & (Observation.lon >= west) & (Observation.lon <= east)
    return lat & ((Observation.lon >= west) | (Observation.lon <= east))  # across the antimeridian


def _day_start(day: dt.date) -> dt.datetime:
    return clock.assume_local(dt.datetime.combine(day, dt.time()))


def _moment(raw: str) -> tuple[dt.datetime, dt.datetime]:
    """One side of `datetime`: (its first instant, the instant just after it): a day, or a date-time."""
    if raw.upper().endswith("T") and len(raw) == 11:
        raw = raw[:-1]  # a day written "2026-11-25T" (GDAL writes a date filter so)
    if "T" not in raw.upper():
        try:
            day = dt.date.fromisoformat(raw)
            return _day_start(day), _day_start(day + dt.timedelta(days=1))
        except (ValueError, OverflowError):
            raise BadRequest("Paramètre « datetime » : une date (2026-11-25), une date-heure RFC 3339 "
                             "(2026-11-25T14:30:00Z) ou un intervalle début/fin (« .. » pour ouvert).") from None
    errors: dict[str, str] = {}
    value = instant(errors, "datetime", raw.replace("t", "T").replace("z", "Z"), "Paramètre « datetime »",
                    bounded=False)
    if value is None:
        raise BadRequest(errors["datetime"])
    try:
        return value, value + dt.timedelta(microseconds=1)
    except OverflowError:
        raise BadRequest("Paramètre « datetime » : cette date est hors du calendrier.") from None


def parse_datetime(raw: str | None) -> tuple[dt.datetime | None, dt.datetime | None] | None:
    """`datetime` as [start, end): None when absent (or fully open)."""
    if raw is None or raw == "":
        return None
    if "/" not in raw:
        return _moment(raw)
    first, _, second = raw.partition("/")
    if "/" in second:
        raise BadRequest("Paramètre « datetime » : un intervalle a deux bornes, début/fin.")
    start = _moment(first)[0] if first not in ("", "..") else None
    end = _moment(second)[1] if second not in ("", "..") else None
    if start is not None and end is not None and start >= end:
        raise BadRequest("Paramètre « datetime » : le début de l'intervalle doit précéder sa fin.")
    return (start, end) if start is not None or end is not None else None


def time_where(interval: tuple[dt.datetime | None, dt.datetime | None] | None) -> Any:
    """The constat's time (observed_at, else received_at) within [start, end)."""
    if interval is None:
        return None
    start, end = interval
    clauses = []
    observed, received = Observation.observed_at, Observation.received_at
    if start is not None:
        clauses.append((observed >= start) | (observed.is_null() & (received >= start)))
    if end is not None:
        clauses.append((observed < end) | (observed.is_null() & (received < end)))
    return all_of(clauses)


# ---------------------------------------------------------------- documents

def link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


def landing(base_url: str) -> dict[str, Any]:
    return {
        "title": TITLE,
        "description": "OGC API - Features des constats (enjeu, angle, point faible ou fort, photos), pour QGIS "
                       "et les autres SIG. Lecture avec une session ou un jeton de lecture personnel "
                       "(Authorization: Bearer), créé sur la page « Mon compte ».",
        "links": [
            link(absolute(base_url, "ogc.landing"), "self", JSON_TYPE, "Cette page"),
            link(absolute(base_url, "ogc.conformance"), "conformance", JSON_TYPE, "Classes de conformité"),
            link(absolute(base_url, "ogc.collections"), "data", JSON_TYPE, "Les collections"),
            link(absolute(base_url, "ogc.api"), "service-desc", API_TYPE, "Définition de l'API (OpenAPI)"),
        ],
    }


def api_definition(app_schema: dict[str, Any], base_url: str) -> dict[str, Any]:
    """The OpenAPI definition of /ogc/ alone, its paths relative to /ogc (what OGC clients
    expect: GDAL looks up `/collections/constats/items` to learn which query parameters filter on
    the server), taken from the app's own schema (walkapp.openapi documents the parameters)."""
    prefix = absolute(base_url, "ogc.landing")
    root = prefix[len(base_url.rstrip("/")):]
    paths: dict[str, Any] = {}
    for path, item in app_schema.get("paths", {}).items():
        if path == root or path.startswith(root + "/"):
            relative = path[len(root):] or "/"
            paths[relative.replace("{collection_id}", COLLECTION)] = item
    return {"openapi": app_schema.get("openapi", "3.1.0"),
            "info": {"title": TITLE, "version": "1.0"},
            "servers": [{"url": prefix}], "paths": paths, "components": app_schema.get("components", {})}


def conformance() -> dict[str, Any]:
    return {"conformsTo": list(CONFORMANCE)}


async def extent(where: Any) -> dict[str, Any] | None:
    """Where and when the constats `where` selects are: CRS84 box and time interval (None when there is none)."""
    located = Observation.lat.is_not_null() & Observation.lon.is_not_null()
    box = await Observation.select(
        Min(Observation.lon, alias="w"), Min(Observation.lat, alias="s"), Max(Observation.lon, alias="e"),
        Max(Observation.lat, alias="n")).where(all_of([c for c in (where, located) if c is not None]))
    times = []
    for column, condition in ((Observation.observed_at, Observation.observed_at.is_not_null()),
                              (Observation.received_at, Observation.observed_at.is_null())):
        found = await Observation.select(Min(column, alias="first"), Max(column, alias="last")).where(
            all_of([c for c in (where, condition) if c is not None]))
        times += [clock.as_utc(v) for v in (found[0].values() if found else []) if v is not None]
    values = [box[0][k] for k in "wsen"] if box else []
    result: dict[str, Any] = {}
    if values and None not in values:
        result["spatial"] = {"bbox": [[float(v) for v in values]], "crs": CRS84}
    if times:
        result["temporal"] = {"interval": [[_utc_text(min(times)), _utc_text(max(times))]], "trs": TRS}
    return result or None


def _utc_text(value: dt.datetime) -> str:
    return value.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def collection(base_url: str, box: dict[str, Any] | None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": COLLECTION,
        "title": "Constats",
        "description": "Les constats des diagnostics en marchant : un point par constat, l'enjeu, l'angle "
                       "d'analyse, point faible ou fort, le statut, chacun en code et en libellé, et leurs photos "
                       "(photo_url, photo_urls). Filtres : bbox, datetime (moment du constat), limit, offset, et "
                       "ceux de la carte : walk, neighbourhood, issue, angle, polarity, status, du, au, revu.",
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            link(absolute(base_url, "ogc.collection", collection_id=COLLECTION), "self", JSON_TYPE,
                  "Cette collection"),
            link(absolute(base_url, "ogc.items", collection_id=COLLECTION), "items", GEOJSON_TYPE,
                  "Les constats (GeoJSON)"),
        ],
    }
    if box:
        document["extent"] = box
    return document


def collections(base_url: str, one: dict[str, Any]) -> dict[str, Any]:
    return {"links": [link(absolute(base_url, "ogc.collections"), "self", JSON_TYPE, "Les collections")],
            "collections": [one]}


def page_links(base_url: str, values: Mapping[str, str], query: ItemsQuery, returned: int,
               matched: int) -> list[dict[str, str]]:
    """self, and next / prev when there are more pages: the same parameters, another offset."""
    items = absolute(base_url, "ogc.items", collection_id=COLLECTION)

    def at(offset: int) -> str:
        kept = {k: v for k, v in values.items() if k not in ("offset", "limit")}
        return items + query_string({**kept, "limit": query.limit, "offset": offset or None})

    links = [link(at(query.offset), "self", GEOJSON_TYPE, "Cette page")]
    if query.offset + returned < matched:
        links.append(link(at(query.offset + query.limit), "next", GEOJSON_TYPE, "Page suivante"))
    if query.offset > 0:
        links.append(link(at(max(0, query.offset - query.limit)), "prev", GEOJSON_TYPE, "Page précédente"))
    return links


def time_stamp() -> str:
    return _utc_text(clock.now())
