"""Walk pages: the coordinator's list, form and detail; the join link; the participant's page."""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from ..exports.builder import zip_url
from ..outline.services import outlined_neighbourhoods, panel_context
from ..observations.filters import ObservationFilter
from ..revisits.services import revisit_summary
from ..policy import actor_of, allowed, can, require, session_participants
from ..tables import Walk
from ..urls import url
from ..web import outside_htmx, redirect, render
from . import services
from .services import StopInput, WalkInput

FORM = "walks/form.html"
DETAIL = "walks/detail.html"


async def _form_page(request: Request, data: WalkInput, walk: Walk | None, status_code: int = 200) -> Template:
    choices = await services.neighbourhoods()
    earlier = await Walk.objects().where(Walk.id == data.follows).first() if data.follows else None
    return render(request, FORM, block="form", status_code=status_code, data=data, walk=walk,
                  neighbourhoods=choices, earlier=earlier, outlined=await outlined_neighbourhoods())


class WalkController(Controller):
    path = "/marches"
    guards = [allowed("walks.list")]
    include_in_schema = False

    @get("/", name="walks.list")
    async def list_page(self, request: Request) -> Template:
        return render(request, "walks/list.html", walks=await services.list_walks())

    @get("/nouvelle", name="walk.new", guards=[allowed("walk.plan")])
    async def new_page(self, request: Request) -> Template:
        choices = await services.neighbourhoods()
        data = WalkInput(neighbourhood=choices[0].id if len(choices) == 1 else None)
        centre = choices[0] if len(choices) == 1 else None
        data.stops = [StopInput(name="", lat=centre.centre_lat if centre else None,
                                lon=centre.centre_lon if centre else None)]
        return await _form_page(request, data, None)

    @get("/{walk_id:int}/marche-de-suivi", name="walk.follow_up", guards=[allowed("walk.plan")])
    async def follow_up_page(self, request: Request, walk_id: FromPath[int]) -> Template:
        """A new walk "from" an earlier one: same quartier, its route copied (editable)."""
        earlier = await services.get_walk(walk_id)
        return await _form_page(request, await services.follow_up_input(earlier), None)

    @post("/", name="walk.create", guards=[allowed("walk.plan")], status_code=200)
    async def create(self, request: Request) -> Response | Template:
        data = services.parse_walk_form(await request.form())
        await services.check_walk_input(data)
        if data.errors:
            return await _form_page(request, data, None, status_code=422)
        walk = await services.create_walk(data, request.user)
        return redirect(request, url("walk.detail", walk_id=walk.id))

    @get("/halte", name="walk.stop_row", guards=[allowed("walk.plan")])
    async def empty_stop_row(self, request: Request, index: FromQuery[int] = 1) -> Response | Template:
        """One more halte row for the form (htmx appends it)."""
        elsewhere = outside_htmx(request, url("walk.new"))
        if elsewhere:
            return elsewhere
        return render(request, FORM, block="stop_row", stop=StopInput(name="", lat=None, lon=None),
                      index=max(1, min(index, services.MAX_STOPS)), errors={})

    @get("/{walk_id:int}", name="walk.detail")
    async def detail(self, request: Request, walk_id: FromPath[int]) -> Template:
        walk = await services.get_walk(walk_id)
        require(actor_of(request), "walk.participants", walk)
        shown = ObservationFilter(walk=walk.id)
        return render(request, DETAIL, stops=await services.walk_stops(walk_id),
                      followed=await Walk.objects().where(Walk.id == walk.follows).first() if walk.follows else None,
                      follow_ups=await services.follow_ups(walk.id),
                      summary=await revisit_summary(walk.id) if walk.follows else None,
                      participants=await services.walk_participants(walk_id),
                      join_url=services.join_url(str(request.base_url), walk),
                      zip_url=zip_url(shown), zip_originals_url=zip_url(shown, originals=True),
                      **await panel_context(walk.neighbourhood, walk))

    @get("/{walk_id:int}/participants", name="walk.participants")
    async def participants_block(self, request: Request, walk_id: FromPath[int]) -> Response | Template:
        walk = await services.get_walk(walk_id)
        require(actor_of(request), "walk.participants", walk)
        elsewhere = outside_htmx(request, url("walk.detail", walk_id=walk.id))
        if elsewhere:
            return elsewhere
        return render(request, DETAIL, block="participants", walk=walk,
                      participants=await services.walk_participants(walk_id))

    @get("/{walk_id:int}/qr.svg", name="walk.qr", media_type="image/svg+xml")
    async def qr_code(self, request: Request, walk_id: FromPath[int]) -> Response:
        walk = await services.get_walk(walk_id)
        svg = services.join_qr_svg(services.join_url(str(request.base_url), walk))
        return Response(svg, media_type="image/svg+xml",
                        headers={"Content-Disposition": f'inline; filename="marche-{walk.id}-qr.svg"'})

    @get("/{walk_id:int}/modifier", name="walk.edit", guards=[allowed("walk.edit")])
    async def edit_page(self, request: Request, walk_id: FromPath[int]) -> Template:
        walk = await services.get_walk(walk_id)
        data = WalkInput(neighbourhood=walk.neighbourhood.id, title=walk.title, date=walk.date, follows=walk.follows,
                         stops=[StopInput(s.name, s.lat, s.lon, s.id) for s in await services.walk_stops(walk_id)])
        return await _form_page(request, data, walk)

    @post("/{walk_id:int}/modifier", name="walk.update", guards=[allowed("walk.edit")], status_code=200)
    async def update(self, request: Request, walk_id: FromPath[int]) -> Response | Template:
        walk = await services.get_walk(walk_id)
        data = services.parse_walk_form(await request.form())
        data.follows = walk.follows  # set at creation: an edit keeps it (and its rules)
        await services.check_walk_input(data)
        if data.errors:
            return await _form_page(request, data, walk, status_code=422)
        await services.update_walk(walk, data)
        return redirect(request, url("walk.detail", walk_id=walk.id))

    @post("/{walk_id:int}/statut", name="walk.status", guards=[allowed("walk.edit")], status_code=200)
    async def change_status(self, request: Request, walk_id: FromPath[int]) -> Response:
        walk = await services.get_walk(walk_id)
        form = await request.form()
        await services.set_status(walk, str(form.get("status", "")))
        return redirect(request, url("walk.detail", walk_id=walk.id))


class JoinController(Controller):
    path = "/"
    include_in_schema = False

    @get("/j/{secret:str}", name="join.page")
    async def join_page(self, request: Request, secret: FromPath[str]) -> Response | Template:
        walk = await services.walk_by_join_secret(secret)
        if actor_of(request).participant_in(walk) is not None:
            return redirect(request, url("field.page", walk_id=walk.id))
        name = request.user.display_name if request.user else ""
        return render(request, "walks/join.html", walk=walk, display_name=name, errors={})

    @post("/j/{secret:str}", name="join", status_code=200)
    async def join(self, request: Request, secret: FromPath[str]) -> Response | Template:
        walk = await services.walk_by_join_secret(secret)
        require(actor_of(request), "walk.join", walk)
        form = await request.form()
        errors: dict[str, str] = {}
        name = services.clean_display_name(errors, form.get("display_name"))
        if errors:
            return render(request, "walks/join.html", block="form", status_code=422, walk=walk,
                          display_name=str(form.get("display_name") or "")[:500], errors=errors)
        participant = await services.join_walk(walk, name, request.user)
        participants = dict(session_participants(request))
        participants[str(walk.id)] = participant.token
        session = dict(request.session) if request.scope.get("session") else {}
        session["participants"] = participants
        request.set_session(session)
        return redirect(request, url("field.page", walk_id=walk.id))

    @get("/", name="home")
    async def home(self, request: Request) -> Response | Template:
        actor = actor_of(request)
        if can(actor, "walks.list"):
            return redirect(request, url("walks.list"))
        ids = list(actor.participants)
        walks = await Walk.objects().where(Walk.id.is_in(ids)).order_by(Walk.date, ascending=False) if ids else []
        return render(request, "home.html", walks=walks)
