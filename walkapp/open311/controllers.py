"""The GeoReport v2 endpoints (/open311/v2/…) and the coordinator's page of API keys
(/open311/cles). The rules (who reads what, status mapping, paging) are in __init__.py."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import File, Template

from ..errors import AppError, NotFound
from ..observations import services as observations
from ..observations.schemas import MAX_UPLOAD_BYTES, read_photos
from ..privacy import services as privacy
from ..storage import media_store
from ..policy import actor_of, allowed, open311_condition, require, with_api_key
from ..tables import Observation, Photo, Walk
from ..urls import absolute, url
from ..validation import clean_text, parse_id
from ..web import ERRORS_OPT, OPEN311, redirect, render
from . import georeport, keys
from .formats import format_of, respond, split_format

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-25T00:00:00+01:00"


async def readable(request: Request):
    """What this request may read (policy "open311.read"): None for everything, else a condition.
    A GET may carry its key in the query string; it adds to the request's other credentials."""
    raw = request.query_params.get("api_key")
    actor = await with_api_key(request, raw, cookies=True) if raw else actor_of(request)
    return open311_condition(actor)


def _and(a, b):
    return b if a is None else a if b is None else a & b


async def _rows(where, page: int = 1, size: int = georeport.MAX_PAGE_SIZE) -> list[dict[str, Any]]:
    query = Observation.select(*Observation.all_columns())
    if where is not None:
        query = query.where(where)
    return await query.order_by(Observation.received_at, Observation.id, ascending=False).limit(size).offset(
        (page - 1) * size)


class GeoReportController(Controller):
    path = "/open311/v2"
    tags = ["Open311"]
    opt = {ERRORS_OPT: OPEN311}

    @get(["/discovery.json", "/discovery.xml"], name="open311.discovery", summary="Open311 : découverte du service")
    async def discovery(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/") + self.path + "/"
        body = {"changeset": CHANGESET, "contact": "", "key_service": absolute(request.base_url, "apikeys.list"),
                "endpoints": [{"specification": SPEC_URL, "url": base, "changeset": CHANGESET,
                               "type": "production", "formats": ["text/xml", "application/json"]}]}
        return respond(format_of(request), "discovery", body)

    @get(["/services.json", "/services.xml"], name="open311.services", summary="Open311 : les sept enjeux")
    async def services(self, request: Request) -> Response:
        return respond(format_of(request), "services", georeport.services())

    @get("/services/{name:str}", name="open311.service", summary="Open311 : définition d'un service (angle, polarité)")
    async def service_definition(self, request: Request, name: FromPath[str]) -> Response:
        code, fmt = split_format(name)
        return respond(fmt, "service_definition", georeport.definition(code))

    @get(["/requests.json", "/requests.xml"], name="open311.requests",
         summary="Open311 : les constats (filtres du standard, paginés)")
    async def requests(self, request: Request) -> Response:
        where, page, size = georeport.requests_where(request.query_params)
        rows = await _rows(_and(await readable(request), where), page, size)
        body = await georeport.requests_json(rows, str(request.base_url))
        return respond(format_of(request), "service_requests", body)

    @get("/requests/{name:str}", name="open311.request", summary="Open311 : un constat")
    async def request_by_id(self, request: Request, name: FromPath[str]) -> Response:
        ident, fmt = split_format(name)
        observation_id = parse_id(ident)
        if observation_id is None:
            raise AppError(status=404, detail="Demande introuvable : le numéro du constat est attendu.")
        rows = await _rows(_and(await readable(request), Observation.id == observation_id))
        if not rows:
            raise AppError(status=404, detail=f"Demande n° {ident} introuvable.")
        return respond(fmt, "service_requests", await georeport.requests_json(rows, str(request.base_url)))

    # CSRF-exempt (walkapp.security.CSRFUnlessBearer): the api_key is this route's only credential.
    @post(["/requests.json", "/requests.xml"], name="open311.create", opt={"exclude_from_csrf": True},
          request_max_body_size=MAX_UPLOAD_BYTES, summary="Open311 : envoyer un constat (api_key ; photos : media)")
    async def create(self, request: Request) -> Response:
        form = await request.form()
        # The spec sends api_key in the form; some clients put it in the query string.
        raw_key = form.get("api_key") or request.query_params.get("api_key")
        if not raw_key:
            raise AppError(status=403, detail="api_key manquante : demandez une clé au coordinateur de la démarche.")
        # CSRF-exempt: the key is the only credential here, never the cookies.
        key = (await with_api_key(request, raw_key, cookies=False)).api_key
        walk = key.walk
        require(actor_of(request), "constat.create", walk)  # open walks only, by any route
        data = georeport.parse_post(form)
        # The photos go through the constat's own pipeline (checked, stored, then blurred after
        # the answer, as from the JSON API); a refused one refuses the request, nothing stored.
        data.photos = await read_photos(georeport.media_parts(form))
        author = await keys.author_of(key)
        observation, _ = await observations.record(media_store(), walk, author, data)
        notice = (f"Constat n° {observation.id} enregistré dans la marche « {walk.title} » ; "
                  "il sera examiné par le comité technique.")
        return respond(format_of(request), "service_requests",
                       [{"service_request_id": observation.id, "service_notice": notice, "account_id": None}],
                       status_code=201)

    @get("/media/{name:str}", name="open311.media", include_in_schema=False)
    async def media(self, request: Request, name: FromPath[str]) -> File:
        stem, _, ext = name.rpartition(".")
        photo_id = parse_id(stem)
        if ext != "jpg" or photo_id is None:
            raise AppError(status=404, detail="Photo introuvable.")
        photo = await Photo.objects().where(Photo.id == photo_id).first()
        if photo is None or not await _rows(_and(await readable(request), Observation.id == photo.observation)):
            raise AppError(status=404, detail="Photo introuvable.")
        # Public: always what everyone but staff sees (blurred, or the placeholder until then).
        path = privacy.shared_image_path(media_store(), photo)
        return File(path=path, filename=f"constat-{photo.observation}-{photo.position + 1}.jpg",
                    media_type="image/jpeg", content_disposition_type="inline",
                    headers={"Cache-Control": "no-store" if privacy.is_placeholder(path) else "private, max-age=3600"})

    @get("/{rest:path}", name="open311.unknown", include_in_schema=False)
    async def unknown(self, request: Request, rest: FromPath[str]) -> Response:
        raise AppError(status=404,
                       detail="Ressource Open311 inconnue : voir services.json, requests.json, discovery.json.")


# ---------------------------------------------------------------- the coordinator's page of keys

KEYS = "open311/keys.html"


async def _keys_page(request: Request, status_code: int = 200, **context: Any) -> Template:
    walks = await Walk.objects().order_by(Walk.date, ascending=False)
    context.setdefault("errors", {})
    context.setdefault("form", {})
    return render(request, KEYS, status_code=status_code, keys=await keys.list_keys(), walks=walks,
                  **context)


class ApiKeyController(Controller):
    path = "/open311/cles"
    guards = [allowed("apikeys.manage")]
    include_in_schema = False

    @get("/", name="apikeys.list")
    async def list_page(self, request: Request) -> Template:
        return await _keys_page(request)

    @post("/", name="apikeys.create", status_code=200)
    async def create(self, request: Request) -> Template:
        form = await request.form()
        errors: dict[str, str] = {}
        name = clean_text(form.get("name"), max_length=keys.MAX_NAME)
        if not name:
            errors["name"] = "Nom : ce champ est obligatoire (à qui ou à quoi sert la clé)."
        elif len(name) > keys.MAX_NAME:
            errors["name"] = f"Nom : {keys.MAX_NAME} caractères au plus."
        walk_raw = clean_text(form.get("walk"), max_length=20)
        walk_id = parse_id(walk_raw)
        walk = await Walk.objects().where(Walk.id == walk_id).first() if walk_id else None
        if walk is None:
            errors["walk"] = "Marche : choisissez la marche où iront les constats reçus."
        if errors:
            return await _keys_page(request, status_code=422, errors=errors,
                                    form={"name": name[:keys.MAX_NAME], "walk": walk_raw})
        row, key = await keys.create_key(name, walk, request.user)
        return await _keys_page(request, status_code=201, new_key=key, new_row=row, walk_of_new=walk)

    @post("/{key_id:int}/revoquer", name="apikeys.revoke", status_code=200)
    async def revoke(self, request: Request, key_id: FromPath[int]) -> Response:
        if not await keys.revoke(key_id):
            raise NotFound("Cette clé n'existe pas.")
        return redirect(request, url("apikeys.list"))

