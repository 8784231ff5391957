"""Recording a constat with its photos: the one write path, for the API, the form and the demo.

Order of work, so that nothing is half-made: photos are checked and processed first (a refused
photo stores nothing), their files are written (content-addressed, atomic), and only then the
observation and photo rows go in, in one transaction. If the rows can't go in, the files no row
names are removed again. Files are shared by every constat with the same photo bytes, so whether
a file may go (a failed insert, a deletion) is decided in a write transaction holding the photo
hashes' locks (db.lock_names), where an insert also puts back a file removed meanwhile. Only a
crash between the files and the rows leaves files that no row names (`walkapp check-media`).
The (walk, client_uuid) unique key makes replays idempotent even when they race.
"""

from __future__ import annotations

from typing import Any

from litestar.concurrency import sync_to_thread

from .. import photos
from ..privacy import worker as privacy_worker
from ..db import lock_names, write_transaction
from ..outline import services as outline
from ..revisits import services as revisits
from ..storage import MediaStore
from ..tables import Observation, ObservationEvent, Participant, Photo, Stop, Walk
from .schemas import WALK_DATE_SLACK_DAYS, ObservationInput, observation_json


async def _position(data: ObservationInput, processed: list[photos.ProcessedPhoto]):
    """Where the constat is: the phone's position, else the first photo's GPS, else its halte."""
    if data.lat is not None and data.lon is not None:
        return data.lat, data.lon, data.location_source or "device"
    from_photo = next((p.gps for p in processed if p.gps), None)
    if from_photo:
        return from_photo[0], from_photo[1], "exif"
    if data.stop_id is not None:
        stop = await Stop.select(Stop.lat, Stop.lon).where(Stop.id == data.stop_id).first()
        if stop:
            return stop["lat"], stop["lon"], "stop"
    return None, None, None


def is_unique_violation(error: Exception) -> bool:
    """True for the database refusing a duplicate key, on SQLite and PostgreSQL alike."""
    name = type(error).__name__
    return name in ("UniqueViolationError", "IntegrityError") and (
        "unique" in str(error).lower() or name == "UniqueViolationError"
    )


async def find_by_client_uuid(walk_id: int, client_uuid: str) -> Observation | None:
    return await Observation.objects().where(
        (Observation.walk == walk_id) & (Observation.client_uuid == client_uuid)
    ).first()


async def record(store: MediaStore, walk: Walk, participant: Participant | None,
                 data: ObservationInput) -> tuple[Observation, bool]:
    """Stores a constat and its photos. Returns (observation, created); created is False when the
    client_uuid was already recorded (a replay): then nothing new is stored."""
    existing = await find_by_client_uuid(walk.id, data.client_uuid)
    if existing is not None:
        return existing, False
    await revisits.prepare(walk, data)  # a re-visit refused before any photo work

    processed = [await sync_to_thread(photos.process, content, name) for content, name in data.photos]
    files = [(content, result) for (content, _), result in zip(data.photos, processed, strict=True)]
    try:
        for content, result in files:  # the slow writes, before any lock is taken
            await sync_to_thread(photos.store, store, content, result)
        inserted = await _insert(store, walk, participant, data, files)
        if files:
            privacy_worker.wake()  # its photos are blurred after this answer, never before it
        return inserted
    except Exception as error:
        # No file without its row: the files of this constat that no row names go away.
        await remove_unreferenced(store, [photos.stored_paths(result) for _, result in files])
        if not is_unique_violation(error):
            raise
        # Another request with the same client_uuid won the race: answer with its constat.
        winner = await find_by_client_uuid(walk.id, data.client_uuid)
        if winner is None:
            raise
        return winner, False


async def _insert(store: MediaStore, walk: Walk, participant: Participant | None, data: ObservationInput,
                  files: list[tuple[bytes, photos.ProcessedPhoto]]) -> tuple[Observation, bool]:
    """The rows of a constat whose files are written, in one transaction."""
    processed = [result for _, result in files]
    lat, lon, source = await _position(data, processed)
    observation = Observation(
        walk=walk.id,
        participant=participant.id if participant else None,
        client_uuid=data.client_uuid,
        issue=data.issue,
        angle=data.angle,
        polarity=data.polarity,
        description=data.description,
        lat=lat,
        lon=lon,
        accuracy_m=data.accuracy_m,
        location_source=source,
        street=data.street,
        stop=data.stop_id,
        observed_at=data.observed_at,
        status=data.status,
        revisit_of=data.revisit_of,
        outcome=data.outcome,
    )
    async with write_transaction():
        if data.revisit_of is not None:
            # Again under the write lock: the earlier constat may have been rejected meanwhile.
            await revisits.prepare(walk, data)
            observation.revisit_of = data.revisit_of
        # The outline's lock too: an import recomputing the flags never misses this constat.
        await lock_names([*(p.sha256 for p in processed), *outline.lock_for(walk)])
        observation.outside_perimeter = await outline.flag(walk, lat, lon)
        # A constat deleted meanwhile may have taken files of the same bytes with it: under the
        # lock, put back any that is missing before a row names it (a no-op otherwise).
        stored = [await sync_to_thread(photos.store, store, content, result) for content, result in files]
        await observation.save()
        for position, item in enumerate(stored):
            await _photo_row(observation, item, position).save()
        if data.observed_at_set_aside is not None:
            await ObservationEvent(observation=observation.id, field="observed_at",
                                   before=data.observed_at_set_aside.isoformat(), note=DATE_SET_ASIDE).save()
    return observation, True


DATE_SET_ASIDE = (f"Date du téléphone écartée : à plus de {WALK_DATE_SLACK_DAYS} jours de la date de la marche "
                  "(horloge du téléphone mal réglée ?). La date de réception fait foi.")


def _photo_row(observation: Observation, item: photos.StoredPhoto, position: int) -> Photo:
    p = item.processed
    return Photo(
        observation=observation.id, sha256=p.sha256, original_path=item.original_path,
        display_path=item.display_path, thumb_path=item.thumb_path, content_type=p.content_type,
        width=p.width, height=p.height, bytes=p.bytes, taken_at=p.taken_at,
        gps_lat=p.gps[0] if p.gps else None, gps_lon=p.gps[1] if p.gps else None,
        position=position,
    )


async def remove_unreferenced(store: MediaStore, stored: list[photos.StoredPhoto]) -> None:
    """Removes the files of `stored` that no photo row names, deciding under the photos' locks
    (a concurrent constat of the same bytes either already has its row, or will put them back)."""
    if not stored:
        return
    async with write_transaction():
        await lock_names(item.processed.sha256 for item in stored)
        await _remove_files_of(store, [(item.processed.sha256, (item.original_path, item.display_path,
                                                                item.thumb_path)) for item in stored])


async def _remove_files_of(store: MediaStore, candidates: list[tuple[str, tuple[str, ...]]]) -> None:
    """Inside a write_transaction holding the hashes' locks: removes the files of each hash no
    photo row names any more."""
    for sha256, paths in candidates:
        if not await Photo.exists().where(Photo.sha256 == sha256):
            for relative in paths:
                if relative:  # "": an original purged, a photo not blurred yet
                    store.remove(relative)


async def observations_with_photos(where, limit: int | None = None) -> list[dict[str, Any]]:
    """Constats as the API shows them, newest first, with their photos and author (3 queries)."""
    query = Observation.objects().where(where).order_by(Observation.received_at, ascending=False).order_by(
        Observation.id, ascending=False)
    observations = await (query.limit(limit) if limit else query)
    if not observations:
        return []
    ids = [o.id for o in observations]
    photos = await Photo.objects().where(Photo.observation.is_in(ids)).order_by(Photo.position)
    authors = {row["id"]: row["display_name"] for row in await Participant.select(
        Participant.id, Participant.display_name).where(
        Participant.id.is_in([o.participant for o in observations if o.participant] or [0]))}
    by_observation: dict[int, list[Photo]] = {}
    for photo in photos:
        by_observation.setdefault(photo.observation, []).append(photo)
    return [observation_json(o, by_observation.get(o.id, []), authors.get(o.participant)) for o in observations]


async def delete_observation(store: MediaStore, observation: Observation) -> None:
    """Deletes a constat, its photo rows, and the files no other photo row still names: decided in
    the transaction that removes the rows, under the photos' locks, so a concurrent constat with
    the same photo (same bytes, same files) never loses them."""
    async with write_transaction():
        photo_rows = await Photo.select(Photo.sha256, Photo.original_path, Photo.display_path, Photo.thumb_path,
                                        Photo.blurred_display_path, Photo.blurred_thumb_path).where(
            Photo.observation == observation.id)
        await lock_names(row["sha256"] for row in photo_rows)
        await Photo.delete().where(Photo.observation == observation.id)
        await Observation.update({Observation.duplicate_of: None}).where(Observation.duplicate_of == observation.id)
        # Its re-visits lose what they re-visited: a plain constat again (an outcome needs its constat).
        await Observation.update({Observation.revisit_of: None, Observation.outcome: None}).where(
            Observation.revisit_of == observation.id)
        await Observation.delete().where(Observation.id == observation.id)
        await _remove_files_of(store, [(row["sha256"], (row["original_path"], row["display_path"],
                                                        row["thumb_path"], row["blurred_display_path"],
                                                        row["blurred_thumb_path"])) for row in photo_rows])
