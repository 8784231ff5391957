"""The JSON shapes of the API (PRODUCT.md): an observation and its photos, and form parsing."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from .. import clock, gusp
from ..errors import Invalid
from ..tables import Observation, Photo
from ..validation import clean_text

MAX_DESCRIPTION = 4000
MAX_STREET = 200


@dataclass
class ObservationInput:
    client_uuid: str
    issue: str
    angle: str
    polarity: str = "negative"
    description: str = ""
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    location_source: str | None = None
    street: str = ""
    stop_id: int | None = None
    observed_at: dt.datetime | None = None
    status: str = "new"
    photos: list[tuple[bytes, str]] = field(default_factory=list)  # (content, file name)



def photo_urls(photo_id: int) -> dict[str, str]:
    return {
        "thumb_url": f"/photos/{photo_id}/vignette.jpg",
        "display_url": f"/photos/{photo_id}/affichage.jpg",
        "original_url": f"/photos/{photo_id}/original",
    }


def photo_json(photo: Photo | dict[str, Any]) -> dict[str, Any]:
    get = photo.get if isinstance(photo, dict) else lambda k: getattr(photo, k)
    return {
        "id": get("id"),
        "width": get("width"),
        "height": get("height"),
        "bytes": get("bytes"),
        "content_type": get("content_type"),
        "taken_at": clock.iso(get("taken_at")),
        **photo_urls(get("id")),
    }


def observation_json(observation: Observation, photos: list[Photo], author: str | None) -> dict[str, Any]:
    return {
        "id": observation.id,
        "walk_id": _id(observation.walk),
        "client_uuid": observation.client_uuid,
        "issue": observation.issue,
        "issue_label": gusp.label("issue", observation.issue),
        "angle": observation.angle,
        "angle_label": gusp.label("angle", observation.angle),
        "polarity": observation.polarity,
        "description": observation.description,
        "lat": observation.lat,
        "lon": observation.lon,
        "accuracy_m": observation.accuracy_m,
        "location_source": observation.location_source,
        "street": observation.street,
        "stop_id": _id(observation.stop),
        "observed_at": clock.iso(observation.observed_at),
        "received_at": clock.iso(observation.received_at),
        "status": observation.status,
        "author": author,
        "photos": [photo_json(p) for p in photos],
    }


def _id(value: Any) -> int | None:
    return getattr(value, "id", value)


def _number(form, name: str, label: str, low: float, high: float) -> float | None:
    raw = clean_text(form.get(name), max_length=40).replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Invalid(f"{label} : « {raw[:20]} » n'est pas un nombre.")
    if not math.isfinite(value) or not low <= value <= high:
        raise Invalid(f"{label} : doit être compris entre {low:g} et {high:g}.")
    return value


def parse_observation_form(form) -> ObservationInput:
    """Checks the fields of `POST …/observations` (photos are checked by the photo pipeline)."""
    raw_uuid = clean_text(form.get("client_uuid"), max_length=64)
    try:
        client_uuid = str(uuid.UUID(raw_uuid))
    except ValueError:
        raise Invalid("client_uuid : un identifiant UUID est obligatoire (fait par le téléphone).")
    issue = clean_text(form.get("issue"), max_length=20)
    if not gusp.is_code("issue", issue):
        raise Invalid("Enjeu : choisissez l'un des sept enjeux.")
    angle = clean_text(form.get("angle"), max_length=20)
    if not gusp.is_code("angle", angle):
        raise Invalid("Angle d'analyse : choisissez l'un des quatre angles.")
    polarity = clean_text(form.get("polarity"), max_length=20) or "negative"
    if not gusp.is_code("polarity", polarity):
        raise Invalid("Point faible ou point fort : choisissez l'un des deux.")
    description = clean_text(form.get("description"), max_length=MAX_DESCRIPTION, multiline=True)
    if len(description) > MAX_DESCRIPTION:
        raise Invalid(f"Commentaire : {MAX_DESCRIPTION} caractères au plus.")
    street = clean_text(form.get("street"), max_length=MAX_STREET)
    if len(street) > MAX_STREET:
        raise Invalid(f"Rue : {MAX_STREET} caractères au plus.")
    lat = _number(form, "lat", "Latitude", -90, 90)
    lon = _number(form, "lon", "Longitude", -180, 180)
    if (lat is None) != (lon is None):
        raise Invalid("Position : la latitude et la longitude vont ensemble.")
    accuracy = _number(form, "accuracy_m", "Précision", 0, 100_000)
    source = clean_text(form.get("location_source"), max_length=20) or None
    if source is not None and not gusp.is_code("location_source", source):
        raise Invalid("Origine de la position inconnue.")
    if lat is not None and source is None:
        source = "device"
    stop_raw = clean_text(form.get("stop_id"), max_length=20)
    if stop_raw and not stop_raw.isdigit():
        raise Invalid("Halte : identifiant invalide.")
    observed_raw = clean_text(form.get("observed_at"), max_length=40)
    observed_at = None
    if observed_raw:
        try:
            observed_at = dt.datetime.fromisoformat(observed_raw)
        except ValueError:
            raise Invalid("Date du constat : format ISO 8601 attendu (ex. 2026-11-25T14:30:00+01:00).")
        if observed_at.tzinfo is None:
            observed_at = observed_at.replace(tzinfo=dt.UTC)
    return ObservationInput(
        client_uuid=client_uuid, issue=issue, angle=angle, polarity=polarity, description=description,
        lat=lat, lon=lon, accuracy_m=accuracy, location_source=source if lat is not None else None,
        street=street, stop_id=int(stop_raw) if stop_raw else None, observed_at=observed_at,
    )
