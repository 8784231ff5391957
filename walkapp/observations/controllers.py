"""The JSON API of constats (PRODUCT.md) and the photo files behind them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post, route
from litestar.datastructures import UploadFile
from litestar.params import FromPath
from litestar.response import File

from ..errors import Invalid, NotFound
from ..storage import media_store
from ..tables import Observation, Participant, Photo, Stop, Walk
from ..walks.services import get_walk, join_walk, participant_of
from . import services
from ..policy import actor_of, can, require
from ..privacy import services as privacy
from ..web import ERRORS_OPT, JSON
from .schemas import (LABELS, MAX_FORM_OVERHEAD, MAX_PHOTOS, MAX_UPLOAD_BYTES, STOP_ELSEWHERE, fit_to_walk,
                      parse_observation_form, read_photos)

# The photos' limits, shared with Open311's multipart `media` (observations/schemas.py).
__all__ = ["MAX_FORM_OVERHEAD", "MAX_PHOTOS", "MAX_UPLOAD_BYTES"]


async def _acting_participant(request: Request, walk: Walk) -> Participant:
    """Who a new constat is by (the policy has said this request may post into `walk`)."""
    participant = await participant_of(actor_of(request), walk)
    if participant is not None:
        return participant
    user = actor_of(request).user
    # A signed-in agent posting straight away joins under their own name.
    participant = await Participant.objects().where(
        (Participant.walk == walk.id) & (Participant.user == user.id)).first()
    return participant or await join_walk(walk, user.display_name, user)


async def _photos_of(form) -> list[tuple[bytes, str]]:
    return await read_photos([f for f in form.getall("photos", []) if isinstance(f, UploadFile)])


class ObservationApi(Controller):
    path = "/api/v1"
    tags = ["constats"]
    opt = {ERRORS_OPT: JSON}

    @post("/walks/{walk_id:int}/observations", name="api.observations.create", request_max_body_size=MAX_UPLOAD_BYTES,
          summary="Envoyer un constat (multipart, idempotent par client_uuid)")
    async def create(self, request: Request, walk_id: FromPath[int]) -> Response:
        walk = await _walk(walk_id)
        require(actor_of(request), "constat.create", walk)  # open walks only, by any route
        participant = await _acting_participant(request, walk)
        form = await request.form()
        data = parse_observation_form(form)
        fit_to_walk(data, walk.date)
        if data.stop_id is not None and not await Stop.exists().where(
                (Stop.id == data.stop_id) & (Stop.walk == walk.id)):
            raise Invalid(fields={"stop_id": f"{LABELS['stop_id']} : {STOP_ELSEWHERE}"})
        existing = await services.find_by_client_uuid(walk.id, data.client_uuid)
        if existing is None:
            data.photos = await _photos_of(form)
        observation, created = await services.record(media_store(), walk, participant, data)
        body = (await services.observations_with_photos(Observation.id == observation.id))[0]
        return Response(body, status_code=201 if created else 200)

    @get("/walks/{walk_id:int}/observations", name="api.observations",
         summary="Les constats d'une marche, du plus récent au plus ancien")
    async def list(self, request: Request, walk_id: FromPath[int]) -> dict[str, Any]:
        walk = await _walk(walk_id)
        require(actor_of(request), "walk.see", walk)
        observations = await services.observations_with_photos(Observation.walk == walk.id)
        return {"walk_id": walk.id, "observations": observations}


    @route("/{rest:path}", name="api.unknown", http_method=["GET", "POST", "PUT", "PATCH", "DELETE"],
           include_in_schema=False)
    async def unknown(self, rest: FromPath[str]) -> None:
        """Any other URL under /api/v1 is an API URL: its 404 is JSON too."""
        raise NotFound("Ressource inconnue de l'API : voir /schema/openapi.json.")


async def _walk(walk_id: int) -> Walk:
    return await get_walk(walk_id)


_VARIANTS = {"vignette.jpg": "thumb", "affichage.jpg": "display", "original": "original",
             "floutee.jpg": "blurred", "floutee-vignette.jpg": "blurred_thumb"}


class PhotoFiles(Controller):
    path = "/photos"
    include_in_schema = False

    @get("/{photo_id:int}/{variant:str}", name="photo")
    async def photo(self, request: Request, photo_id: FromPath[int], variant: FromPath[str]) -> File:
        kind = _VARIANTS.get(variant)
        photo = await Photo.objects(Photo.observation).where(Photo.id == photo_id).first() if kind else None
        if photo is None:
            raise NotFound("Cette photo n'existe pas.")
        walk = await get_walk(photo.observation.walk)
        actor = require(actor_of(request), "photo.original" if kind == "original" else "photo.see", walk)
        image = privacy.reader_image(media_store(), photo, kind, unblurred=can(actor, "photo.unblurred", walk))
        if not image.path.is_file():
            raise NotFound("Le fichier de cette photo est introuvable sur le serveur.")
        return File(
            path=image.path,
            filename=f"constat-{photo.observation.id}-{photo.position + 1}.{image.extension}",
            media_type=photo.content_type if image.extension != "jpg" else "image/jpeg",
            content_disposition_type="inline",
            headers={"Cache-Control": image.cache_control(request.query_params.get("v"))},
        )
