"""Reading constats for review (the map's list, the 7x4 matrix, one constat with its history) and the
staff's changes to them, each recorded in the constat's history."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from piccolo.query.functions.aggregate import Count

from .. import gusp
from ..db import write_transaction
from ..errors import AppError, BadRequest, Invalid, NotFound
from ..observations.filters import ObservationFilter, apply
from ..observations.schemas import ConstatInput
from ..outline import services as outline
from ..tables import Observation, ObservationEvent, Photo, StaffUser, Stop
from ..validation import clean_text, coordinate

DUPLICATE_RADIUS_M = 50
MAX_REASON = 1000


LIST_LIMIT = 200  # rows of the map's list; past it the committee zooms in rather than scrolls


def parse_bbox(value: str, error: type[AppError] = Invalid) -> tuple[float, float, float, float] | None:
    """`W,S,E,N` in degrees (Leaflet's toBBoxString), or None when absent; a malformed box is an
    `error` (the map's list: a 422; the clusters API: a 400) with a French message, never an empty
    answer that would look like "nothing here"."""
    if not value:
        return None
    parts = value.split(",")
    errors: dict[str, str] = {}
    if len(parts) != 4:
        raise error("Zone de carte illisible.", fields={"bbox": "Zone : quatre nombres attendus (O,S,E,N)."})
    limits = (180, 90, 180, 90)
    values = [coordinate(errors, "bbox", part, "Zone", limit) for part, limit in zip(parts, limits, strict=True)]
    if errors:
        raise error("Zone de carte illisible.", fields=errors)
    west, south, east, north = values
    if south > north or west > east:
        raise error("Zone de carte illisible.", fields={"bbox": "Zone : le sud doit précéder le nord, "
                                                                 "l'ouest l'est."})
    return west, south, east, north


@dataclass
class InView:
    """The constats of the map's list: at most LIST_LIMIT rows, and how many there are in all."""

    rows: list[dict[str, Any]]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


async def list_in_view(where, bbox: tuple[float, float, float, float] | None,
                       limit: int = LIST_LIMIT) -> InView:
    """The filtered constats inside the box, newest first, with their first photo's id."""
    inside = Observation.lat.is_not_null()
    if bbox is not None:
        west, south, east, north = bbox
        inside = (inside & (Observation.lat >= south) & (Observation.lat <= north)
                  & (Observation.lon >= west) & (Observation.lon <= east))
    query = Observation.select(
        Observation.id, Observation.issue, Observation.angle, Observation.polarity, Observation.street,
        Observation.status, Observation.observed_at, Observation.received_at, Observation.lat, Observation.lon,
    ).where(inside).order_by(Observation.received_at, ascending=False).order_by(Observation.id, ascending=False)
    rows = await apply(query.limit(limit), where)
    total = await apply(Observation.count().where(inside), where) if len(rows) == limit else len(rows)
    thumbs = await first_photos([r["id"] for r in rows])
    for row in rows:
        row["photo_id"] = thumbs.get(row["id"])
    return InView(rows, total)


async def first_photos(observation_ids: list[int]) -> dict[int, int]:
    """{constat id: id of its first photo}, for thumbnails in lists."""
    thumbs: dict[int, int] = {}
    if observation_ids:
        # Highest position first: the first photo, written last, wins.
        for photo in await Photo.select(Photo.id, Photo.observation).where(
                Photo.observation.is_in(observation_ids)).order_by(Photo.position, ascending=False):
            thumbs[photo["observation"]] = photo["id"]
    return thumbs


@dataclass
class Matrix:
    """Issues x angles: counts of points faibles and forts, with totals."""

    cells: dict[tuple[str, str], dict[str, int]]
    row_totals: dict[str, int]
    column_totals: dict[str, int]
    total: int
    maximum: int

    def heat(self, issue: str, angle: str) -> int:
        """0-5: how dark the cell is, relative to the fullest cell (a heat scale, not only numbers)."""
        count = self.cells[(issue, angle)]["total"]
        return 0 if not count else 1 + round(4 * count / max(self.maximum, 1))


async def matrix(where) -> Matrix:
    query = Observation.select(Observation.issue, Observation.angle, Observation.polarity, Count()).group_by(
        Observation.issue, Observation.angle, Observation.polarity)
    rows = await apply(query, where)
    return matrix_of((row["issue"], row["angle"], row["polarity"], row["count"]) for row in rows)


def matrix_of(counts) -> Matrix:
    """The matrix of (issue, angle, polarity, count) rows; unknown codes are left out. The map
    page's comes from its index (walkapp.review.clusters), the report's from matrix() above."""
    cells = {(i, a): {"negative": 0, "positive": 0, "total": 0}
             for i in gusp.codes("issue") for a in gusp.codes("angle")}
    for issue, angle, polarity, count in counts:
        cell = cells.get((issue, angle))
        if cell is not None and polarity in cell:
            cell[polarity] += count
            cell["total"] += count
    row_totals = {i: sum(cells[(i, a)]["total"] for a in gusp.codes("angle")) for i in gusp.codes("issue")}
    column_totals = {a: sum(cells[(i, a)]["total"] for i in gusp.codes("issue")) for a in gusp.codes("angle")}
    return Matrix(cells, row_totals, column_totals, sum(row_totals.values()),
                  max((c["total"] for c in cells.values()), default=0))


async def get_observation(observation_id: int) -> Observation:
    observation = await Observation.objects(Observation.walk, Observation.walk.neighbourhood, Observation.participant,
                                            Observation.stop).where(Observation.id == observation_id).first()
    if observation is None:
        raise NotFound("Ce constat n'existe pas.")
    return observation


async def photos_of(observation_id: int) -> list[Photo]:
    return await Photo.objects().where(Photo.observation == observation_id).order_by(Photo.position)


FIELD_LABELS = {
    "photo.redaction": ("Floutage", None), "participant": ("Auteur", None),
    "issue": ("Enjeu", "issue"), "angle": ("Angle d'analyse", "angle"),
    "polarity": ("Point faible ou fort", "polarity"),
    "status": ("Statut", "observation_status"), "street": ("Rue", None), "lat": ("Latitude", None),
    "lon": ("Longitude", None), "location_source": ("Origine de la position", "location_source"),
    "duplicate_of": ("Doublon de", None), "note": ("Note", None), "observed_at": ("Date du constat", None),
}


def _readable(kind: str | None, value: str) -> str:
    return gusp.label(kind, value) if kind and value else value


async def history(observation_id: int) -> list[dict[str, Any]]:
    """The constat's changes, newest first, in words: "Enjeu : Propreté, entretien → …"."""
    rows = await ObservationEvent.select(
        ObservationEvent.at, ObservationEvent.field, ObservationEvent.before, ObservationEvent.after,
        ObservationEvent.note, ObservationEvent.user.display_name.as_alias("who"),
    ).where(ObservationEvent.observation == observation_id).order_by(ObservationEvent.at, ascending=False).order_by(
        ObservationEvent.id, ascending=False)
    for row in rows:
        label, kind = FIELD_LABELS.get(row["field"], (row["field"], None))
        row["label"] = label
        row["before"] = _readable(kind, row["before"])
        row["after"] = _readable(kind, row["after"])
    return rows


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): exact enough at the scale of a street."""
    r = 6_371_000
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


async def nearby_same_issue(observation: Observation, radius_m: float = DUPLICATE_RADIUS_M) -> list[dict[str, Any]]:
    """Possible duplicates: other constats of the same issue within `radius_m`, nearest first.
    A bounding box in SQL first (cheap), then the exact distance here."""
    if observation.lat is None or observation.lon is None:
        return []
    dlat = radius_m / 111_320
    dlon = radius_m / (111_320 * max(math.cos(math.radians(observation.lat)), 0.01))
    rows = await Observation.select(
        Observation.id, Observation.lat, Observation.lon, Observation.description, Observation.status,
        Observation.walk.title.as_alias("walk_title"),
    ).where(
        (Observation.issue == observation.issue) & (Observation.id != observation.id)
        & (Observation.lat >= observation.lat - dlat) & (Observation.lat <= observation.lat + dlat)
        & (Observation.lon >= observation.lon - dlon) & (Observation.lon <= observation.lon + dlon)
    )
    near = []
    for row in rows:
        row["distance_m"] = distance_m(observation.lat, observation.lon, row["lat"], row["lon"])
        if row["distance_m"] <= radius_m:
            near.append(row)
    near.sort(key=lambda r: r["distance_m"])
    thumbs = await first_photos([r["id"] for r in near])
    for row in near:
        row["photo_id"] = thumbs.get(row["id"])
    return near


# ---------------------------------------------------------------- changes, each one in the history

def _text(value: Any) -> str:
    return "" if value is None else (f"{value:.6f}" if isinstance(value, float) else str(value))


async def _change(observation: Observation, user: StaffUser, values: dict[str, Any], note: str = "") -> int:
    """Applies `values` (column name -> new value) and writes one history row per field that
    really changes. One transaction: the constat and its history never disagree."""
    changed = {name: value for name, value in values.items() if getattr(observation, name) != value
               and _text(getattr(observation, name)) != _text(value)}
    if not changed and not note:
        return 0
    async with write_transaction():
        if changed:
            await Observation.update({getattr(Observation, k): v for k, v in changed.items()}).where(
                Observation.id == observation.id)
        for name, value in changed.items():
            await ObservationEvent(observation=observation.id, user=user.id, field=name,
                                   before=_text(getattr(observation, name)), after=_text(value), note=note).save()
        if note and not changed:
            await ObservationEvent(observation=observation.id, user=user.id, field="note", note=note).save()
    return len(changed)


# What the committee may requalify (partial: the fields sent; an empty position keeps the old one).
REQUALIFIABLE = ("issue", "angle", "polarity", "street", "lat", "lon")


async def requalify(observation: Observation, user: StaffUser, form: Any) -> int:
    values = ConstatInput.parse(form, partial=True, only=REQUALIFIABLE)
    lat, lon = values.pop("lat", None), values.pop("lon", None)
    values.pop("location_source", None)
    moved = lat is not None and (lat, lon) != (observation.lat, observation.lon)
    if moved:
        values.update(lat=lat, lon=lon, location_source="manual")
    changed = await _change(observation, user, values)
    if moved:
        await outline.refresh_observation(observation.id)  # inside or outside its quartier, again
    return changed


async def set_status(observation: Observation, user: StaffUser, status: str, reason: str = "",
                     duplicate_of: int | None = None) -> int:
    reason = clean_text(reason, max_length=MAX_REASON)[:MAX_REASON]
    if status == "rejected" and not reason:
        raise BadRequest("Rejet : indiquez le motif (il sera gardé dans l'historique).")
    values: dict[str, Any] = {"status": status, "duplicate_of": None}
    if status == "duplicate":
        if duplicate_of is None or duplicate_of == observation.id:
            raise BadRequest("Doublon : choisissez le constat d'origine.")
        if not await Observation.exists().where(Observation.id == duplicate_of):
            raise BadRequest("Doublon : le constat d'origine n'existe pas.")
        values["duplicate_of"] = duplicate_of
    return await _change(observation, user, values, note=reason)


async def stops_of_walk(walk_id: int) -> list[dict[str, Any]]:
    return await Stop.select(Stop.position, Stop.name, Stop.lat, Stop.lon).where(Stop.walk == walk_id).order_by(
        Stop.position)


__all__ = ["ObservationFilter", "matrix", "get_observation", "requalify", "set_status"]
