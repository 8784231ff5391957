"""The JSON shapes of the API (PRODUCT.md): an observation and its photos, and form parsing."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar.datastructures import UploadFile

from .. import clock, gusp
from ..errors import AppError, Invalid
from ..photos import MAX_BYTES
from ..tables import Observation, Photo
from ..urls import url
from ..validation import clean_text, coordinate, instant, number, parse_id

MAX_DESCRIPTION = 4000
MAX_STREET = 200
MAX_PHOTOS = 8
# Room for the fields and each part's headers: a 4000-character comment is at most 16 kB.
MAX_FORM_OVERHEAD = 1_000_000
# A constat as README promises it: MAX_PHOTOS photos of MAX_BYTES each, plus its fields. Above,
# Litestar refuses the body (413, in the route's error shape) before reading it.
MAX_UPLOAD_BYTES = MAX_PHOTOS * MAX_BYTES + MAX_FORM_OVERHEAD


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
    # The phone's date when it was too far from the walk's to be believed (see fit_to_walk).
    observed_at_set_aside: dt.datetime | None = None
    status: str = "new"
    photos: list[tuple[bytes, str]] = field(default_factory=list)  # (content, file name)
    # A re-visit (marche de suivi): the earlier constat and what became of it. Then issue, angle
    # and polarity may come as None: walkapp.revisits.services.prepare takes the earlier constat's.
    revisit_of: int | None = None
    outcome: str | None = None



async def read_photos(files: list[UploadFile]) -> list[tuple[bytes, str]]:
    """A constat's uploaded photos as (content, file name), for the photo pipeline
    (observations.services.record): at most MAX_PHOTOS, each at most MAX_BYTES, read no further.
    The one reading of uploads, for the JSON API's `photos` and Open311's `media`."""
    if len(files) > MAX_PHOTOS:
        raise AppError(status=422, code="too_many_photos", detail=f"{MAX_PHOTOS} photos au plus par constat.")
    result = []
    for upload in files:
        content = await upload.read(MAX_BYTES + 1)
        if len(content) > MAX_BYTES:
            raise AppError(status=413, code="too_large",
                           detail=f"La photo « {upload.filename} » dépasse {MAX_BYTES // 2**20} Mo.")
        result.append((content, (upload.filename or "")[:200]))
    return result


def photo_urls(photo_id: int, rev: int | None = None) -> dict[str, str]:
    """The photo's URLs; `rev` (its blurring version) makes each blurred version its own URL, so a
    phone's cache never keeps an older redaction (walkapp.privacy)."""
    version = {"v": rev} if rev else None
    return {
        "thumb_url": url("photo", query=version, photo_id=photo_id, variant="vignette.jpg"),
        "display_url": url("photo", query=version, photo_id=photo_id, variant="affichage.jpg"),
        "original_url": url("photo", photo_id=photo_id, variant="original"),
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
        "blurred": get("privacy_state") == "done",
        **photo_urls(get("id"), get("privacy_rev")),
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
        # Outside the neighbourhood's outline (walkapp.outline): true, false, or null (unknown).
        "outside_perimeter": getattr(observation, "outside_perimeter", None),
        "street": observation.street,
        "stop_id": _id(observation.stop),
        "observed_at": clock.iso(observation.observed_at),
        "received_at": clock.iso(observation.received_at),
        "status": observation.status,
        "revisit_of": _id(getattr(observation, "revisit_of", None)),
        "outcome": getattr(observation, "outcome", None),
        "outcome_label": gusp.label("outcome", getattr(observation, "outcome", None)) or None,
        "author": author,
        "photos": [photo_json(p) for p in photos],
    }


def _id(value: Any) -> int | None:
    return getattr(value, "id", value)


# ---------------------------------------------------------------- the one constat input

# Every field of a constat a person or a client may send, with its label in messages. One set of
# rules (cleaning, limits, French messages) for the API, the field edit, requalification and
# Open311, which only rename the fields (`labels`) and choose the status of a refusal.
LABELS = {
    "client_uuid": "client_uuid", "issue": "Enjeu", "angle": "Angle d'analyse",
    "polarity": "Point faible ou point fort", "description": "Commentaire", "street": "Rue",
    "lat": "Latitude", "lon": "Longitude", "accuracy_m": "Précision", "location_source": "Origine de la position",
    "stop_id": "Halte", "observed_at": "Date du constat",
    "revisit_of": "Constat revu", "outcome": "Évolution",
}
MAX_ACCURACY_M = 100_000
STOP_ELSEWHERE = "elle n'appartient pas à cette marche."
# How far (in days, on the site's calendar) a phone's date may be from its walk's date: beyond,
# the phone's clock is wrong (never set, or reset to 1970/2000), not the walk.
WALK_DATE_SLACK_DAYS = 2


class ConstatInput:
    """Reads a constat's fields from a form (a mapping). `check` gives (values, errors): the
    cleaned values by column-like name and French messages by field name; `parse` raises
    `Invalid(fields=...)` instead. `partial`: only the fields present are read (an edit), else
    every field is, with its default. `only`: the fields this caller accepts at all."""

    @classmethod
    def check(cls, form: Any, *, partial: bool = False, only: Any = None,
              labels: dict[str, str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
        names = [n for n in LABELS if only is None or n in only]
        if partial:
            names = [n for n in names if form.get(n) is not None]
        label = {**LABELS, **(labels or {})}
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name in names:
            raw = form.get(name)
            if raw is not None and not isinstance(raw, str):  # a file sent under a field's name
                errors[name] = f"{label[name]} : du texte est attendu, pas un fichier."
                continue
            values[name] = _READERS[name](errors, name, raw, label[name])
        if "lat" in values or "lon" in values:
            _position(values, errors, partial)
        if "revisit_of" in values or "outcome" in values:
            _revisit(form, values, errors, label)
        return values, errors

    @classmethod
    def parse(cls, form: Any, *, partial: bool = False, only: Any = None) -> dict[str, Any]:
        values, errors = cls.check(form, partial=partial, only=only)
        if errors:
            raise Invalid(" ".join(errors.values()), fields=errors)
        return values


def parse_observation_form(form) -> ObservationInput:
    """Checks the fields of `POST …/observations` (photos are checked by the photo pipeline)."""
    return ObservationInput(**ConstatInput.parse(form))


def _choice(kind: str, message: str, default: str | None = None):
    def read(errors: dict[str, str], name: str, value: object, label: str) -> str | None:
        code = clean_text(value, max_length=20) or default
        if code is None and kind in ("location_source", "outcome"):  # optional choices
            return None
        if not gusp.is_code(kind, code or ""):
            errors[name] = f"{label} : {message}"
        elif kind == "location_source" and code == gusp.OPEN311_SOURCE:
            errors[name] = f"{label} : « {code} » est réservée aux constats reçus par Open311."
        return code
    return read


def _text(max_length: int, multiline: bool = False):
    def read(errors: dict[str, str], name: str, value: object, label: str) -> str:
        text = clean_text(value, max_length=max_length, multiline=multiline)
        if len(text) > max_length:
            errors[name] = f"{label} : {max_length} caractères au plus."
        return text
    return read


def _uuid(errors: dict[str, str], name: str, value: object, label: str) -> str:
    try:
        return str(uuid.UUID(clean_text(value, max_length=64)))
    except ValueError:
        errors[name] = f"{label} : un identifiant UUID est obligatoire (fait par le téléphone)."
        return ""


def _coordinate(limit: float):
    def read(errors: dict[str, str], name: str, value: object, label: str) -> float | None:
        return coordinate(errors, name, value, label, limit, required=False)
    return read


def _accuracy(errors: dict[str, str], name: str, value: object, label: str) -> float | None:
    return number(errors, name, value, label, 0, MAX_ACCURACY_M, required=False, hint=" (en mètres)")


def _stop(errors: dict[str, str], name: str, value: object, label: str) -> int | None:
    raw = clean_text(value, max_length=20)
    stop_id = parse_id(raw) if raw else None
    if raw and stop_id is None:
        errors[name] = f"{label} : {STOP_ELSEWHERE}"
    return stop_id


def _observed_at(errors: dict[str, str], name: str, value: object, label: str) -> dt.datetime | None:
    raw = clean_text(value, max_length=60)
    return instant(errors, name, raw, label) if raw else None


def _revisit_id(errors: dict[str, str], name: str, value: object, label: str) -> int | None:
    raw = clean_text(value, max_length=20)
    revisit_of = parse_id(raw) if raw else None
    if raw and revisit_of is None:
        errors[name] = f"{label} : le numéro d'un constat est attendu."
    return revisit_of


_READERS = {
    "client_uuid": _uuid,
    "issue": _choice("issue", "choisissez l'un des sept enjeux."),
    "angle": _choice("angle", "choisissez l'un des quatre angles."),
    "polarity": _choice("polarity", "choisissez l'un des deux.", default="negative"),
    "description": _text(MAX_DESCRIPTION, multiline=True),
    "street": _text(MAX_STREET),
    "lat": _coordinate(90),
    "lon": _coordinate(180),
    "accuracy_m": _accuracy,
    "location_source": _choice("location_source", "valeur inconnue."),
    "stop_id": _stop,
    "observed_at": _observed_at,
    "revisit_of": _revisit_id,
    "outcome": _choice("outcome", "choisissez Résolu, Amélioré, Inchangé ou Dégradé."),
}


def _revisit(form: Any, values: dict[str, Any], errors: dict[str, str], label: dict[str, str]) -> None:
    """A re-visit names the constat it revisits and its outcome, both or neither. Its issue, angle
    and polarity may be left out: they default to the earlier constat's (None until then)."""
    if "revisit_of" in errors or "outcome" in errors:
        return
    if values.get("revisit_of") is None and values.get("outcome") is not None:
        errors["revisit_of"] = (f"{label['revisit_of']} : une évolution ({label['outcome']}) ne va qu'avec le "
                                "constat revu (revisit_of).")
    elif values.get("revisit_of") is not None and values.get("outcome") is None:
        errors["outcome"] = (f"{label['outcome']} : un constat revu dit ce qu'il est devenu : "
                             "Résolu, Amélioré, Inchangé ou Dégradé.")
    if values.get("revisit_of") is None:
        return
    for name in ("issue", "angle", "polarity"):
        if not clean_text(form.get(name), max_length=20):
            errors.pop(name, None)
            values[name] = None


def _position(values: dict[str, Any], errors: dict[str, str], partial: bool) -> None:
    """Latitude and longitude go together; a position without its origin came from the device."""
    if "lat" in errors or "lon" in errors:
        return
    if (values.get("lat") is None) != (values.get("lon") is None) or ("lat" in values) != ("lon" in values):
        errors["lat"] = "Position : la latitude et la longitude vont ensemble."
        return
    if values.get("lat") is None:
        if "location_source" in values:
            values["location_source"] = None
    elif values.get("location_source") is None and not partial:
        values["location_source"] = "device"


def plausible_for_walk(observed_at: dt.datetime, walk_date: dt.date) -> bool:
    """Whether a phone's date can be the moment of a constat of the walk of `walk_date`: the
    same day on the site's calendar, give or take WALK_DATE_SLACK_DAYS (a walk written up the
    next morning, a follow-up sent from the office)."""
    local_day = clock.local(observed_at).date()
    return abs((local_day - walk_date).days) <= WALK_DATE_SLACK_DAYS


def fit_to_walk(data: ObservationInput, walk_date: dt.date) -> None:
    """A phone's date far from its walk's is a wrong clock, not a reason to lose the constat: it
    is kept without observed_at (its reception time then stands), and the phone's value goes in
    its history (services.record). For dates sent by phones; imports and the demo are trusted."""
    if data.observed_at is not None and not plausible_for_walk(data.observed_at, walk_date):
        data.observed_at_set_aside, data.observed_at = data.observed_at, None
