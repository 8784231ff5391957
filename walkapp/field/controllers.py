"""The walk on the phone: the field page with its live feed, editing one's own constats, and
what makes it work offline (service worker, CSRF token for the outbox)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import File, Template
from litestar.utils.scope.state import ScopeState
from piccolo.query.functions.aggregate import Count

from ..outline import services as outline
from .. import gusp
from ..caching import Revalidated
from ..errors import NotFound
from ..observations.schemas import ConstatInput
from ..observations.services import delete_observation, observations_with_photos
from ..policy import actor_of, require
from ..revisits.services import to_revisit
from ..settings import STATIC_DIR
from ..storage import media_store
from ..urls import url
from ..tables import Observation, Stop, Walk
from ..tiles import walk_area
from ..validation import parse_id
from ..walks import services as walks
from ..web import ERRORS_OPT, JSON, redirect, render

PAGE = "field/walk.html"
FEED_LENGTH = 50
EDIT = "field/edit.html"
# What the author of a constat may change on the walk (the rest is the committee's: requalifier).
EDITABLE = ("issue", "angle", "polarity", "description", "street")


async def _field_context(request: Request, walk: Walk) -> dict:
    require(actor_of(request), "walk.see", walk)
    participant = await walks.participant_of(actor_of(request), walk)
    # Every phone polls this every few seconds: the latest constats only, counts from SQL.
    observations = await observations_with_photos(Observation.walk == walk.id, limit=FEED_LENGTH)
    counts = {code: 0 for code in gusp.codes("issue")}
    for row in await Observation.select(Observation.issue, Count()).where(Observation.walk == walk.id).group_by(
            Observation.issue):
        counts[row["issue"]] = row["count"]
    mine = set()
    if participant is not None:
        mine = {row["id"] for row in await Observation.select(Observation.id).where(
            (Observation.walk == walk.id) & (Observation.participant == participant.id))}
    return {"walk": walk, "participant": participant, "stops": await walks.walk_stops(walk.id),
            "observations": observations, "counts": counts, "total": sum(counts.values()), "mine": mine,
            # A follow-up walk (marche de suivi): the followed walk's constats to re-visit.
            "to_revisit": await to_revisit(walk) if walk.follows else [],
            "followed": await Walk.objects().where(Walk.id == walk.follows).first() if walk.follows else None}


async def _own_observation(request: Request, walk_id: int, observation_id: int,
                           verb: str = "constat.edit") -> tuple[Walk, Observation]:
    walk = await walks.get_walk(walk_id)
    observation = await Observation.objects().where(
        (Observation.id == observation_id) & (Observation.walk == walk_id)).first()
    if observation is None:
        raise NotFound("Ce constat n'existe pas ou a été supprimé.")
    observation.walk = walk  # the rule reads the walk's status through the constat
    require(actor_of(request), verb, observation)
    return walk, observation


class FieldController(Controller):
    path = "/marches/{walk_id:int}"
    include_in_schema = False

    @get("/terrain", name="field.page")
    async def page(self, request: Request, walk_id: FromPath[int]) -> Template:
        walk = await walks.get_walk(walk_id)
        context = await _field_context(request, walk)
        # The map tiles this phone keeps for the form's map offline (static/js/sw.js).
        area = walk_area(walk, context["stops"], request.app.state.settings)
        return render(request, PAGE, **context, streets=await walks.perimeter_streets(walk.neighbourhood.id),
                      tiles_area=area.as_data() if area else None,
                      outline_json=await outline.drawn_json(walk.neighbourhood.id))  # the form's map draws it

    @get("/fil", name="field.feed")
    async def live(self, request: Request, walk_id: FromPath[int]) -> Response:
        """The part of the field page every phone polls: haltes, counts, feed. Unchanged since the
        phone's last poll: a 304 without a body (walkapp.caching; static/js/feed.js sends the ETag)."""
        walk = await walks.get_walk(walk_id)
        return Revalidated(render(request, PAGE, block="live", **await _field_context(request, walk)))

    @post("/halte-en-cours", name="field.current_stop", status_code=200)
    async def set_current_stop(self, request: Request, walk_id: FromPath[int]) -> Response | Template:
        """Those who lead the walk move the group to a halte; every phone sees it on its next poll."""
        walk = await walks.get_walk(walk_id)
        require(actor_of(request), "walk.lead", walk)
        form = await request.form()
        stop_id = parse_id(form.get("stop_id"))
        if stop_id is None or not await Stop.exists().where((Stop.id == stop_id) & (Stop.walk == walk.id)):
            raise NotFound("Cette halte n'appartient pas à la marche.")
        await Walk.update({Walk.current_stop: stop_id}).where(Walk.id == walk.id)
        walk = await walks.get_walk(walk_id)
        return render(request, PAGE, block="live", **await _field_context(request, walk))

    @get("/constats/{observation_id:int}/modifier", name="field.edit_page")
    async def edit_page(self, request: Request, walk_id: FromPath[int], observation_id: FromPath[int]) -> Template:
        walk, observation = await _own_observation(request, walk_id, observation_id)
        return render(request, EDIT, walk=walk, observation=observation, errors={},
                      streets=await walks.perimeter_streets(walk.neighbourhood.id))

    @post("/constats/{observation_id:int}/modifier", name="field.edit", status_code=200)
    async def edit(self, request: Request, walk_id: FromPath[int],
                   observation_id: FromPath[int]) -> Response | Template:
        walk, observation = await _own_observation(request, walk_id, observation_id)
        values, errors = ConstatInput.check(await request.form(), partial=True, only=EDITABLE)
        if errors:
            for key, value in values.items():
                setattr(observation, key, value)  # the form keeps what was typed
            return render(request, EDIT, block="form", status_code=422, walk=walk, observation=observation,
                          errors=errors, streets=await walks.perimeter_streets(walk.neighbourhood.id))
        if values:
            await Observation.update({getattr(Observation, k): v for k, v in values.items()}).where(
                Observation.id == observation.id)
        return redirect(request, url("field.page", walk_id=walk.id))

    @post("/constats/{observation_id:int}/supprimer", name="field.delete", status_code=200)
    async def delete(self, request: Request, walk_id: FromPath[int], observation_id: FromPath[int]) -> Response:
        walk, observation = await _own_observation(request, walk_id, observation_id, "constat.delete")
        await delete_observation(media_store(), observation)
        return redirect(request, url("field.page", walk_id=walk.id))


class OfflineSupport(Controller):
    path = "/"
    include_in_schema = False

    @get("/sw.js", name="service_worker", cache_control=None)
    async def service_worker(self) -> File:
        # Served from the root so that it may control every page (a worker's scope is its folder).
        return File(path=STATIC_DIR / "js" / "sw.js", media_type="text/javascript", content_disposition_type="inline",
                    headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})

    @get("/api/v1/csrf", name="api.csrf", tags=["constats"], opt={ERRORS_OPT: JSON},
         summary="Le jeton CSRF à joindre (en-tête X-CSRFToken) aux envois")
    async def csrf_token(self, request: Request) -> dict[str, str]:
        """The outbox asks for a fresh token before sending: the page it was queued from may be old."""
        return {"token": ScopeState.from_scope(request.scope).csrf_token or "", "header": "X-CSRFToken"}
