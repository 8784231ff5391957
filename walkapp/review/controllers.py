"""The committee's review: the observation map with its filters and 7x4 matrix, each constat's page
with its history and the staff's changes, and the GeoJSON of the filtered set."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from .. import gusp
from ..errors import NotFound
from ..exports.builder import zip_url
from ..actions.services import constat_panel, sort_constats
from ..observations.filters import ObservationFilter
from ..outline import services as outline
from ..policy import actor_of, can, require, visible_walk_ids
from ..tables import Neighbourhood, Observation, Walk
from ..urls import url
from ..revisits import services as revisits
from ..validation import parse_id
from ..walks.services import perimeter_streets
from ..caching import Revalidated
from ..web import ERRORS_OPT, JSON, redirect, render
from ..observations import features
from . import clusters, maps, services

MAP = "review/map.html"
CONSTAT = "review/constat.html"


async def scoped_filter(request: Request) -> tuple[ObservationFilter, dict[str, str], set[int] | None]:
    """The filters of the query string, narrowed to what this person may see."""
    chosen, errors = ObservationFilter.from_query(request.query_params.dict())
    actor = require(actor_of(request), "map.see")
    visible = visible_walk_ids(actor)
    return chosen.within(visible), errors, visible


async def _map_context(request: Request) -> dict[str, Any]:
    chosen, errors, visible = await scoped_filter(request)
    settings = request.app.state.settings
    walks = await Walk.objects(Walk.neighbourhood).order_by(Walk.date, ascending=False)
    if visible is not None:
        walks = [w for w in walks if w.id in visible]
    walk = next((w for w in walks if w.id == chosen.walk), None)
    stops = await services.stops_of_walk(walk.id) if walk else []
    centre = await _centre(walk)
    outlines = await outline.drawn(_shown_neighbourhoods(walk, chosen, walks, visible))
    # The page's figures come from the map's index (walkapp.review.clusters): no constat is read
    # or counted here, and none is written into the page (its script asks for the view's clusters).
    figures = clusters.summary(await clusters.INDEXES.get(chosen), chosen)
    return {
        "filter": chosen, "filter_errors": errors, "walks": walks, "walk": walk,
        "neighbourhoods": await Neighbourhood.objects().order_by(Neighbourhood.name),
        "map": maps.observation_map(figures.bounds, stops, settings.tiles_url, settings.tiles_attribution, centre,
                                    outlines),
        "map_palette": maps.palette(),
        "outlined": bool(outlines),
        "shown": figures.shown, "matrix": figures.matrix,
        "zip_url": zip_url(chosen) if can(actor_of(request), "photos.zip") else None,
        "without_position": figures.without_position,
        # Rejected or duplicate constats the default status filter leaves out (0 when a status was
        # asked for): the map says so, so a count lower than the walk's total is never a mystery.
        "set_aside": figures.set_aside,
        "field_walk": walk if walk is not None and actor_of(request).participant_in(walk) else None,
    }


def _shown_neighbourhoods(walk, chosen: ObservationFilter, walks, visible) -> list[int] | None:
    """Whose perimeters the map draws: the walk's, the chosen quartier's, else those of the walks
    this person may see (None: staff, every quartier)."""
    if walk is not None:
        return [walk.neighbourhood.id]
    if chosen.neighbourhood is not None:
        return [chosen.neighbourhood]
    return None if visible is None else sorted({w.neighbourhood.id for w in walks})


async def _centre(walk: Walk | None) -> tuple[float, float]:
    hood = walk.neighbourhood if walk else await Neighbourhood.objects().first()
    if hood is not None and hood.centre_lat is not None:
        return hood.centre_lat, hood.centre_lon
    return 46.6, 2.4  # France


async def _visible_observation(request: Request, observation_id: int) -> Observation:
    observation = await services.get_observation(observation_id)
    require(actor_of(request), "constat.see", observation)
    return observation


async def _reviewed_observation(request: Request, observation_id: int) -> tuple[Any, Observation]:
    """The constat a review form changes, and the staff user changing it (the policy said yes)."""
    observation = await services.get_observation(observation_id)
    return require(actor_of(request), "constat.review", observation).user, observation


class ReviewController(Controller):
    path = "/"
    include_in_schema = False

    @get("/carte", name="map")
    async def map_page(self, request: Request) -> Template:
        context = await _map_context(request)
        # The address bar shows the filters, without the empty ones: a link shared in a meeting
        # opens the same view.
        return render(request, MAP, block="results", push_url=url("map") + context["filter"].query_string(), **context)

    @get("/carte/liste", name="map.list")
    async def list_in_view(self, request: Request) -> Template:
        """The map's list: the filtered constats inside `bbox=W,S,E,N` (the map's view), as HTML
        rows rendered here (escaped), so the page's script never carries user text."""
        chosen, _, _ = await scoped_filter(request)
        bbox = services.parse_bbox(request.query_params.get("bbox", ""))
        in_view = await services.list_in_view(chosen.where(), bbox)
        # Rows of constats no action may answer (rejected, shown on request) get no selection box.
        unselectable = set((await sort_constats([row["id"] for row in in_view.rows])).rejected)
        return render(request, "review/_list.html", in_view=in_view, unselectable=unselectable)

    @get("/carte/popup/{observation_id:int}", name="map.popup")
    async def popup(self, request: Request, observation_id: FromPath[int]) -> Template:
        observation = await _visible_observation(request, observation_id)
        photos = await services.photos_of(observation.id)
        # A constat no action may answer (rejected) gets no box for the selection tray.
        selectable = not (await sort_constats([observation.id])).refused
        latest = (await revisits.latest_outcomes([observation.id])).get(observation.id)  # "Revu : …"
        return render(request, "review/_popup.html", observation=observation, photo=photos[0] if photos else None,
                      selectable=selectable, latest=latest)

    @get("/constats/{observation_id:int}", name="constat.page")
    async def constat_page(self, request: Request, observation_id: FromPath[int]) -> Template:
        return render(request, CONSTAT, **await self._constat_context(request, observation_id))

    async def _constat_context(self, request: Request, observation_id: int, errors: str = "") -> dict[str, Any]:
        observation = await _visible_observation(request, observation_id)
        settings = request.app.state.settings
        spot = None
        hood = observation.walk.neighbourhood.id
        if observation.lat is not None:
            spot = maps.spot_map(observation.lat, observation.lon, observation.issue, settings.tiles_url,
                                 settings.tiles_attribution, await outline.drawn([hood]))
        actor = actor_of(request)
        reviewer = can(actor, "constat.review", observation)
        return {
            "observation": observation, "photos": await services.photos_of(observation.id), "spot": spot,
            "history": await services.history(observation.id), "error": errors,
            "nearby": await services.nearby_same_issue(observation) if reviewer else [],
            # The requalify form's street list: the walk's perimeter.
            "streets": await perimeter_streets(observation.walk.neighbourhood.id) if reviewer else [],
            "outline_json": await outline.drawn_json(hood) if reviewer else "",  # the requalify form's map
            "action_panel": await constat_panel(observation.id, actor),  # None for participants
            "duplicate_of": await Observation.objects().where(Observation.id == observation.duplicate_of).first()
            if observation.duplicate_of else None,
            # Avant / Après: this constat's re-visits, or the pair this re-visit makes.
            "pairs": (await revisits.before_after([observation.id]))[observation.id],
        }

    async def _after_change(self, request: Request, observation_id: int) -> Response | Template:
        if getattr(request, "htmx", False):
            return render(request, CONSTAT, block="review", **await self._constat_context(request, observation_id))
        return redirect(request, url("constat.page", observation_id=observation_id))

    @post("/constats/{observation_id:int}/requalifier", name="constat.requalify", status_code=200)
    async def requalify(self, request: Request, observation_id: FromPath[int]) -> Response | Template:
        user, observation = await _reviewed_observation(request, observation_id)
        await services.requalify(observation, user, await request.form())
        return await self._after_change(request, observation_id)

    @post("/constats/{observation_id:int}/statut", name="constat.status", status_code=200)
    async def change_status(self, request: Request, observation_id: FromPath[int]) -> Response | Template:
        user, observation = await _reviewed_observation(request, observation_id)
        form = await request.form()
        status = str(form.get("status", ""))
        if not gusp.is_code("observation_status", status):
            raise NotFound("Statut inconnu.")
        await services.set_status(observation, user, status, str(form.get("reason", "")),
                                  parse_id(form.get("duplicate_of")))
        return await self._after_change(request, observation_id)

    @get("/api/v1/observations.geojson", name="api.geojson", include_in_schema=True, tags=["constats"],
         summary="Les constats filtrés en GeoJSON (RFC 7946), pour QGIS et les autres SIG",
         media_type="application/geo+json", opt={ERRORS_OPT: JSON})
    async def geojson(self, request: Request) -> Response:
        chosen, _, _ = await scoped_filter(request)
        body = await features.feature_collection(chosen.where(), str(request.base_url), actor_of(request))
        return Response(body, media_type="application/geo+json",
                        headers={"Content-Disposition": 'inline; filename="constats.geojson"'})

    @get("/api/v1/observations/clusters", name="api.clusters", include_in_schema=True, tags=["constats"],
         summary="Les constats d'une vue de la carte : groupes (nombre, par enjeu, faibles/forts) et constats seuls",
         media_type="application/geo+json", opt={ERRORS_OPT: JSON})
    async def cluster_view(self, request: Request) -> Response:
        """The map's view (`bbox=W,S,E,N`, `zoom`) with the map's filters, as GeoJSON: what the
        map page's script draws (walkapp.review.clusters). Same permissions as the map."""
        chosen, _, _ = await scoped_filter(request)
        bbox, zoom = clusters.parse_view(request.query_params.get("bbox", ""), request.query_params.get("zoom", ""))
        body = clusters.view(await clusters.INDEXES.get(chosen), chosen, bbox, zoom)
        # ETag of the body: a view asked again while nothing changed is a 304 (walkapp.caching).
        return Revalidated(Response(body, media_type="application/geo+json"))
