"""The walk's report (compte rendu) and its public version (restitution): what they show.

One gathering for both: `build_report(walk, public=…)`. The staff report shows the map filters'
default view of the walk (new and validated constats: walkapp.observations.filters, the same as
the map and the matrix); the restitution shows validated constats only, without any participant's
name, with its photos served by its own route through `privacy.services.shared_image_path`.

Constats are numbered in the order of the walk (halte by halte, then by time): the number on the
map, in the list of constats and in the points forts / faibles is the same.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from .. import clock, gusp
from ..actions.queries import ActionFilter, action_rows, by_axe
from ..db import write_transaction
from ..errors import Conflict, NotFound
from ..observations.filters import ObservationFilter, apply
from ..outline import services as outline
from ..outline.geometry import rings as outline_rings
from ..review.services import Matrix, matrix
from ..revisits import services as revisits
from ..security import new_token
from ..settings import get_settings
from ..storage import MediaStore
from ..tables import Observation, Participant, Photo, Walk
from ..urls import url
from ..walks.services import walk_stops
from . import svgmap
from .images import print_image

PUBLIC_STATUS = "validated"  # the restitution's constats
NO_PARTNER = "Sans partenaire"
TILES_CACHE = "cache/tiles"


@dataclass
class Participation:
    residents: int
    agents: list[tuple[str, int]]  # (partner, how many staff took part), partners by name
    names: list[tuple[str, str]] = field(default_factory=list)  # (name, "Habitant" or the partner)

    @property
    def staff(self) -> int:
        return sum(count for _, count in self.agents)

    @property
    def total(self) -> int:
        return self.residents + self.staff


@dataclass
class ReportConstat:
    number: int
    id: int
    issue: gusp.Term
    angle: gusp.Term
    polarity: str
    description: str
    street: str
    status: str
    stop: int | None  # the halte's position
    lat: float | None
    lon: float | None
    observed_at: dt.datetime | None
    photos: list[dict[str, Any]] = field(default_factory=list)  # {"id", "src", "width", "height"}
    actions: list[dict[str, Any]] = field(default_factory=list)  # rows of actions.queries

    @property
    def strong(self) -> bool:
        return self.polarity == "positive"


@dataclass
class HalteSummary:
    position: int | None
    name: str
    negative: list[ReportConstat]
    positive: list[ReportConstat]


@dataclass
class Report:
    walk: Walk
    public: bool
    stops: list[Any]
    participation: Participation
    constats: list[ReportConstat]
    matrix: Matrix
    shown: ObservationFilter
    haltes: list[HalteSummary]
    action_groups: list[tuple[gusp.Term, list[dict[str, Any]]]]
    actions_count: int
    set_aside: int  # the walk's constats left out of this view (rejected, duplicates; new ones in public)
    map_svg: str = ""
    map_has_background: bool = False
    map_has_outline: bool = False  # the neighbourhood's perimeter is drawn (walkapp.outline)
    made_at: dt.datetime = field(default_factory=clock.now)
    # What later work adds to the report (the follow-up walk's re-visits, Avant / Après): the
    # templates' slots read it (reports/_constat.html, reports/report.html).
    extra: dict[str, Any] = field(default_factory=dict)


def shown_filter(walk: Walk, public: bool) -> ObservationFilter:
    """Which constats of the walk a report shows: the map's default view, or validated only."""
    return ObservationFilter(walk=walk.id, status=PUBLIC_STATUS if public else None)


async def participation(walk_id: int, with_names: bool) -> Participation:
    rows = await Participant.select(
        Participant.display_name, Participant.user.as_alias("user_id"),
        Participant.user.partner.name.as_alias("partner"),
    ).where(Participant.walk == walk_id).order_by(Participant.joined_at).order_by(Participant.id)
    residents = sum(1 for r in rows if r["user_id"] is None)
    agents = Counter(r["partner"] or NO_PARTNER for r in rows if r["user_id"] is not None)
    names = [(r["display_name"], "Habitant" if r["user_id"] is None else (r["partner"] or NO_PARTNER))
             for r in rows] if with_names else []
    return Participation(residents, sorted(agents.items(), key=lambda item: (item[0] == NO_PARTNER, item[0])), names)


def _walk_order(stop_positions: dict[int, int]):
    def key(row: dict[str, Any]) -> tuple:
        moment = row["observed_at"] or row["received_at"]
        return (stop_positions.get(row["stop"], 10_000), clock.as_utc(moment) or dt.datetime.max.replace(
            tzinfo=dt.UTC), row["id"])
    return key


def photo_src(walk: Walk, photo_id: int, public: bool) -> str:
    """The URL a report's page (and its PDF) names a photo by."""
    if public:
        return url("restitution.photo", secret=walk.restitution_secret, photo_id=photo_id)
    return url("walk.report_photo", walk_id=walk.id, photo_id=photo_id)


async def build_report(walk: Walk, *, public: bool = False, with_names: bool = False,
                       tiles_url: str | None = None) -> Report:
    shown = shown_filter(walk, public)
    stops = await walk_stops(walk.id)
    positions = {s.id: s.position for s in stops}
    rows = await apply(Observation.select(
        Observation.id, Observation.issue, Observation.angle, Observation.polarity, Observation.description,
        Observation.street, Observation.status, Observation.stop, Observation.lat, Observation.lon,
        Observation.observed_at, Observation.received_at), shown.where())
    rows.sort(key=_walk_order(positions))
    constats = [ReportConstat(
        number=n, id=r["id"], issue=gusp.term("issue", r["issue"]) or gusp.ISSUES[0],
        angle=gusp.term("angle", r["angle"]) or gusp.ANGLES[0], polarity=r["polarity"],
        description=r["description"], street=r["street"], status=r["status"], stop=positions.get(r["stop"]),
        lat=r["lat"], lon=r["lon"], observed_at=r["observed_at"]) for n, r in enumerate(rows, start=1)]
    by_id = {c.id: c for c in constats}

    if by_id:
        for photo in await Photo.select(Photo.id, Photo.observation, Photo.width, Photo.height).where(
                Photo.observation.is_in(list(by_id))).order_by(Photo.position).order_by(Photo.id):
            by_id[photo["observation"]].photos.append(
                {"id": photo["id"], "src": photo_src(walk, photo["id"], public),
                 "width": photo["width"], "height": photo["height"]})

    # Actions: those answering a constat of this report (public: of a validated constat).
    actions = [row for row in await action_rows(ActionFilter(walk=walk.id))
               if any(cid in by_id for cid in row["constat_ids"])]
    for row in actions:
        row["report_numbers"] = sorted(by_id[cid].number for cid in row["constat_ids"] if cid in by_id)
        for cid in row["constat_ids"]:
            if cid in by_id:
                by_id[cid].actions.append(row)

    all_of_walk = await Observation.count().where(Observation.walk == walk.id)
    report = Report(
        walk=walk, public=public, stops=stops,
        participation=await participation(walk.id, with_names and not public),
        constats=constats, matrix=await matrix(shown.where()), shown=shown,
        haltes=_haltes(stops, constats), action_groups=[g for g in by_axe(actions) if g[1]],
        actions_count=len(actions), set_aside=all_of_walk - len(constats),
    )
    await _add_revisits(report)
    await _draw_map(report, tiles_url if tiles_url is not None else get_settings().tiles_url)
    return report


def _pair_statuses(public: bool) -> tuple[str, ...]:
    """Which constats may stand on either side of a report's Avant / Après pair."""
    return (PUBLIC_STATUS,) if public else revisits.LIVE


async def _add_revisits(report: Report) -> None:
    """The follow-up walk's part of the report (its slots: reports/_constat_followup.html and
    reports/_followup_summary.html): each constat's Avant / Après pairs — both sides validated in
    the restitution —, the pairs' photos through the report's own photo route, and, for a
    follow-up walk, its outcomes per enjeu."""
    walk, statuses = report.walk, _pair_statuses(report.public)
    pairs = await revisits.before_after([c.id for c in report.constats], statuses=statuses)
    report.extra["pairs"] = {cid: kept for cid, found in pairs.items()
                             if (kept := [p for p in found if p.before.status in statuses])}
    report.extra["photo_src"] = lambda photo_id: photo_src(walk, photo_id, report.public)
    if walk.follows:
        report.extra["revisit_summary"] = await revisits.revisit_summary(walk.id)


def _haltes(stops: list[Any], constats: list[ReportConstat]) -> list[HalteSummary]:
    grouped: dict[int | None, list[ReportConstat]] = defaultdict(list)
    for constat in constats:
        grouped[constat.stop].append(constat)
    summaries = [HalteSummary(s.position, s.name, [c for c in grouped[s.position] if not c.strong],
                              [c for c in grouped[s.position] if c.strong]) for s in stops]
    if grouped.get(None):
        summaries.append(HalteSummary(None, "Hors des haltes", [c for c in grouped[None] if not c.strong],
                                      [c for c in grouped[None] if c.strong]))
    return summaries


async def _draw_map(report: Report, tiles_url: str) -> None:
    settings = get_settings()
    haltes = [svgmap.Halte(s.position, s.name, s.lat, s.lon) for s in report.stops]
    markers = [svgmap.Marker(c.number, c.lat, c.lon, c.issue.colour, c.issue.on_colour,
                             f"Constat {c.number} : {c.issue.short}, "
                             f"{gusp.label('polarity', c.polarity).lower()}", c.strong)
               for c in report.constats if c.lat is not None and c.lon is not None]
    points = [(h.lat, h.lon) for h in haltes] + [(m.lat, m.lon) for m in markers]
    hood = report.walk.neighbourhood
    drawn = await outline.drawn([getattr(hood, "id", hood)])  # the quartier's perimeter, under the route
    rings = [ring for feature in drawn for ring in outline_rings(feature["geometry"])]
    if not points and rings:
        points = [(lat, lon) for ring in rings for lon, lat, *_ in ring]
    if not points and getattr(hood, "centre_lat", None) is not None:
        points = [(hood.centre_lat, hood.centre_lon)]
    if not points:
        return
    view = svgmap.fit(points)
    cache = MediaStore(settings.media_dir).root / TILES_CACHE
    tiles = None
    # The thread gives up by itself within its budget; this wait is the ceiling whatever happens
    # (a name lookup that hangs is not covered by the sockets' timeout).
    with anyio.move_on_after(svgmap.BACKGROUND_BUDGET_S + 1):
        tiles = await anyio.to_thread.run_sync(svgmap.background, tiles_url, view, cache, abandon_on_cancel=True)
    title = f"Carte du parcours et des constats : {report.walk.title}, {clock.date_text(report.walk.date)}"
    report.map_svg = svgmap.draw(view, haltes, markers, tiles, title, settings.tiles_attribution, outline=rings)
    report.map_has_outline = bool(rings)
    report.map_has_background = bool(tiles)


async def print_files(report: Report, store: MediaStore) -> dict[str, Path]:
    """{photo URL in the report: its print-sized file}, for the PDF (made in a thread)."""
    wanted = [(p["src"], p["id"]) for c in report.constats for p in c.photos]
    wanted += [(photo_src(report.walk, side.photo_id, report.public), side.photo_id)
               for pairs in report.extra.get("pairs", {}).values() for pair in pairs
               for side in (pair.before, pair.after) if side.photo_id]
    if not wanted:
        return {}
    rows = {r["id"]: r for r in await Photo.select(Photo.id, Photo.display_path).where(
        Photo.id.is_in([pid for _, pid in wanted]))}

    def make() -> dict[str, Path]:
        files = {}
        for src, pid in wanted:
            try:
                files[src] = print_image(store, rows[pid])
            except (FileNotFoundError, KeyError, OSError):
                continue  # a missing file: the PDF shows the constat without it
        return files

    return await anyio.to_thread.run_sync(make)


# ---------------------------------------------------------------- publishing the restitution

async def publish(walk: Walk) -> Walk:
    """Publishes the walk's restitution with a new secret (a withdrawn link never comes back)."""
    validated = await Observation.count().where((Observation.walk == walk.id)
                                                & (Observation.status == PUBLIC_STATUS))
    if not validated:
        raise Conflict("Aucun constat de cette marche n'est validé : validez au moins un constat (page "
                       "du constat ou carte) avant de publier la restitution.", code="nothing_validated")
    if walk.restitution_secret and walk.restitution_published_at:
        return walk  # already published: the same link
    async with write_transaction():
        await Walk.update({Walk.restitution_secret: new_token(18), Walk.restitution_published_at: clock.now()}).where(
            Walk.id == walk.id)
    return walk


async def unpublish(walk: Walk) -> None:
    """Withdraws it: the old link answers 404 from now on, and publishing again makes a new one."""
    async with write_transaction():
        await Walk.update({Walk.restitution_secret: None, Walk.restitution_published_at: None}).where(
            Walk.id == walk.id)


def is_published(walk: Walk) -> bool:
    return bool(walk.restitution_secret and walk.restitution_published_at)


# One answer for an unknown secret and for a withdrawn one: nothing tells them apart.
GONE = "Cette page n'existe pas."


async def published_walk(secret: str) -> Walk:
    walk = None
    if 8 <= len(secret) <= 64:
        walk = await Walk.objects(Walk.neighbourhood).where(
            (Walk.restitution_secret == secret) & Walk.restitution_published_at.is_not_null()).first()
    if walk is None:
        raise NotFound(GONE)
    return walk


async def report_photo(walk: Walk, photo_id: int, public: bool) -> Photo:
    """A photo a report of `walk` shows, else 404: of one of its constats (validated only in the
    restitution), or of the other side of one of their Avant / Après pairs (a re-visit made on a
    follow-up walk, or the earlier constat a re-visit of this walk looked at again)."""
    statuses = _pair_statuses(public)
    photo = await Photo.objects().where(Photo.id == photo_id).first()
    constat = photo and await Observation.select(
        Observation.id, Observation.walk, Observation.revisit_of, Observation.status).where(
        Observation.id == photo.observation).first()
    if constat and (constat["status"] in statuses or (constat["walk"] == walk.id and not public)):
        if constat["walk"] == walk.id:
            return photo
        partner = (Observation.walk == walk.id) & Observation.status.is_in(list(statuses))
        if await Observation.exists().where(partner & ((Observation.id == (constat["revisit_of"] or 0))
                                                       | (Observation.revisit_of == constat["id"]))):
            return photo
    raise NotFound(GONE if public else "Cette photo n'appartient à aucun constat de cette marche.")


async def public_counts(walk: Walk) -> dict[str, int]:
    """What the flyer says in figures: validated constats, and the actions answering them."""
    ids = [r["id"] for r in await Observation.select(Observation.id).where(
        (Observation.walk == walk.id) & (Observation.status == PUBLIC_STATUS))]
    actions = [row for row in await action_rows(ActionFilter(walk=walk.id))
               if any(cid in ids for cid in row["constat_ids"])]
    return {"constats": len(ids), "actions": len(actions)}
