"""GeoReport v2 resources from our data: services from walkapp.gusp, requests from observations,
and the reading of the spec's query and form parameters (French refusals in the spec's shape)."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any
from collections.abc import Mapping

from piccolo.query.functions.aggregate import Max

from .. import clock, gusp
from ..errors import AppError
from ..observations.filters import all_of
from ..observations.schemas import MAX_DESCRIPTION, MAX_STREET, ObservationInput
from ..tables import Observation, ObservationEvent, Photo
from ..validation import clean_text, parse_id

GROUP = "Enjeux GUSP"
OPEN, CLOSED = "open", "closed"
STATUS_OF = {"new": OPEN, "validated": OPEN, "duplicate": CLOSED, "rejected": CLOSED}
OURS_FOR = {OPEN: ("new", "validated"), CLOSED: ("duplicate", "rejected")}
DEFAULT_ANGLE, DEFAULT_POLARITY = "gestion", "negative"
DEFAULT_DAYS = 90
MAX_PAGE_SIZE = 1000
MAX_IDS = 1000


# ---------------------------------------------------------------- services

def service(term: gusp.Term) -> dict[str, Any]:
    return {
        "service_code": term.code,
        "service_name": term.label,
        "description": term.description,
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(dict.fromkeys(w for w in (term.short.lower(), term.code) if w)),
        "group": GROUP,
    }


def services() -> list[dict[str, Any]]:
    return [service(term) for term in gusp.ISSUES]


def definition(code: str) -> dict[str, Any]:
    if not gusp.is_code("issue", code):
        raise AppError(status=404, detail=f"service_code « {code[:40]} » inconnu : utilisez l'un des sept enjeux.")
    default_angle = gusp.label("angle", DEFAULT_ANGLE)
    return {
        "service_code": code,
        "attributes": [
            {"variable": True, "code": "angle", "datatype": "singlevaluelist", "required": False,
             "datatype_description": "", "order": 1,
             "description": f"Angle d'analyse : d'où vient le dysfonctionnement ? (par défaut : {default_angle})",
             "values": [{"key": t.code, "name": t.label} for t in gusp.ANGLES]},
            {"variable": True, "code": "polarity", "datatype": "singlevaluelist", "required": False,
             "datatype_description": "", "order": 2,
             "description": "Point faible ou point fort (par défaut : point faible)",
             "values": [{"key": t.code, "name": t.label} for t in gusp.POLARITIES]},
        ],
    }


# ---------------------------------------------------------------- requests, read

def status_notes(row: dict[str, Any]) -> str:
    if row["status"] == "duplicate" and row.get("duplicate_of"):
        return f"Doublon du constat n° {row['duplicate_of']}"
    return gusp.label("observation_status", row["status"])


def request_json(row: dict[str, Any], media_url: str, updated: dt.datetime | None) -> dict[str, Any]:
    requested = row.get("observed_at") or row.get("received_at")
    return {
        "service_request_id": row["id"],
        "status": STATUS_OF.get(row["status"], OPEN),
        "status_notes": status_notes(row),
        "service_name": gusp.label("issue", row["issue"]),
        "service_code": row["issue"],
        "description": row.get("description") or "",
        "agency_responsible": "",
        "service_notice": "",
        "requested_datetime": clock.iso(requested),  # W3C: 2026-11-25T14:30:00+01:00
        "updated_datetime": clock.iso(max(d for d in (updated, clock.as_utc(row.get("received_at"))) if d)),
        "expected_datetime": None,
        "address": row.get("street") or "",
        "address_id": None,
        "zipcode": None,
        "lat": row.get("lat"),
        "long": row.get("lon"),
        "media_url": media_url,
    }


async def requests_json(rows: list[dict[str, Any]], base_url: str) -> list[dict[str, Any]]:
    """The spec's request objects, with one query for first photos and one for last changes."""
    ids = [row["id"] for row in rows]
    first_photo: dict[int, int] = {}
    updated: dict[int, dt.datetime] = {}
    if ids:
        for photo in await Photo.select(Photo.id, Photo.observation).where(Photo.observation.is_in(ids)).order_by(
                Photo.observation, Photo.position, Photo.id):
            first_photo.setdefault(photo["observation"], photo["id"])
        for event in await ObservationEvent.select(ObservationEvent.observation, Max(ObservationEvent.at, alias="at")
                                                   ).where(ObservationEvent.observation.is_in(ids)).group_by(
                ObservationEvent.observation):
            # SQLite gives MAX(at) back as text, PostgreSQL as a datetime: one type for max().
            updated[event["observation"]] = clock.as_utc(event["at"])
    base = base_url.rstrip("/")
    return [request_json(row, f"{base}{media_path(first_photo[row['id']])}" if row["id"] in first_photo else "",
                         updated.get(row["id"])) for row in rows]


def media_path(photo_id: int) -> str:
    return f"/open311/v2/media/{photo_id}.jpg"


def _one(params: Mapping[str, Any], name: str, max_length: int = 2000) -> str:
    value = params.get(name)
    return clean_text(value, max_length=max_length) if value is not None else ""


def _codes(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def parse_datetime(raw: str, name: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(raw.replace(" ", "+") if "T" in raw else raw)
    except ValueError:
        raise AppError(status=400, detail=f"{name} : date W3C attendue, par exemple 2026-11-25T14:30:00+01:00.")
    return clock.assume_local(value)  # in UTC: SQLite compares stored UTC text


def _positive(params: Mapping[str, Any], name: str, default: int, high: int) -> int:
    raw = _one(params, name, 20)
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise AppError(status=400, detail=f"{name} : un nombre entier de 1 à {high} est attendu.")
    return int(raw)


def requests_where(params: Mapping[str, Any], now: dt.datetime | None = None):
    """The spec's filters as a Piccolo condition, and (page, page_size)."""
    page = _positive(params, "page", 1, 1_000_000)
    size = _positive(params, "page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    ids_raw = _one(params, "service_request_id")
    if ids_raw:  # "This overrides all other arguments."
        ids = _codes(ids_raw)
        if not ids or len(ids) > MAX_IDS or not all(i.isascii() and i.isdigit() for i in ids):
            raise AppError(status=400, detail="service_request_id : des numéros de constat séparés par des virgules.")
        # A number past the database's integer names no constat (and would overflow the query).
        known = [n for n in map(parse_id, ids) if n is not None] or [0]  # no row has id 0
        return Observation.id.is_in(known), page, size
    clauses = []
    codes = _codes(_one(params, "service_code"))
    for code in codes:
        if not gusp.is_code("issue", code):
            raise AppError(status=404, detail=f"service_code « {code[:40]} » inconnu : utilisez l'un des sept enjeux.")
    if codes:
        clauses.append(Observation.issue.is_in(codes))
    start_raw, end_raw = _one(params, "start_date", 60), _one(params, "end_date", 60)
    start = parse_datetime(start_raw, "start_date") if start_raw else None
    end = parse_datetime(end_raw, "end_date") if end_raw else None
    if start is None and end is None:
        start = (now or clock.now()) - dt.timedelta(days=DEFAULT_DAYS)
    if start and end and start > end:
        raise AppError(status=400, detail="start_date doit précéder end_date.")
    # requested_datetime is observed_at when the phone gave it, else received_at.
    if start is not None:
        clauses.append((Observation.observed_at >= start) | (
            Observation.observed_at.is_null() & (Observation.received_at >= start)))
    if end is not None:
        clauses.append((Observation.observed_at <= end) | (
            Observation.observed_at.is_null() & (Observation.received_at <= end)))
    statuses = _codes(_one(params, "status"))
    if any(s not in OURS_FOR for s in statuses):
        raise AppError(status=400, detail="status : « open » ou « closed » (séparés par des virgules).")
    if statuses:
        clauses.append(Observation.status.is_in([ours for s in statuses for ours in OURS_FOR[s]]))
    return all_of(clauses), page, size


# ---------------------------------------------------------------- requests, write

def _coordinate(params: Mapping[str, Any], name: str, limit: float) -> float | None:
    raw = _one(params, name, 40).replace(",", ".")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise AppError(status=400, detail=f"{name} : « {raw[:20]} » n'est pas un nombre (degrés décimaux WGS 84).")
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise AppError(status=400, detail=f"{name} : doit être compris entre -{limit:g} et {limit:g}.")
    return value


def parse_post(params: Mapping[str, Any]) -> ObservationInput:
    """The form of POST requests: service_code, a location (lat/long, address_string or
    address_id), description, attribute[angle], attribute[polarity], media_url."""
    code = _one(params, "service_code", 40)
    if not code:
        raise AppError(status=400, detail="service_code manquant : choisissez l'un des sept enjeux (voir services).")
    if not gusp.is_code("issue", code):
        raise AppError(status=404, detail=f"service_code « {code[:40]} » inconnu : utilisez l'un des sept enjeux.")
    lat, lon = _coordinate(params, "lat", 90), _coordinate(params, "long", 180)
    if (lat is None) != (lon is None):
        raise AppError(status=400, detail="lat et long vont ensemble : envoyez les deux.")
    address = _one(params, "address_string", MAX_STREET)
    address_id = _one(params, "address_id", 100)
    if lat is None and not address and not address_id:
        raise AppError(status=400, detail="Lieu manquant : envoyez lat et long, ou address_string, ou address_id.")
    if len(address) > MAX_STREET:
        raise AppError(status=400, detail=f"address_string : {MAX_STREET} caractères au plus.")
    description = clean_text(params.get("description"), max_length=MAX_DESCRIPTION, multiline=True)
    if len(description) > MAX_DESCRIPTION:
        raise AppError(status=400, detail=f"description : {MAX_DESCRIPTION} caractères au plus.")
    angle = _one(params, "attribute[angle]", 40) or DEFAULT_ANGLE
    if not gusp.is_code("angle", angle):
        raise AppError(status=400, detail="attribute[angle] : valeur inconnue (voir la définition du service).")
    polarity = _one(params, "attribute[polarity]", 40) or DEFAULT_POLARITY
    if not gusp.is_code("polarity", polarity):
        raise AppError(status=400, detail="attribute[polarity] : « negative » ou « positive ».")
    media = _one(params, "media_url", 1000)
    if media and media.lower().startswith(("http://", "https://")) and " " not in media:
        line = f"Média joint : {media}"
        if len(description) + len(line) + 2 <= MAX_DESCRIPTION:
            description = f"{description}\n\n{line}" if description else line
    if not address and address_id:
        address = f"Adresse n° {address_id}"[:MAX_STREET]
    return ObservationInput(client_uuid=str(uuid.uuid4()), issue=code, angle=angle, polarity=polarity,
                            description=description, lat=lat, lon=lon,
                            location_source="device" if lat is not None else None, street=address)
