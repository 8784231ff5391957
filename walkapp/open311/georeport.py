"""GeoReport v2 resources from our data: services from walkapp.gusp, requests from observations,
and the reading of the spec's query and form parameters (French refusals in the spec's shape)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from piccolo.query.functions.aggregate import Max

from .. import clock, gusp
from ..actions.services import LINKED
from ..errors import AppError
from ..observations.filters import all_of
from ..observations.schemas import MAX_DESCRIPTION, MAX_STREET, ConstatInput, ObservationInput
from ..tables import Action, ActionEvent, ActionObservation, Observation, ObservationEvent, Photo
from ..urls import absolute
from ..validation import clean_text, instant, parse_id, parse_int

GROUP = "Enjeux GUSP"
OPEN, CLOSED = "open", "closed"
STATUS_OF = {"new": OPEN, "validated": OPEN, "duplicate": CLOSED, "rejected": CLOSED}
OURS_FOR = {OPEN: ("new", "validated"), CLOSED: ("duplicate", "rejected")}
DONE = "realisee"  # the action state that closes a request once every action linked to it has it
NOTE_PROBLEM = 80  # characters of an action's "problème à traiter" quoted in status_notes
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

@dataclass
class FollowUp:
    """What the follow-up table (Annexe 2) says of one constat: the actions linked to it, oldest
    first (id, problem, state, deadline, pilot), and the last change of any of them."""

    actions: list[dict[str, Any]] = field(default_factory=list)
    updated: dt.datetime | None = None

    @property
    def done(self) -> bool:
        """Every linked action is Réalisée (and there is at least one)."""
        return bool(self.actions) and all(a["state"] == DONE for a in self.actions)

    @property
    def agency(self) -> str:
        """The pilot partners of its actions, each once, in the actions' order."""
        return ", ".join(dict.fromkeys(a["pilot"] for a in self.actions if a["pilot"]))

    @property
    def deadline(self) -> dt.date | None:
        """The latest échéance of its actions: the request is fulfilled once they are all done."""
        return max((a["deadline"] for a in self.actions if a["deadline"]), default=None)


def _latest(*moments: dt.datetime | None) -> dt.datetime | None:
    return max((m for m in moments if m is not None), default=None)


async def follow_ups(ids: list[int]) -> dict[int, FollowUp]:
    """{constat id: FollowUp}, in four queries whatever the number of constats."""
    found = {i: FollowUp() for i in ids}
    if not ids:
        return found
    links = await ActionObservation.select(
        ActionObservation.observation, ActionObservation.action.id.as_alias("id"),
        ActionObservation.action.problem.as_alias("problem"), ActionObservation.action.state.as_alias("state"),
        ActionObservation.action.deadline.as_alias("deadline"),
        ActionObservation.action.pilot.name.as_alias("pilot"),
    ).where(ActionObservation.observation.is_in(ids)).order_by(ActionObservation.action)
    changed: dict[int, dt.datetime] = {}
    action_ids = sorted({link["id"] for link in links})
    if action_ids:
        for row in await ActionEvent.select(ActionEvent.action, Max(ActionEvent.at, alias="at")).where(
                ActionEvent.action.is_in(action_ids)).group_by(ActionEvent.action):
            changed[row["action"]] = clock.as_utc(row["at"])
    for link in links:
        item = found[link["observation"]]
        item.actions.append(link)
        item.updated = _latest(item.updated, changed.get(link["id"]))
    # An action unlinked from the constat changed what Open311 says of it: that event counts too.
    for event in await ActionEvent.select(ActionEvent.before, Max(ActionEvent.at, alias="at")).where(
            (ActionEvent.field == LINKED) & ActionEvent.before.is_in([str(i) for i in ids])).group_by(
            ActionEvent.before):
        item = found.get(parse_id(event["before"]) or 0)
        if item is not None:
            item.updated = _latest(item.updated, clock.as_utc(event["at"]))
    return found


def status_of(row: dict[str, Any], follow: FollowUp) -> str:
    """closed once rejected or a duplicate, or once every action linked to it is Réalisée."""
    return CLOSED if STATUS_OF.get(row["status"]) == CLOSED or follow.done else OPEN


def _action_note(action: dict[str, Any]) -> str:
    problem = " ".join((action["problem"] or "").split())
    if len(problem) > NOTE_PROBLEM:
        problem = problem[:NOTE_PROBLEM - 1].rstrip() + "…"
    quoted = f" « {problem} »" if problem else ""
    return f"action n° {action['id']}{quoted} : {gusp.label('action_state', action['state'])}"


def status_notes(row: dict[str, Any], follow: FollowUp | None = None) -> str:
    """Our own status in French, then each linked action and its state:
    "Validé. Action n° 3 « Encombrants rue d'Aire » : Réalisée ; action n° 5 : En cours."."""
    if row["status"] == "duplicate" and row.get("duplicate_of"):
        notes = f"Doublon du constat n° {row['duplicate_of']}"
    else:
        notes = gusp.label("observation_status", row["status"])
    if follow is not None and follow.actions:
        actions = " ; ".join(_action_note(a) for a in follow.actions)
        notes += ". " + actions[0].upper() + actions[1:] + "."
    return notes


def request_json(row: dict[str, Any], media_url: str, updated: dt.datetime | None,
                 follow: FollowUp | None = None) -> dict[str, Any]:
    follow = follow or FollowUp()
    requested = row.get("observed_at") or row.get("received_at")
    return {
        "service_request_id": row["id"],
        "status": status_of(row, follow),
        "status_notes": status_notes(row, follow),
        "service_name": gusp.label("issue", row["issue"]),
        "service_code": row["issue"],
        "description": row.get("description") or "",
        "agency_responsible": follow.agency,
        "service_notice": "",
        "requested_datetime": clock.iso(requested),  # W3C: 2026-11-25T14:30:00+01:00
        "updated_datetime": clock.iso(_latest(updated, follow.updated, clock.as_utc(row.get("received_at")))),
        "expected_datetime": clock.iso(clock.end_of_day(follow.deadline)),
        "address": row.get("street") or "",
        "address_id": None,
        "zipcode": None,
        "lat": row.get("lat"),
        "long": row.get("lon"),
        "media_url": media_url,
    }


async def requests_json(rows: list[dict[str, Any]], base_url: str) -> list[dict[str, Any]]:
    """The spec's request objects: one query for first photos, one for the constats' last changes,
    and follow_ups' four for their actions, whatever the page's size."""
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
    follow = await follow_ups(ids)
    return [request_json(row, media_url(base_url, first_photo[row["id"]]) if row["id"] in first_photo else "",
                         updated.get(row["id"]), follow[row["id"]]) for row in rows]


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
    if set(statuses) == {OPEN}:
        clauses.append(open_condition())
    elif set(statuses) == {CLOSED}:
        clauses.append(closed_condition())
    return all_of(clauses), page, size


def _followed_up():
    """Sub-selects: the constats linked to an action, and those linked to one not yet Réalisée."""
    linked = ActionObservation.select(ActionObservation.observation)
    pending = ActionObservation.select(ActionObservation.observation).where(
        ActionObservation.action.is_in(Action.select(Action.id).where(Action.state != DONE)))
    return linked, pending


def closed_condition():
    """status=closed in SQL, as status_of decides it."""
    linked, pending = _followed_up()
    return Observation.status.is_in(list(OURS_FOR[CLOSED])) | (
        Observation.id.is_in(linked) & Observation.id.not_in(pending))


def open_condition():
    linked, pending = _followed_up()
    return Observation.status.is_in(list(OURS_FOR[OPEN])) & (
        Observation.id.not_in(linked) | Observation.id.is_in(pending))


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
    if values["lat"] is not None:
        values["location_source"] = gusp.OPEN311_SOURCE  # the client's position, not a phone's here
    return ObservationInput(**values)


MEDIA = "media"


def media_parts(params: Any) -> list[Any]:
    """The files of a multipart POST, which go through the constat's photo pipeline: the `media`
    parts (the extension FixMyStreet and Mark-a-Spot clients send). A file under any other name,
    or `media` sent as text, is refused rather than dropped: the client learns its photo is not
    there."""
    files = []
    for name, value in params.multi_items():
        is_file = not isinstance(value, str)
        if name == MEDIA and is_file:
            files.append(value)
        elif name == MEDIA:
            raise AppError(status=400, detail="media : un fichier image est attendu (envoi multipart) ; "
                                              "pour une adresse de photo, utilisez media_url.")
        elif is_file:
            raise AppError(status=400, detail=f"Fichier reçu dans le champ « {name[:40]} » : la photo d'une "
                                              "demande s'envoie dans le champ media.")
    return files
