"""OGC API - Features at /ogc/ (walkapp.ogc.services says what and why), and the QGIS style of
the constats layer at /carte/constats.qml.

Who reads (walkapp.policy "map.see"): staff, with their session or a personal read token
(`Authorization: Bearer wrt.…`, walkapp.accounts.tokens), and participants for the walks they
joined, as on the map. Errors are the API's JSON `{error, detail}`.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, route
from litestar.params import FromPath

from ..errors import NotFound
from ..observations import features
from ..observations.filters import ObservationFilter, apply
from ..policy import actor_of, allowed, can, visible_walk_ids
from ..tables import Observation
from ..urls import absolute
from ..validation import parse_id
from ..web import ERRORS_OPT, JSON
from . import qml, services
from .services import COLLECTION, GEOJSON_TYPE, JSON_TYPE


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _collection_named(collection_id: str) -> None:
    if collection_id != COLLECTION:
        raise NotFound(f"Collection inconnue : la seule collection est « {COLLECTION} ».")


def _visible(request: Request) -> set[int] | None:
    return visible_walk_ids(actor_of(request))


class OgcController(Controller):
    path = "/ogc"
    tags = ["OGC API - Features"]
    guards = [allowed("map.see")]
    opt = {ERRORS_OPT: JSON}

    @get("/", name="ogc.landing", summary="Page d'accueil OGC API - Features (liens)", media_type=JSON_TYPE)
    async def landing(self, request: Request) -> dict[str, Any]:
        services.check_params(request.query_params, services.DOCUMENT_PARAMS)
        return services.landing(_base(request))

    @get("/api", name="ogc.api", summary="Définition OpenAPI de l'OGC API (service-desc)", media_type=JSON_TYPE)
    async def api(self, request: Request) -> dict[str, Any]:
        services.check_params(request.query_params, services.DOCUMENT_PARAMS)
        return services.api_definition(request.app.openapi_schema.to_schema(), _base(request))

    @get("/conformance", name="ogc.conformance", summary="Classes de conformité (Core, GeoJSON)",
         media_type=JSON_TYPE)
    async def conformance(self, request: Request) -> dict[str, Any]:
        services.check_params(request.query_params, services.DOCUMENT_PARAMS)
        return services.conformance()

    @get("/collections", name="ogc.collections", summary="Les collections (une : constats)", media_type=JSON_TYPE)
    async def collections(self, request: Request) -> dict[str, Any]:
        services.check_params(request.query_params, services.DOCUMENT_PARAMS)
        return services.collections(_base(request), await self._collection(request))

    @get("/collections/{collection_id:str}", name="ogc.collection", summary="La collection des constats (étendue)",
         media_type=JSON_TYPE)
    async def collection(self, request: Request, collection_id: FromPath[str]) -> dict[str, Any]:
        _collection_named(collection_id)
        services.check_params(request.query_params, services.DOCUMENT_PARAMS)
        return await self._collection(request)

    async def _collection(self, request: Request) -> dict[str, Any]:
        default = ObservationFilter().within(_visible(request))
        return services.collection(_base(request), await services.extent(default.where()))

    @get("/collections/{collection_id:str}/items", name="ogc.items", media_type=GEOJSON_TYPE,
         summary="Les constats en GeoJSON : bbox, datetime, limit, offset et les filtres de la carte")
    async def items(self, request: Request, collection_id: FromPath[str]) -> Response:
        _collection_named(collection_id)
        values = services.check_params(request.query_params, services.ITEMS_PARAMS)
        query = services.parse_items(values)
        query = services.ItemsQuery(query.filter.within(_visible(request)), query.limit, query.offset, query.bbox,
                                    query.interval)
        where = query.where()
        matched = await (Observation.count().where(where) if where is not None else Observation.count())
        rows = await apply(features.constat_select(), where).order_by(Observation.id).limit(
            query.limit).offset(query.offset)
        body = {
            "type": "FeatureCollection",
            "features": await features.web_features(rows, _base(request), actor_of(request)),
            "numberMatched": matched,
            "numberReturned": len(rows),
            "timeStamp": services.time_stamp(),
            "links": services.page_links(_base(request), values, query, len(rows), matched),
        }
        return Response(body, media_type=GEOJSON_TYPE)

    @get("/collections/{collection_id:str}/items/{feature_id:str}", name="ogc.item", media_type=GEOJSON_TYPE,
         summary="Un constat en GeoJSON")
    async def item(self, request: Request, collection_id: FromPath[str], feature_id: FromPath[str]) -> Response:
        _collection_named(collection_id)
        services.check_params(request.query_params, services.ITEM_PARAMS)
        number = parse_id(feature_id)
        row = await features.constat_select().where(Observation.id == number).first() if number else None
        if row is None or not can(actor_of(request), "constat.see", row):
            raise NotFound("Ce constat n'existe pas, ou vous ne pouvez pas le voir.")
        found = (await features.web_features([row], _base(request), actor_of(request)))[0]
        found["links"] = [
            services.link(str(request.url), "self", GEOJSON_TYPE, "Ce constat"),
            services.link(absolute(_base(request), "ogc.collection", collection_id=COLLECTION),
                           "collection", JSON_TYPE, "La collection des constats"),
        ]
        return Response(found, media_type=GEOJSON_TYPE)

    @route("/{rest:path}", name="ogc.unknown", http_method=["GET", "POST", "PUT", "PATCH", "DELETE"],
           include_in_schema=False)
    async def unknown(self, rest: FromPath[str]) -> None:
        raise NotFound("Adresse inconnue de l'OGC API : voir /ogc/ (liens) et /ogc/collections.")


class QgisStyleController(Controller):
    path = "/carte"
    include_in_schema = False

    @get("/constats.qml", name="map.qml", guards=[allowed("map.see")])
    async def style(self) -> Response:
        return Response(qml.constats_style(), media_type="application/xml",
                        headers={"Content-Disposition": 'attachment; filename="constats.qml"'})
