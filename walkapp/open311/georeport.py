"""GeoReport v2 resources from our data: services from walkapp.gusp, requests from observations,
and the reading of the spec's query and form parameters (French refusals in the spec's shape)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from collections.abc import Mapping

from piccolo.query.functions.aggregate import Max

from .. import clock, gusp
from ..errors import AppError
from ..observations.filters import all_of
from ..observations.schemas import MAX_DESCRIPTION, MAX_STREET, ConstatInput, ObservationInput
from ..tables import Observation, ObservationEvent, Photo
from ..urls import absolute
from ..validation import clean_text, instant, parse_id, parse_int

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
    return [request_json(row, media_url(base_url, first_photo[row["id"]]) if row["id"] in first_photo else "",
                         updated.get(row["id"])) for row in rows]


def media_url(base_url: str, photo_id: int) -> str:
    return absolute(base_url, "open311.media", name=f"{photo_id}.jpg")


def _one(params: Mapping[str, Any], name: str, max_length: int = 2000) -> str:
    value = params.get(name)
    return clean_text(value, max_length=max_length) if value is not None else ""


def _codes(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


def parse_datetime(raw: str, name: str) -> dt.datetime:
    """A W3C date of a filter, in UTC (SQLite compares stored UTC text: compare in UTC)."""
    errors: dict[str, str] = {}
    value = instant(errors, name, raw, name, bounded=False)
    if value is None:
        raise AppError(status=400, detail=errors[name])
    return value


def _positive(params: Mapping[str, Any], name: str, default: int, high: int) -> int:
    raw = _one(params, name, 20)
    if not raw:
        return default
    number = parse_int(raw, low=1, high=high)
    if number is None:
        raise AppError(status=400, detail=f"{name} : un nombre entier de 1 à {high} est attendu.")
    return number


def requests_where(params: Mapping[str, Any], now: dt.datetime | None = None):
    """The spec's filters as a Piccolo condition, and (page, page_size)."""
    page = _positive(params, "page", 1, 1_000_000)
    size = _positive(params, "page_size", MAX_PAGE_SIZE, MAX_PAGE_SIZE)
    ids_raw = _one(params, "service_request_id")
    if ids_raw:  # "This overrides all other arguments."
        codes = _codes(ids_raw)
        ids = [parse_int(i, low=0, high=10**12) for i in codes]
        if not ids or len(ids) > MAX_IDS or None in ids:
            raise AppError(status=400, detail="service_request_id : des numéros de constat séparés par des virgules.")
        # A number that can't name a row (past MAX_ID) finds nothing, as an unknown one does.
        return Observation.id.is_in([i for i in ids if parse_id(i)] or [0]), page, size
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

# The spec's names of a constat's fields (lat is lat); the messages name what the client sent.
SPEC_NAMES = {"issue": "service_code", "lon": "long", "street": "address_string",
              "angle": "attribute[angle]", "polarity": "attribute[polarity]", "description": "description",
              "lat": "lat"}
POSTED = ("client_uuid", "issue", "angle", "polarity", "description", "street", "lat", "lon")


def parse_post(params: Mapping[str, Any]) -> ObservationInput:
    """The form of POST requests: service_code, a location (lat/long, address_string or
    address_id), description, attribute[angle], attribute[polarity], media_url. Read by the
    constat's own rules (ConstatInput) under the spec's names; refusals keep the spec's
    statuses: 404 for an unknown service_code, 400 for the rest."""
    code = _one(params, "service_code", 40)
    if not code:
        raise AppError(status=400, detail="service_code manquant : choisissez l'un des sept enjeux (voir services).")
    if not gusp.is_code("issue", code):
        raise AppError(status=404, detail=f"service_code « {code[:40]} » inconnu : utilisez l'un des sept enjeux.")
    fields = {ours: params.get(spec) for ours, spec in SPEC_NAMES.items()}
    fields["client_uuid"] = str(uuid.uuid4())
    fields["angle"] = fields["angle"] or DEFAULT_ANGLE
    fields["polarity"] = fields["polarity"] or DEFAULT_POLARITY
    values, errors = ConstatInput.check(fields, only=POSTED, labels=SPEC_NAMES)
    if errors:
        raise AppError(" ".join(errors.values()), status=400,
                       fields={SPEC_NAMES.get(name, name): message for name, message in errors.items()})
    address_id = _one(params, "address_id", 100)
    if values["lat"] is None and not values["street"] and not address_id:
        raise AppError(status=400, detail="Lieu manquant : envoyez lat et long, ou address_string, ou address_id.")
    description = values["description"]
    media = _one(params, "media_url", 1000)
    if media and media.lower().startswith(("http://", "https://")) and " " not in media:
        line = f"Média joint : {media}"
        if len(description) + len(line) + 2 <= MAX_DESCRIPTION:
            values["description"] = f"{description}\n\n{line}" if description else line
    if not values["street"] and address_id:
        values["street"] = f"Adresse n° {address_id}"[:MAX_STREET]
    return ObservationInput(**values)
