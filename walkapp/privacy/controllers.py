"""Staff's redaction of a photo by hand, and a coordinator's erasure of a participant."""

from __future__ import annotations

from litestar import Controller, Request, Response, post
from litestar.params import FromPath

from ..errors import NotFound
from ..policy import actor_of, require
from ..storage import media_store
from ..tables import Participant, Photo
from ..urls import url
from ..walks.services import get_walk
from ..web import redirect
from . import services


async def _photo(request: Request, photo_id: int):
    photo = await Photo.objects(Photo.observation).where(Photo.id == photo_id).first()
    if photo is None:
        raise NotFound("Cette photo n'existe pas.")
    actor = require(actor_of(request), "photo.redact", await get_walk(photo.observation.walk))
    observation_id = photo.observation.id
    photo.observation = observation_id  # the row as services expect it (the id)
    return actor, photo, observation_id


class RedactionController(Controller):
    path = "/photos"
    include_in_schema = False

    @post("/{photo_id:int}/floutage", name="photo.redact", status_code=200)
    async def redact(self, request: Request, photo_id: FromPath[int]) -> Response:
        actor, photo, observation_id = await _photo(request, photo_id)
        boxes = services.boxes_from_form(await request.form(), services.boxes_of(photo))
        await services.redact(media_store(), photo, boxes, actor.user.id)
        return redirect(request, url("constat.page", observation_id=observation_id) + f"#photo-{photo.id}")

    @post("/{photo_id:int}/floutage/annuler", name="photo.redact_undo", status_code=200)
    async def undo(self, request: Request, photo_id: FromPath[int]) -> Response:
        actor, photo, observation_id = await _photo(request, photo_id)
        await services.undo_redaction(media_store(), photo, actor.user.id)
        return redirect(request, url("constat.page", observation_id=observation_id) + f"#photo-{photo.id}")


class ErasureController(Controller):
    path = "/marches"
    include_in_schema = False

    @post("/{walk_id:int}/participants/{participant_id:int}/effacer", name="participant.erase", status_code=200)
    async def erase(self, request: Request, walk_id: FromPath[int], participant_id: FromPath[int]) -> Response:
        walk = await get_walk(walk_id)
        actor = require(actor_of(request), "participant.erase", walk)
        participant = await Participant.objects().where(
            (Participant.id == participant_id) & (Participant.walk == walk.id)).first()
        if participant is None:
            raise NotFound("Ce participant n'existe pas dans cette marche.")
        form = await request.form()
        await services.erase_participant(media_store(), participant, actor.user.id,
                                         delete_constats=form.get("constats") == "delete")
        return redirect(request, url("walk.detail", walk_id=walk.id) + "#participants-title")
