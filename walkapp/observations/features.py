"""Constats as GeoJSON Features (RFC 7946: longitude first, WGS 84): the one shape of the API's
GeoJSON (/api/v1/observations.geojson), the OGC API's items (/ogc/) and the zip's constats.geojson.

Why flat properties, each code beside its French label: a GIS tool (QGIS, through GDAL) makes one
column per property; nested objects become a JSON string nobody can style or filter on, and a
code alone says nothing to the person who reads the attribute table. The names are English, like
every identifier of the API (PRODUCT.md); the values people read are French. `photo_url` is the
first photo, `photo_urls` all of them (both null without a photo): on the site, the variant this
reader may see (unblurred for staff, policy "photo.unblurred"; the blurred image for everyone
else); in the zip, the files beside constats.geojson in the zip.

The zip's GeoJSON spoke French before (`enjeu_libelle`, `auteur`…): PRODUCT.md pins the API's
fields and the zip's files, not those names, so one English naming replaced both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from .. import gusp
from ..policy import Actor, can
from ..revisits.services import latest_outcomes
from ..tables import Observation, Photo
from ..urls import absolute
from .filters import apply

# The properties, in the order a GIS tool shows its columns (tests pin it: one list for all three).
PROPERTIES = (
    "id", "url", "walk_id", "walk_title", "walk_date", "neighbourhood_name",
    "issue", "issue_label", "angle", "angle_label", "polarity", "polarity_label", "status", "status_label",
    "location_source", "location_source_label", "accuracy_m", "street", "stop_id", "stop_name", "description",
    "observed_at", "received_at", "duplicate_of", "revisit_of", "outcome", "outcome_label",
    "latest_outcome", "latest_outcome_label", "author", "photo_count", "photo_url", "photo_urls",
    "outside_perimeter",  # more than 20 m outside the quartier's outline (walkapp.outline); null: unknown
    "client_uuid",  # the phone's idempotency key: the API's GeoJSON had it before, clients may join on it
)
# What a person reads as each column's name (QGIS field aliases in the .qml, walkapp.ogc.qml).
TITLES = {
    "id": "Numéro", "url": "Page du constat", "walk_id": "Marche (n°)", "walk_title": "Marche",
    "walk_date": "Date de la marche", "neighbourhood_name": "Quartier", "issue": "Enjeu (code)", "issue_label": "Enjeu",
    "angle": "Angle (code)", "angle_label": "Angle d'analyse", "polarity": "Point faible / fort (code)",
    "polarity_label": "Point faible / fort", "status": "Statut (code)", "status_label": "Statut",
    "location_source": "Origine de la position (code)", "location_source_label": "Origine de la position",
    "accuracy_m": "Précision (m)", "street": "Rue", "stop_id": "Halte (n°)", "stop_name": "Halte",
    "description": "Commentaire", "observed_at": "Date du constat", "received_at": "Reçu le",
    "duplicate_of": "Doublon du constat", "revisit_of": "Constat revu", "outcome": "Évolution (code)",
    "outcome_label": "Évolution", "latest_outcome": "Dernière évolution (code)",
    "latest_outcome_label": "Dernière évolution", "author": "Auteur", "photo_count": "Nombre de photos",
    "photo_url": "Photo", "photo_urls": "Photos", "outside_perimeter": "Hors périmètre",
    "client_uuid": "Identifiant d'envoi (client_uuid)",
}
_BATCH = 500  # ids per IN (...): under SQLite's and asyncpg's parameter limits


def constat_select():
    """The constats with what their features name (walk, neighbourhood, author, halte): one query."""
    return Observation.select(
        *Observation.all_columns(),
        Observation.walk.title.as_alias("walk_title"),
        Observation.walk.date.as_alias("walk_date"),
        Observation.walk.neighbourhood.name.as_alias("neighbourhood_name"),
        Observation.participant.display_name.as_alias("author"),
        Observation.stop.name.as_alias("stop_name"),
    )


def _id(value: Any) -> int | None:
    return value.get("id") if isinstance(value, dict) else getattr(value, "id", value)


def _label(kind: str, code: str | None) -> str | None:
    return gusp.label(kind, code) if code else None


def _iso(value: Any) -> str | None:
    from .. import clock

    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return clock.iso(value)


def properties(row: Mapping[str, Any], photo_urls: list[str], *, url: str | None, author: bool,
               latest_outcome: str | None) -> dict[str, Any]:
    """THE properties of a constat's Feature. `row`: a constat_select() row; `author`: may this
    reader see participants' names (policy "geojson.authors"; the zip is staff's)."""
    values = {
        "id": row["id"],
        "url": url,
        "walk_id": _id(row.get("walk")),
        "walk_title": row.get("walk_title"),
        "walk_date": _iso(row.get("walk_date")),
        "neighbourhood_name": row.get("neighbourhood_name"),
        "issue": row["issue"], "issue_label": _label("issue", row["issue"]),
        "angle": row["angle"], "angle_label": _label("angle", row["angle"]),
        "polarity": row["polarity"], "polarity_label": _label("polarity", row["polarity"]),
        "status": row["status"], "status_label": _label("observation_status", row["status"]),
        "location_source": row.get("location_source"),
        "location_source_label": _label("location_source", row.get("location_source")),
        "accuracy_m": row.get("accuracy_m"),
        "street": row.get("street") or "",
        "stop_id": _id(row.get("stop")),
        "stop_name": row.get("stop_name"),
        "description": row.get("description") or "",
        "observed_at": _iso(row.get("observed_at")),
        "received_at": _iso(row.get("received_at")),
        "duplicate_of": _id(row.get("duplicate_of")),
        "revisit_of": _id(row.get("revisit_of")),
        "outcome": row.get("outcome"), "outcome_label": _label("outcome", row.get("outcome")),
        "latest_outcome": latest_outcome, "latest_outcome_label": _label("outcome", latest_outcome),
        "author": row.get("author") if author else None,
        "photo_count": len(photo_urls),
        "photo_url": photo_urls[0] if photo_urls else None,
        # null, not [], without a photo: GDAL types the column from the first value it meets, and
        # a first empty list makes it JSON text in QGIS instead of a list of strings.
        "photo_urls": photo_urls or None,
        "outside_perimeter": row.get("outside_perimeter"),
        "client_uuid": row.get("client_uuid"),
    }
    return {name: values[name] for name in PROPERTIES}


def feature(row: Mapping[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    has_point = row.get("lat") is not None and row.get("lon") is not None
    return {
        "type": "Feature",
        "id": row["id"],
        # RFC 7946 §3.1.1: [longitude, latitude]; a constat without a place has a null geometry.
        "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]} if has_point else None,
        "properties": props,
    }


def _batches(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _BATCH):
        yield ids[start:start + _BATCH]


async def _photos_by_constat(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    for batch in _batches(ids):
        for photo in await Photo.select(Photo.id, Photo.observation, Photo.privacy_rev).where(
                Photo.observation.is_in(batch)).order_by(Photo.observation, Photo.position, Photo.id):
            found.setdefault(photo["observation"], []).append(photo)
    return found


def photo_url(base_url: str, photo: Mapping[str, Any], unblurred: bool) -> str:
    """The display-size image of a photo this reader may see: unblurred for staff, else the
    blurred one (walkapp.privacy); its blurring version in the URL, so caches never keep an older
    redaction."""
    version = {"v": photo["privacy_rev"]} if photo.get("privacy_rev") else None
    return absolute(base_url, "photo", query=version, photo_id=photo["id"],
                    variant="affichage.jpg" if unblurred else "floutee.jpg")


async def web_features(rows: list[dict[str, Any]], base_url: str, actor: Actor) -> list[dict[str, Any]]:
    """The Features of constat_select() rows for a reader of the site (API GeoJSON, OGC items)."""
    photos = await _photos_by_constat([row["id"] for row in rows])
    latest = await latest_outcomes() if rows else {}
    authors = can(actor, "geojson.authors")
    unblurred = can(actor, "photo.unblurred")
    return [feature(row, properties(
        row, [photo_url(base_url, p, unblurred) for p in photos.get(row["id"], [])],
        url=absolute(base_url, "constat.page", observation_id=row["id"]), author=authors,
        latest_outcome=latest[row["id"]]["outcome"] if row["id"] in latest else None)) for row in rows]


async def feature_collection(where: Any, base_url: str, actor: Actor) -> dict[str, Any]:
    """The API's GeoJSON: every constat `where` selects, newest first."""
    rows = await apply(constat_select(), where).order_by(Observation.received_at, ascending=False).order_by(
        Observation.id, ascending=False)
    return {"type": "FeatureCollection", "features": await web_features(rows, base_url, actor)}
