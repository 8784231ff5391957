"""What the OpenAPI schema (/schema/openapi.json) says beyond what Litestar reads from the handlers.

Why a second pass over the generated schema instead of typed handler parameters: the handlers
read their forms and query strings themselves, to refuse bad input in French with our error codes;
declaring a typed body would make Litestar validate it first, with its own English 400s. So the
inputs are described here, and `document()` checks at start-up that each described operation still
exists (a renamed route fails the suite instead of leaving the schema silently wrong).

The error responses follow the same rule as the errors themselves (web.py): the route's
`opt[ERRORS_OPT]` decides the shape, so the schema can't promise one shape and the handler send
another. Litestar's default `{status_code, detail, extra}` is never what we send: it is replaced.
"""

from __future__ import annotations

from collections.abc import Iterable

from litestar import Litestar
from litestar.openapi.spec import (
    Components,
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)
from litestar.openapi.spec.security_scheme import SecurityScheme
from litestar.routes import HTTPRoute

from . import gusp
from .errors import SENTENCES
from .observations.schemas import MAX_PHOTOS
from .observations.schemas import MAX_DESCRIPTION, MAX_STREET
from .ogc import services as ogc
from .web import ERRORS_OPT, JSON, OPEN311

READS = ("GET", "HEAD")
# The statuses each kind of operation may answer with an error (PRODUCT.md lists the API's).
API_READ_ERRORS = (400, 401, 403, 404)
API_WRITE_ERRORS = (400, 401, 403, 404, 409, 413, 415, 422)
OPEN311_READ_ERRORS = (400, 403, 404)
OPEN311_WRITE_ERRORS = (400, 403, 404, 409, 413, 415, 422)  # 409: a planned walk; 415, 422: a media photo

BEARER = "participant"


def _string(description: str = "", **kwargs) -> Schema:
    return Schema(type=OpenAPIType.STRING, description=description or None, **kwargs)


def _enum(kind: str, description: str) -> Schema:
    return _string(description, enum=list(gusp.codes(kind)))


def _number(description: str, low: float, high: float) -> Schema:
    return Schema(type=OpenAPIType.NUMBER, minimum=low, maximum=high, description=description)


def _reference(name: str) -> Reference:
    return Reference(ref=f"#/components/schemas/{name}")


# ---------------------------------------------------------------- error shapes

API_ERROR = Schema(
    type=OpenAPIType.OBJECT,
    description="Erreur de l'API : un code stable pour les programmes, une phrase en français pour les personnes.",
    required=["error", "detail"],
    properties={
        "error": _string("Code de l'erreur (bad_request, unauthorized, invalid, walk_not_open…)."),
        "detail": _string("Ce qui ne va pas, en français.", min_length=1),
        "fields": Schema(type=OpenAPIType.OBJECT, additional_properties=_string(),
                         description="Champ refusé -> message en français (formulaires seulement)."),
    },
    additional_properties=False,
)
OPEN311_ERRORS = Schema(
    type=OpenAPIType.ARRAY,
    description="Erreurs au format GeoReport v2 : une liste de {code, description}.",
    items=Schema(type=OpenAPIType.OBJECT, required=["code", "description"], additional_properties=False,
                 properties={"code": Schema(type=OpenAPIType.INTEGER, description="Le statut HTTP."),
                             "description": _string("Ce qui ne va pas, en français.", min_length=1)}),
)
ERROR_SCHEMAS = {JSON: ("ApiError", API_ERROR), OPEN311: ("Open311Errors", OPEN311_ERRORS)}


def _error_responses(shape: str, method: str, media_types: Iterable[str]) -> dict[str, OpenAPIResponse]:
    name, _ = ERROR_SCHEMAS[shape]
    read = method in READS
    statuses = {JSON: (API_READ_ERRORS, API_WRITE_ERRORS), OPEN311: (OPEN311_READ_ERRORS, OPEN311_WRITE_ERRORS)}
    return {str(status): OpenAPIResponse(
        description=SENTENCES[status],
        content={media: OpenAPIMediaType(schema=_reference(name)) for media in media_types},
    ) for status in statuses[shape][0 if read else 1]}


# ---------------------------------------------------------------- inputs the handlers read themselves

UPLOAD = Schema(
    type=OpenAPIType.OBJECT,
    # The contract's required fields (tests/test_protocol.py); a re-visit (revisit_of) may still
    # leave issue and angle out: it takes the earlier constat's (said in their descriptions).
    required=["client_uuid", "issue", "angle"],
    properties={
        "client_uuid": _string("Clé d'idempotence faite par le téléphone : renvoyer le même constat "
                               "avec le même client_uuid ne le crée pas deux fois.", format="uuid"),
        "issue": _enum("issue", "L'enjeu GUSP. Un constat revu (revisit_of) peut l'omettre : celui du constat revu."),
        "angle": _enum("angle", "L'angle d'analyse. Un constat revu (revisit_of) peut l'omettre : celui du "
                                "constat revu."),
        "polarity": _enum("polarity", "Point faible (negative, par défaut) ou point fort (positive)."),
        "description": _string("Commentaire.", max_length=MAX_DESCRIPTION),
        "lat": _number("Latitude WGS 84 (avec lon).", -90, 90),
        "lon": _number("Longitude WGS 84 (avec lat).", -180, 180),
        "accuracy_m": _number("Précision de la position, en mètres.", 0, 100_000),
        "street": _string("Rue.", max_length=MAX_STREET),
        "stop_id": Schema(type=OpenAPIType.INTEGER, minimum=1, description="Halte de cette marche."),
        "observed_at": _string("Moment du constat, ISO 8601 (sans décalage : UTC).", format="date-time"),
        "revisit_of": Schema(type=OpenAPIType.INTEGER, minimum=1, description=(
            "Marche de suivi : le constat plus ancien que celui-ci revoit (même quartier, une marche "
            "précédente, pas rejeté ; un doublon est revu comme son original). Avec outcome. Sans issue, "
            "angle ni polarity, ceux du constat revu sont repris.")),
        "outcome": _enum("outcome", "Ce qu'est devenu le constat revu : resolu (Résolu), ameliore (Amélioré), "
                                    "inchange (Inchangé), degrade (Dégradé). Avec revisit_of."),
        "photos": Schema(type=OpenAPIType.ARRAY, max_items=MAX_PHOTOS,
                         items=_string(format="binary", content_media_type="image/jpeg"),
                         description=f"Photos (JPEG, PNG, HEIC…), {MAX_PHOTOS} au plus."),
    },
)
UPLOAD_BODY = RequestBody(required=True, content={"multipart/form-data": OpenAPIMediaType(schema=UPLOAD)})


def _query(name: str, schema: Schema, description: str) -> Parameter:
    return Parameter(name=name, param_in="query", required=False, schema=schema, description=description)


def _list_of(words: Iterable[str]) -> str:
    """The pattern of a comma-separated list of these words."""
    one = "(" + "|".join(words) + ")"
    return f"^{one}(,{one})*$"


def _path(name: str, schema: Schema, description: str) -> Parameter:
    return Parameter(name=name, param_in="path", required=True, schema=schema, description=description)


API_KEY = _query("api_key", _string(), "Clé Open311 d'une marche : ajoute ses constats non encore validés.")
GEOJSON_FILTERS = [
    _query("walk", Schema(type=OpenAPIType.INTEGER, minimum=1), "Une marche."),
    _query("neighbourhood", Schema(type=OpenAPIType.INTEGER, minimum=1), "Un quartier."),
    _query("issue", _enum("issue", ""), "Un enjeu."),
    _query("angle", _enum("angle", ""), "Un angle d'analyse."),
    _query("polarity", _enum("polarity", ""), "Point faible ou point fort."),
    _query("status", _string(pattern=f"^(all|{_list_of(gusp.codes('observation_status'))[1:-1]})$"),
           "Statuts séparés par des virgules, ou all. Par défaut new,validated : comme sur la carte, les "
           "constats rejetés et les doublons n'y sont que sur demande."),
    _query("du", _string(format="date"), "Marches à partir de cette date (aaaa-mm-jj ou jj/mm/aaaa)."),
    _query("au", _string(format="date"), "Marches jusqu'à cette date."),
    _query("revu", _string(enum=["oui", "non", *gusp.codes("outcome")]),
           "Marche de suivi : oui (constats revus), non (pas encore revus), ou une évolution (resolu, "
           "ameliore, inchange, degrade : celle du dernier constat qui les revoit)."),
]
# The map's view (walkapp.review.clusters): a 400 for a box or a zoom that can't be one.
CLUSTER_VIEW = [
    Parameter(name="bbox", param_in="query", required=True, description=(
        "La vue : ouest,sud,est,nord en degrés WGS 84 (Leaflet : getBounds().toBBoxString()), au plus "
        "4096 pixels de côté à ce zoom."), schema=_string(pattern=r"^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$")),
    Parameter(name="zoom", param_in="query", required=True, description=(
        "Le zoom de la carte (0 à 22) : des groupes jusqu'à 18, chaque constat à part à partir de 19 (s'il y en a "
        "400 au plus dans la vue)."), schema=Schema(type=OpenAPIType.INTEGER, minimum=0, maximum=22)),
    *GEOJSON_FILTERS,
]
OPEN311_FILTERS = [
    _query("service_request_id", _string(pattern=r"^[0-9]+(,[0-9]+)*$"),
           "Numéros de constats séparés par des virgules (ignore les autres filtres)."),
    _query("service_code", _string(pattern=_list_of(gusp.codes("issue"))), "Enjeux séparés par des virgules."),
    _query("start_date", _string(format="date-time"), "Constats à partir de ce moment (W3C)."),
    _query("end_date", _string(format="date-time"), "Constats jusqu'à ce moment (W3C)."),
    _query("status", _string(pattern=_list_of(("open", "closed"))),
           "open, closed, ou les deux séparés par une virgule."),
    _query("page", Schema(type=OpenAPIType.INTEGER, minimum=1), "Page (1 par défaut)."),
    _query("page_size", Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=1000), "Taille de page."),
    API_KEY,
]
OPEN311_POST = Schema(
    type=OpenAPIType.OBJECT,
    required=["api_key", "service_code"],
    properties={
        "api_key": _string("Clé Open311 de la marche où va le constat."),
        "service_code": _enum("issue", "L'enjeu (voir services)."),
        "lat": _number("Latitude (avec long).", -90, 90),
        "long": _number("Longitude (avec lat).", -180, 180),
        "address_string": _string("Adresse, si pas de lat/long.", max_length=MAX_STREET),
        "address_id": _string("Identifiant d'adresse, si pas de lat/long."),
        "description": _string("Commentaire.", max_length=MAX_DESCRIPTION),
        "attribute[angle]": _enum("angle", "L'angle d'analyse (gestion par défaut)."),
        "attribute[polarity]": _enum("polarity", "Point faible (par défaut) ou point fort."),
        "media_url": _string("Adresse d'une photo, recopiée dans le commentaire.", format="uri"),
    },
)
OPEN311_MULTIPART = Schema(
    type=OpenAPIType.OBJECT, required=OPEN311_POST.required,
    properties={**OPEN311_POST.properties, "media": Schema(
        type=OpenAPIType.ARRAY, max_items=MAX_PHOTOS, items=_string(format="binary", content_media_type="image/jpeg"),
        description=f"Photos (JPEG, PNG, HEIC…), {MAX_PHOTOS} au plus : floutées avant d'être montrées.")})
OPEN311_POST_BODY = RequestBody(required=True, content={
    "application/x-www-form-urlencoded": OpenAPIMediaType(schema=OPEN311_POST),
    "multipart/form-data": OpenAPIMediaType(schema=OPEN311_MULTIPART)})

SERVICE_NAME = _path("name", _string(enum=[f"{code}.{fmt}" for code in gusp.codes("issue") for fmt in ("json", "xml")]),
                     "L'enjeu, suivi du format : dechets.json, dechets.xml…")
REQUEST_NAME = _path("name", _string(pattern=r"^[1-9][0-9]{0,9}\.(json|xml)$"),
                     "Le numéro du constat, suivi du format : 12.json, 12.xml.")

OGC_FORMAT = _query("f", _string(enum=["json"]), "Format : json (le seul servi).")
OGC_ITEMS = [
    _query("bbox", _string(pattern=r"^[^,]+(,[^,]+){3}([^,]*,[^,]+){0,2}$"),
           "Zone ouest,sud,est,nord en degrés décimaux (CRS84 : longitude, latitude)."),
    _query("bbox-crs", _string(enum=[ogc.CRS84]), "Système de la zone : CRS84 seulement."),
    _query("crs", _string(enum=[ogc.CRS84]), "Système des coordonnées : CRS84 seulement."),
    _query("datetime", _string(), "Moment du constat : un instant ou une date (2026-11-25, 2026-11-25T14:30:00Z), "
                                  "ou un intervalle début/fin, « .. » pour une borne ouverte."),
    _query("limit", Schema(type=OpenAPIType.INTEGER, minimum=1, maximum=ogc.MAX_LIMIT, default=ogc.DEFAULT_LIMIT),
           f"Constats par page ({ogc.DEFAULT_LIMIT} par défaut ; au-delà de {ogc.MAX_LIMIT}, {ogc.MAX_LIMIT})."),
    _query("offset", Schema(type=OpenAPIType.INTEGER, minimum=0, default=0),
           "Rang du premier constat de la page (le lien « next » le donne)."),
    OGC_FORMAT,
    *GEOJSON_FILTERS,
]
OGC_COLLECTION = _path("collection_id", _string(enum=[ogc.COLLECTION]), "La collection : constats (la seule).")
OGC_FEATURE = _path("feature_id", _string(pattern=r"^[1-9][0-9]{0,9}$"), "Le numéro du constat.")

# (method, path) -> what to add to the generated operation (a parameter replaces its namesake).
INPUTS: dict[tuple[str, str], dict] = {
    ("POST", "/api/v1/walks/{walk_id}/observations"): {"request_body": UPLOAD_BODY},
    ("GET", "/api/v1/observations.geojson"): {"parameters": GEOJSON_FILTERS},
    ("GET", "/api/v1/observations/clusters"): {"parameters": CLUSTER_VIEW},
    ("GET", "/open311/v2/requests.json"): {"parameters": OPEN311_FILTERS},
    ("GET", "/open311/v2/requests.xml"): {"parameters": OPEN311_FILTERS},
    ("GET", "/open311/v2/services/{name}"): {"parameters": [SERVICE_NAME]},
    ("GET", "/open311/v2/requests/{name}"): {"parameters": [REQUEST_NAME, API_KEY]},
    ("POST", "/open311/v2/requests.json"): {"request_body": OPEN311_POST_BODY},
    ("POST", "/open311/v2/requests.xml"): {"request_body": OPEN311_POST_BODY},
    ("GET", "/ogc"): {"parameters": [OGC_FORMAT]},
    ("GET", "/ogc/api"): {"parameters": [OGC_FORMAT]},
    ("GET", "/ogc/conformance"): {"parameters": [OGC_FORMAT]},
    ("GET", "/ogc/collections"): {"parameters": [OGC_FORMAT]},
    ("GET", "/ogc/collections/{collection_id}"): {"parameters": [OGC_COLLECTION, OGC_FORMAT]},
    ("GET", "/ogc/collections/{collection_id}/items"): {"parameters": [OGC_COLLECTION, *OGC_ITEMS]},
    ("GET", "/ogc/collections/{collection_id}/items/{feature_id}"): {
        "parameters": [OGC_COLLECTION, OGC_FEATURE, OGC_FORMAT]},
}


# ---------------------------------------------------------------- the pass over the schema

def _operations(app: Litestar, openapi: OpenAPI) -> Iterable[tuple[str, str, Operation, dict]]:
    """(method, path, operation, route opt) of each operation the schema shows."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        path_item = (openapi.paths or {}).get(route.path_format or "/")
        if path_item is None:
            continue
        for method, (handler, _) in route.route_handler_map.items():
            operation = getattr(path_item, method.lower(), None)
            if isinstance(operation, Operation):
                yield method, route.path_format, operation, handler.opt


def _media_types(shape: str, path: str) -> list[str]:
    """What the errors of a route are written in: JSON for the API; Open311 answers in the format
    its URL ends with (`…/requests/{name}` ends with either)."""
    if shape == JSON or path.endswith(".json"):
        return ["application/json"]
    return ["text/xml"] if path.endswith(".xml") else ["application/json", "text/xml"]


def _open311_success(operation: Operation, media_types: list[str]) -> None:
    """Litestar documents a Response as JSON; an Open311 .xml URL answers XML."""
    for status, response in (operation.responses or {}).items():
        if status.startswith("2") and isinstance(response, OpenAPIResponse) and response.content:
            schema = next(iter(response.content.values())).schema
            response.content = {media: OpenAPIMediaType(schema=schema) for media in media_types}


def document(app: Litestar) -> OpenAPI:
    """Completes the app's generated schema in place (Litestar serves the object it keeps)."""
    openapi = app.openapi_schema
    components = openapi.components if isinstance(openapi.components, Components) else Components()
    components.schemas = {**(components.schemas or {}), **dict(ERROR_SCHEMAS.values())}
    components.security_schemes = {**(components.security_schemes or {}), BEARER: SecurityScheme(
        type="http", scheme="bearer",
        description="Le jeton de participant reçu en rejoignant la marche, ou un jeton de lecture personnel "
                    "(wrt.…, page « Mon compte » ou walkapp createtoken) : il lit avec les droits de son "
                    "propriétaire et ne modifie rien.")}
    openapi.components = components
    found = set()
    for method, path, operation, opt in _operations(app, openapi):
        shape = opt.get(ERRORS_OPT)
        if shape in ERROR_SCHEMAS:
            responses = {k: v for k, v in (operation.responses or {}).items() if not k.startswith("4")}
            media_types = _media_types(shape, path)
            if shape == OPEN311:
                _open311_success(operation, media_types)
            responses.update(_error_responses(shape, method, media_types))
            operation.responses = responses
        if shape == JSON:
            # A Bearer token, or the participant's session cookie; some reads are public.
            operation.security = [{BEARER: []}, {}]
        extra = INPUTS.get((method, path))
        if extra:
            found.add((method, path))
            operation.request_body = extra.get("request_body", operation.request_body)
            added = extra.get("parameters", [])
            names = {(p.name, p.param_in) for p in added}
            kept = [p for p in operation.parameters or [] if (p.name, p.param_in) not in names]
            operation.parameters = [*kept, *added] or None
    missing = set(INPUTS) - found
    if missing:
        raise RuntimeError(f"openapi.INPUTS names operations the app no longer has: {sorted(missing)}")
    return openapi
