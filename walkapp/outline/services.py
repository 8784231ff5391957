"""The neighbourhood's outline in the database: importing it, the constats' "hors périmètre"
flag, and the drawn outline every map shows.

The flag is computed once and stored (observation.outside_perimeter), so that a page, a CSV or a
GeoJSON of 100,000 constats reads a column instead of testing points: when a constat is written
(observations.services.record), when it is placed again (requalified), when its walk changes
neighbourhood, and for every constat of the neighbourhood when an outline is imported (one
vectorised test, then a few UPDATEs: only the outside ones are named). The import and the
writes of constats take the same lock (db.lock_names), so a constat written during an import is
never left with the old outline's answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from collections.abc import Iterable

from litestar.concurrency import sync_to_thread

from .. import clock
from ..db import lock_names, write_transaction
from ..errors import NotFound
from ..tables import Neighbourhood, NeighbourhoodOutline, Observation, StaffUser, Walk
from . import geometry
from .geometry import Outline, Zone

_BATCH = 500  # ids per IN (...): well under SQLite's and asyncpg's parameter limits
_zones: dict[int, tuple[Any, Zone]] = {}  # neighbourhood id -> (imported_at, Zone), per process


def lock_name(neighbourhood_id: int) -> str:
    """The lock an import and each constat write of this neighbourhood take (db.lock_names)."""
    return f"outline:{neighbourhood_id}"


async def get_neighbourhood(neighbourhood_id: int) -> Neighbourhood:
    hood = await Neighbourhood.objects().where(Neighbourhood.id == neighbourhood_id).first()
    if hood is None:
        raise NotFound("Ce quartier n'existe pas.")
    return hood


@dataclass
class Imported:
    """What an import did, for the coordinator's message."""

    outline: Outline
    inside: int
    outside: int
    unplaced: int


async def import_outline(hood: Neighbourhood, raw: bytes, filename: str, user: StaffUser | None) -> Imported:
    """Reads `raw` (geometry.parse: OutlineError and nothing changed when refused), stores it as
    the neighbourhood's outline (replacing any) and recomputes its constats' flag, in one
    transaction."""
    centre = (hood.centre_lat, hood.centre_lon) if hood.centre_lat is not None and hood.centre_lon is not None \
        else None
    outline = await sync_to_thread(geometry.parse, raw, hood.qpv_code, centre)
    inner = ", ".join(part for part in (outline.name[:80], outline.code[:20]) if part)
    described = f"« {filename[:120]} »" + (f" ({inner})" if inner else "")
    values = {NeighbourhoodOutline.geometry: json.dumps(outline.geometry),
              NeighbourhoodOutline.drawn: json.dumps(outline.drawn),
              NeighbourhoodOutline.source: described[:300], NeighbourhoodOutline.vertices: outline.vertices,
              NeighbourhoodOutline.area_ha: round(outline.area_ha, 2),
              NeighbourhoodOutline.imported_by: user.id if user else None,
              NeighbourhoodOutline.imported_at: clock.now()}
    zone = await sync_to_thread(Zone, outline.geometry)  # before the write lock is taken
    async with write_transaction():
        await lock_names([lock_name(hood.id)])
        if await NeighbourhoodOutline.exists().where(NeighbourhoodOutline.neighbourhood == hood.id):
            await NeighbourhoodOutline.update(values).where(NeighbourhoodOutline.neighbourhood == hood.id)
        else:
            await NeighbourhoodOutline(neighbourhood=hood.id, **{c._meta.name: v for c, v in values.items()}).save()
        counts = await _set_flags(zone, _of_neighbourhood(hood.id))
    _zones.pop(hood.id, None)
    return Imported(outline, *counts)


def _of_neighbourhood(neighbourhood_id: int):
    return Observation.walk.is_in(Walk.select(Walk.id).where(Walk.neighbourhood == neighbourhood_id))


async def _set_flags(zone: Zone | None, where) -> tuple[int, int, int]:
    """The flag of every constat `where` selects, from `zone` (None: unknown for all). Returns
    (inside, outside, without a position)."""
    placed = where & Observation.lat.is_not_null() & Observation.lon.is_not_null()
    if zone is None:
        await Observation.update({Observation.outside_perimeter: None}).where(where)
        return 0, 0, await Observation.count().where(where)
    unplaced = where & (Observation.lat.is_null() | Observation.lon.is_null())
    unplaced_count = await Observation.count().where(unplaced)
    await Observation.update({Observation.outside_perimeter: None}).where(unplaced)
    rows = await Observation.select(Observation.id, Observation.lat, Observation.lon).where(placed)
    flags = zone.outside([r["lat"] for r in rows], [r["lon"] for r in rows])
    outside = [r["id"] for r, out in zip(rows, flags, strict=True) if out]
    # Everyone gets the majority's answer in one UPDATE; only the others are named, in batches.
    most_outside = 2 * len(outside) > len(rows)
    named = [r["id"] for r, out in zip(rows, flags, strict=True) if not out] if most_outside else outside
    # (Rows already right are left alone: a re-import rewrites only what changed.)
    await Observation.update({Observation.outside_perimeter: most_outside}).where(
        placed & (Observation.outside_perimeter.is_null() | (Observation.outside_perimeter != most_outside)))
    for start in range(0, len(named), _BATCH):
        await Observation.update({Observation.outside_perimeter: not most_outside}).where(
            Observation.id.is_in(named[start:start + _BATCH]))
    return len(rows) - len(outside), len(outside), unplaced_count


async def zone_of(neighbourhood_id: int | None) -> Zone | None:
    """The neighbourhood's outline ready for tests (built once per import, per process)."""
    if neighbourhood_id is None:
        return None
    row = await NeighbourhoodOutline.select(NeighbourhoodOutline.imported_at).where(
        NeighbourhoodOutline.neighbourhood == neighbourhood_id).first()
    if row is None:
        _zones.pop(neighbourhood_id, None)
        return None
    stamp = clock.as_utc(row["imported_at"])
    cached = _zones.get(neighbourhood_id)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    full = await NeighbourhoodOutline.select(NeighbourhoodOutline.geometry).where(
        NeighbourhoodOutline.neighbourhood == neighbourhood_id).first()
    zone = Zone(json.loads(full["geometry"]))
    _zones[neighbourhood_id] = (stamp, zone)
    return zone


def _id(value: Any) -> int | None:
    value = getattr(value, "id", value)
    return value if isinstance(value, int) else None


async def flag(walk: Walk, lat: float | None, lon: float | None) -> bool | None:
    """A new constat's flag, inside its write transaction (after `lock_for(walk)`)."""
    if lat is None or lon is None:
        return None
    hood = _id(walk.neighbourhood)
    if hood is None:
        hood = await Walk.select(Walk.neighbourhood).where(Walk.id == walk.id).first()
        hood = hood["neighbourhood"] if hood else None
    zone = await zone_of(hood)
    return zone.is_outside(lat, lon) if zone else None


def lock_for(walk: Walk) -> list[str]:
    hood = _id(walk.neighbourhood)
    return [lock_name(hood)] if hood is not None else []


async def refresh_observation(observation_id: int) -> None:
    """Again for one constat whose position changed (requalified)."""
    row = await Observation.select(Observation.walk.neighbourhood.as_alias("hood")).where(
        Observation.id == observation_id).first()
    if row is not None:
        await _set_flags(await zone_of(row["hood"]), Observation.id == observation_id)


async def refresh_walk(walk_id: int) -> None:
    """Again for a walk's constats (the walk moved to another neighbourhood)."""
    row = await Walk.select(Walk.neighbourhood).where(Walk.id == walk_id).first()
    if row is not None:
        await _set_flags(await zone_of(row["neighbourhood"]), Observation.walk == walk_id)


# ---------------------------------------------------------------- what maps and pages show

async def outlined_neighbourhoods() -> set[int]:
    """The neighbourhoods that have an outline."""
    return {r["neighbourhood"] for r in await NeighbourhoodOutline.select(NeighbourhoodOutline.neighbourhood)}


async def panel_context(hood: Neighbourhood, walk: Walk | None = None, **extra: Any) -> dict[str, Any]:
    """What the perimeter's panel (templates/outline/panel.html) shows: the stored outline, when any."""
    return {"hood": hood, "outline": await outline_row(hood.id), "walk": walk, "error": "", "imported": None,
            **extra}


async def outline_row(neighbourhood_id: int) -> dict[str, Any] | None:
    """The stored outline's description (no geometry), for the coordinator's panel."""
    return await NeighbourhoodOutline.select(
        NeighbourhoodOutline.source, NeighbourhoodOutline.vertices, NeighbourhoodOutline.area_ha,
        NeighbourhoodOutline.imported_at, NeighbourhoodOutline.imported_by.display_name.as_alias("imported_by"),
    ).where(NeighbourhoodOutline.neighbourhood == neighbourhood_id).first()


async def drawn(neighbourhood_ids: Iterable[int | None] | None = None) -> list[dict[str, Any]]:
    """The outlines maps draw, as GeoJSON Features (name and QPV code in their properties), for
    these neighbourhoods (None: every neighbourhood)."""
    query = NeighbourhoodOutline.select(
        NeighbourhoodOutline.drawn, NeighbourhoodOutline.neighbourhood.name.as_alias("name"),
        NeighbourhoodOutline.neighbourhood.qpv_code.as_alias("qpv_code"),
        NeighbourhoodOutline.neighbourhood.as_alias("neighbourhood")).order_by(NeighbourhoodOutline.neighbourhood)
    if neighbourhood_ids is not None:
        ids = [i for i in neighbourhood_ids if isinstance(i, int)]
        if not ids:
            return []
        query = query.where(NeighbourhoodOutline.neighbourhood.is_in(ids))
    return [{"type": "Feature", "id": row["neighbourhood"],
             "properties": {"name": row["name"], "qpv_code": row["qpv_code"]},
             "geometry": json.loads(row["drawn"])} for row in await query]


def collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


async def drawn_json(neighbourhood_id: int | None) -> str:
    """One neighbourhood's drawn outline as GeoJSON text for a map's data-outline ("" when none)."""
    features = await drawn([neighbourhood_id]) if neighbourhood_id is not None else []
    return json.dumps(collection(features), separators=(",", ":")) if features else ""


async def stored_geojson(neighbourhood_id: int) -> dict[str, Any] | None:
    """The outline as imported, as a GeoJSON FeatureCollection of one Feature (for GIS tools)."""
    row = await NeighbourhoodOutline.select(
        NeighbourhoodOutline.geometry, NeighbourhoodOutline.source, NeighbourhoodOutline.imported_at,
        NeighbourhoodOutline.neighbourhood.name.as_alias("name"),
        NeighbourhoodOutline.neighbourhood.qpv_code.as_alias("qpv_code"),
    ).where(NeighbourhoodOutline.neighbourhood == neighbourhood_id).first()
    if row is None:
        return None
    return collection([{"type": "Feature", "id": neighbourhood_id, "geometry": json.loads(row["geometry"]),
                        "properties": {"code_qp": row["qpv_code"], "lib_qp": row["name"], "source": row["source"],
                                       "imported_at": clock.iso(row["imported_at"])}}])

