"""Walks, their haltes and their participants: reading, validating and the writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import gusp
from ..db import write_transaction
from ..outline import services as outline
from ..qr import qr_svg
from ..errors import BadRequest, Forbidden, NotFound
from ..security import new_token
from ..tables import Neighbourhood, Participant, StaffUser, Stop, Street, Walk
from ..urls import absolute
from ..validation import clean_text, coordinate, french_date, parse_id, required_text

if TYPE_CHECKING:
    from ..policy import Actor

MAX_TITLE = 200
MAX_STOP_NAME = 200
MAX_DISPLAY_NAME = 60
MAX_STOPS = 50


@dataclass
class StopInput:
    name: str
    lat: float | None
    lon: float | None
    id: int | None = None


@dataclass
class WalkInput:
    """A walk form as typed: kept whole so a refused form comes back with what was written."""

    neighbourhood: int | None = None
    title: str = ""
    date: dt.date | None = None
    date_text: str = ""
    stops: list[StopInput] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    follows: int | None = None  # a follow-up walk (marche de suivi): the earlier walk it re-visits


def parse_walk_form(form) -> WalkInput:
    """From the walk form's fields (a multi-dict: stop_name etc. repeat, one per halte row)."""
    data = WalkInput()
    errors = data.errors
    data.neighbourhood = parse_id(form.get("neighbourhood"))
    if data.neighbourhood is None:
        errors["neighbourhood"] = "Quartier : choisissez un quartier."
    data.title = required_text(errors, "title", form.get("title"), "Titre", MAX_TITLE)
    data.date_text = clean_text(form.get("date"), max_length=20)
    data.date = french_date(errors, "date", data.date_text, "Date")

    names, lats, lons = form.getall("stop_name", []), form.getall("stop_lat", []), form.getall("stop_lon", [])
    ids = form.getall("stop_id", [])
    if not (len(names) == len(lats) == len(lons)):
        raise BadRequest("Le formulaire des haltes est incomplet. Rechargez la page.")
    ids = ids + [""] * (len(names) - len(ids))
    for index, (name, lat, lon, stop_id) in enumerate(zip(names, lats, lons, ids, strict=False), start=1):
        if not any(clean_text(v, max_length=40) for v in (name, lat, lon)):
            continue  # an empty row left at the end of the form
        stop_errors: dict[str, str] = {}
        stop = StopInput(
            name=required_text(stop_errors, "name", name, f"Halte {index}, nom", MAX_STOP_NAME),
            lat=coordinate(stop_errors, "lat", lat, f"Halte {index}, latitude", 90),
            lon=coordinate(stop_errors, "lon", lon, f"Halte {index}, longitude", 180),
            id=parse_id(stop_id),
        )
        for key, message in stop_errors.items():
            errors[f"stop_{index}_{key}"] = message
        data.stops.append(stop)
    raw_follows = clean_text(form.get("follows"), max_length=20)
    data.follows = parse_id(raw_follows) if raw_follows else None
    if raw_follows and data.follows is None:
        errors["follows"] = "Marche suivie : ce numéro de marche n'est pas valide."
    if not data.stops:
        errors["stops"] = "Parcours : ajoutez au moins une halte (un nom et un point)."
    elif len(data.stops) > MAX_STOPS:
        errors["stops"] = f"Parcours : {MAX_STOPS} haltes au plus."
    return data


async def check_walk_input(data: WalkInput) -> None:
    if data.neighbourhood is not None and not await Neighbourhood.exists().where(
        Neighbourhood.id == data.neighbourhood
    ):
        data.errors["neighbourhood"] = "Quartier : ce quartier n'existe pas."
    if data.follows is not None:
        await _check_follows(data)


async def _check_follows(data: WalkInput) -> None:
    """A follow-up walk re-visits an earlier walk of the same quartier, on a later day."""
    earlier = await Walk.objects().where(Walk.id == data.follows).first()
    if earlier is None:
        data.errors["follows"] = "Marche suivie : cette marche n'existe pas."
        return
    if data.neighbourhood is not None and earlier.neighbourhood != data.neighbourhood:
        data.errors["neighbourhood"] = ("Quartier : une marche de suivi se fait dans le quartier de la marche "
                                        f"suivie (« {earlier.title} »).")
    if data.date is not None and data.date <= earlier.date:
        data.errors["date"] = (f"Date : une marche de suivi a lieu après la marche suivie, du "
                               f"{earlier.date:%d/%m/%Y}.")


async def follow_up_input(earlier: Walk) -> WalkInput:
    """The form of a new follow-up walk of `earlier`: its quartier, a title, its route of haltes
    copied (every halte editable, as on any walk); the date is the coordinator's to choose."""
    return WalkInput(neighbourhood=getattr(earlier.neighbourhood, "id", earlier.neighbourhood),
                     title=f"Marche de suivi : {earlier.title}"[:MAX_TITLE], follows=earlier.id,
                     stops=[StopInput(s.name, s.lat, s.lon) for s in await walk_stops(earlier.id)])


async def follow_ups(walk_id: int) -> list[Walk]:
    """The follow-up walks of a walk, oldest first."""
    return await Walk.objects().where(Walk.follows == walk_id).order_by(Walk.date).order_by(Walk.id)


async def get_walk(walk_id: int) -> Walk:
    walk = await Walk.objects(Walk.neighbourhood).where(Walk.id == walk_id).first()
    if walk is None:
        raise NotFound("Cette marche n'existe pas.")
    return walk


async def list_walks() -> list[Walk]:
    return await Walk.objects(Walk.neighbourhood).order_by(Walk.date, ascending=False).order_by(Walk.id)


async def walk_stops(walk_id: int) -> list[Stop]:
    return await Stop.objects().where(Stop.walk == walk_id).order_by(Stop.position)


async def walk_participants(walk_id: int) -> list[Participant]:
    return await Participant.objects(Participant.user).where(Participant.walk == walk_id).order_by(
        Participant.joined_at
    )


async def neighbourhoods() -> list[Neighbourhood]:
    return await Neighbourhood.objects().order_by(Neighbourhood.name)


async def perimeter_streets(neighbourhood_id: int) -> list[Street]:
    return await Street.objects().where(Street.neighbourhood == neighbourhood_id).order_by(Street.position)


async def create_walk(data: WalkInput, user: StaffUser | None) -> Walk:
    async with write_transaction():
        walk = Walk(
            neighbourhood=data.neighbourhood,
            title=data.title,
            date=data.date,
            status="planned",
            join_secret=new_token(18),
            created_by=user.id if user else None,
            follows=data.follows,
        )
        await walk.save()
        await _save_stops(walk.id, data.stops)
    return walk


async def update_walk(walk: Walk, data: WalkInput) -> None:
    if walk.status == "closed":
        raise Forbidden("Cette marche est close : elle ne peut plus être modifiée.")
    async with write_transaction():
        await Walk.update(
            {Walk.neighbourhood: data.neighbourhood, Walk.title: data.title, Walk.date: data.date}
        ).where(Walk.id == walk.id)
        await _save_stops(walk.id, data.stops)
        if data.neighbourhood != getattr(walk.neighbourhood, "id", walk.neighbourhood):
            await outline.refresh_walk(walk.id)  # its constats, against the other quartier's outline


async def _save_stops(walk_id: int, stops: list[StopInput]) -> None:
    """The haltes as submitted, in order. Existing ones keep their id (constats point at them);
    those left out are deleted. Kept ones move out of the way first: (walk, position) is unique."""
    existing = {row["id"] for row in await Stop.select(Stop.id).where(Stop.walk == walk_id)}
    kept = {s.id for s in stops if s.id in existing}
    if existing - kept:
        await Stop.delete().where((Stop.walk == walk_id) & Stop.id.is_in(list(existing - kept)))
    if kept:
        await Stop.update({Stop.position: Stop.position + 1000}).where(Stop.walk == walk_id)
    for position, stop in enumerate(stops, start=1):
        values = {Stop.name: stop.name, Stop.lat: stop.lat, Stop.lon: stop.lon, Stop.position: position}
        if stop.id in kept:
            await Stop.update(values).where(Stop.id == stop.id)
        else:
            await Stop(walk=walk_id, name=stop.name, lat=stop.lat, lon=stop.lon, position=position).save()


async def set_status(walk: Walk, status: str) -> None:
    if not gusp.is_code("walk_status", status):
        raise BadRequest("Statut de marche inconnu.")
    await Walk.update({Walk.status: status}).where(Walk.id == walk.id)


def join_url(base_url: str, walk: Walk) -> str:
    return absolute(base_url, "join.page", secret=walk.join_secret)


def join_qr_svg(url: str) -> str:
    """The join link as an SVG QR code (walkapp.qr)."""
    return qr_svg(url, "Code QR pour rejoindre la marche")


async def walk_by_join_secret(secret: str) -> Walk:
    walk = None
    if 8 <= len(secret) <= 64:
        walk = await Walk.objects(Walk.neighbourhood).where(Walk.join_secret == secret).first()
    if walk is None:
        raise NotFound("Ce lien d'invitation ne correspond à aucune marche. Vérifiez-le auprès de l'organisateur.")
    return walk


def clean_display_name(errors: dict[str, str], value: object) -> str:
    return required_text(errors, "display_name", value, "Votre nom", MAX_DISPLAY_NAME)


async def join_walk(walk: Walk, display_name: str, user: StaffUser | None) -> Participant:
    if walk.status == "closed":
        raise Forbidden("Cette marche est close : on ne peut plus la rejoindre.")
    participant = Participant(walk=walk.id, display_name=display_name,
                              user=user.id if user else None, token=new_token())
    await participant.save()
    return participant


async def participant_of(actor: Actor, walk: Walk) -> Participant | None:
    """The participant row `actor` acts as on `walk` (the Actor holds only its id), or None."""
    participant_id = actor.participant_in(walk)
    if participant_id is None:
        return None
    return await Participant.objects().where(Participant.id == participant_id).first()


async def participant_by_token(walk_id: int, token: str | None) -> Participant | None:
    if not token:
        return None
    return await Participant.objects().where(
        (Participant.walk == walk_id) & (Participant.token == token)
    ).first()
