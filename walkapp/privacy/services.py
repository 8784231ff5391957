"""Photos safe to share: the blurring jobs, the one rule of which image a reader gets, manual
redaction, the originals' retention and the erasure of a participant (PRODUCT.md, "Privacy").

The job table is the photo table itself: a photo row is born `privacy_state = "pending"` in the
transaction of its constat (the 201 does not wait for any blurring), and the workers of
`walkapp serve` (a background task in each server process, walkapp.privacy.worker) claim pending
rows one at a time with a conditional UPDATE: the row whose claim is still empty, or stale (a
worker that died), gets this worker's random token, and only the worker that reads its own token
back processes it. So two processes never blur the same photo twice, on SQLite and PostgreSQL
alike, without a lock held during the work; a restart finds the pending rows where it left them.

Who sees what:
- Staff (coordinators, agents, the committee) see the unblurred display image and thumbnail on
  their pages (they review what the photo shows) and the blurred one beside it (what others see).
  Only coordinators get the original (policy "photo.original").
- Everyone else (participants, the public, Open311, the restitution, the photo zip without
  originals) gets `shared_image_path`: the blurred image, or a neutral placeholder until the photo
  is blurred (or if blurring failed). Never the unblurred one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar.concurrency import sync_to_thread

from .. import clock, photos
from ..db import lock_names, write_transaction
from ..errors import AppError, Invalid
from ..settings import STATIC_DIR
from ..storage import MediaStore
from ..tables import Observation, ObservationEvent, Participant, Photo
from . import detect, images

PENDING, DONE, FAILED = "pending", "done", "failed"
LEASE = dt.timedelta(minutes=5)  # a claim older than this belongs to a worker that died
MAX_ATTEMPTS = 3
DISPLAY, THUMB = "display", "thumb"
# The neutral images shown until a photo is blurred (static files, also offline).
PLACEHOLDERS = {DISPLAY: STATIC_DIR / "img" / "photo-floutage.jpg",
                THUMB: STATIC_DIR / "img" / "photo-floutage-vignette.jpg"}
REDACTION_FIELD = "photo.redaction"  # ObservationEvent.field of a manual redaction


# ---------------------------------------------------------------- the one rule for non-staff readers

def shared_image_path(store: MediaStore, photo: Any, size: str = DISPLAY) -> Path:
    """THE answer to "which image file does a reader who is not staff get for this photo": its
    blurred display (`size="display"`) or thumbnail (`"thumb"`), or the neutral placeholder while
    it is not blurred yet (or blurring failed, or its file is gone). Participants' photo routes,
    Open311's media, the photo zip without originals and the public restitution all call this.
    `photo` is a Photo row or a dict with its columns (privacy_state, blurred_*_path)."""
    relative = shared_image_file(photo, size)
    if relative:
        path = store.path(relative)
        if path.is_file():
            return path
    return PLACEHOLDERS[size]


def shared_image_file(photo: Any, size: str = DISPLAY) -> str | None:
    """shared_image_path's decision without the media folder: the blurred file's path relative to
    it, or None for the placeholder."""
    get = photo.get if isinstance(photo, dict) else lambda name: getattr(photo, name)
    relative = get("blurred_display_path" if size == DISPLAY else "blurred_thumb_path")
    return relative if get("privacy_state") == DONE and relative else None


def is_placeholder(path: Path) -> bool:
    return path in PLACEHOLDERS.values()


@dataclass(frozen=True)
class ReaderImage:
    path: Path
    extension: str
    rev: int | None  # the blurring version this file is (None: it does not change with it)
    placeholder: bool = False

    def cache_control(self, asked_rev: str | None) -> str:
        """A placeholder is never kept (the blurred image replaces it); a blurred image asked for
        with its version (`?v=`, in the API's photo URLs) never changes under that URL."""
        if self.placeholder:
            return "no-store"
        if self.rev is None or asked_rev == str(self.rev):
            return "private, max-age=31536000, immutable"
        return "private, no-cache"


PURGED = ("L'original de cette photo a été supprimé au terme de sa durée de conservation : "
          "seule l'image floutée est gardée.")


def reader_image(store: MediaStore, photo: Any, kind: str, unblurred: bool) -> ReaderImage:
    """The file of a photo route: kind "original" (the caller checked "photo.original"),
    "display" / "thumb" (unblurred for staff, `unblurred=True`; else `shared_image_path`), or
    "blurred" / "blurred_thumb" (what others see: staff's preview)."""
    if kind == "original":
        if not photo.original_path:
            raise AppError(status=410, code="original_purged", detail=PURGED)
        return ReaderImage(store.path(photo.original_path), photo.original_path.rsplit(".", 1)[-1], None)
    size = THUMB if kind in ("thumb", "blurred_thumb") else DISPLAY
    if unblurred and kind in ("display", "thumb"):
        return ReaderImage(store.path(photo.display_path if size == DISPLAY else photo.thumb_path), "jpg", None)
    path = shared_image_path(store, photo, size)
    return ReaderImage(path, "jpg", photo.privacy_rev, placeholder=is_placeholder(path))


# ---------------------------------------------------------------- the jobs

@dataclass(frozen=True)
class Claim:
    photo: Photo
    token: str


def _claimable(now: dt.datetime):
    return (Photo.privacy_state == PENDING) & (
        (Photo.privacy_claim == "") | (Photo.privacy_claimed_at.is_null()) | (Photo.privacy_claimed_at < now - LEASE))


async def claim_next() -> Claim | None:
    """Takes the oldest pending photo for this worker, or None when there is none to take."""
    now = clock.now()
    candidates = await Photo.select(Photo.id).where(_claimable(now)).order_by(Photo.id).limit(8)
    for candidate in candidates:
        token = secrets.token_hex(16)
        async with write_transaction():
            await Photo.update({Photo.privacy_claim: token, Photo.privacy_claimed_at: now,
                                Photo.privacy_attempts: Photo.privacy_attempts + 1}).where(
                (Photo.id == candidate["id"]) & _claimable(now))
        photo = await Photo.objects().where((Photo.id == candidate["id"]) & (Photo.privacy_claim == token)).first()
        if photo is not None:
            return Claim(photo, token)
    return None


def _blur_files(store: MediaStore, display_relative: str, boxes: list[dict] | None,
                original_relative: str = "") -> tuple[list[dict], str, str]:
    """(boxes, blurred display path, blurred thumb path): detection when `boxes` is None (in the
    original when it is there), then the blur; files written content-addressed (CPU-bound: runs
    in a worker thread)."""
    rgb, icc = images.decode(store.read(display_relative))
    if boxes is None:
        original = store.read(original_relative) if original_relative and store.exists(original_relative) else None
        boxes = images.find_boxes(rgb, original)
    display, thumb = images.render(rgb, icc, boxes)
    paths = []
    for folder, data in ((photos.BLURRED, display), (photos.BLURRED_THUMBS, thumb)):
        relative = MediaStore.content_path(folder, hashlib.sha256(data).hexdigest(), "jpg")
        store.write(relative, data)
        paths.append(relative)
    return boxes, paths[0], paths[1]


async def process(store: MediaStore, claim: Claim, run=sync_to_thread) -> bool:
    """Blurs a claimed photo. Returns True when this worker's result went in. `run` runs the
    CPU-bound part (the worker passes its low-priority thread)."""
    photo = claim.photo
    try:
        boxes, display, thumb = await run(_blur_files, store, photo.display_path, None, photo.original_path)
    except Exception:
        state = FAILED if photo.privacy_attempts >= MAX_ATTEMPTS else PENDING
        await Photo.update({Photo.privacy_state: state, Photo.privacy_claim: ""}).where(
            (Photo.id == photo.id) & (Photo.privacy_claim == claim.token))
        raise
    async with write_transaction():
        # Still ours? (deleted meanwhile, or taken over by another worker after the lease)
        done = await Photo.exists().where((Photo.id == photo.id) & (Photo.privacy_claim == claim.token))
        if done:
            await Photo.update({
                Photo.privacy_state: DONE, Photo.privacy_boxes: boxes, Photo.blurred_display_path: display,
                Photo.blurred_thumb_path: thumb, Photo.privacy_rev: Photo.privacy_rev + 1, Photo.privacy_claim: "",
            }).where((Photo.id == photo.id) & (Photo.privacy_claim == claim.token))
    if not done:  # the photo was deleted, or another worker took over a claim we held too long
        await remove_blurred_if_unused(store, [display, thumb])
    return done


async def process_pending(store: MediaStore, limit: int | None = None, run=sync_to_thread, pace=None) -> int:
    """Blurs pending photos until none is left (or `limit`): returns how many this call did.
    `pace`: awaited before each photo (the server's worker waits there for a lull in uploads)."""
    done = 0
    while limit is None or done < limit:
        if pace is not None:
            await pace()
        claim = await claim_next()
        if claim is None:
            break
        try:
            done += await process(store, claim, run)
        except Exception:
            continue  # counted in privacy_attempts; failed after MAX_ATTEMPTS
    return done


async def remove_blurred_if_unused(store: MediaStore, paths: list[str]) -> None:
    """Removes blurred files that no photo row names (a redaction replaced them)."""
    async with write_transaction():
        await lock_names(paths)
        for relative in paths:
            if relative and not await Photo.exists().where(
                    (Photo.blurred_display_path == relative) | (Photo.blurred_thumb_path == relative)
                    | (Photo.display_path == relative) | (Photo.thumb_path == relative)):
                store.remove(relative)


# ---------------------------------------------------------------- manual redaction (staff)

MAX_BOXES = 200


def parse_boxes(raw: Any) -> list[dict]:
    """The boxes a staff member sends (JSON list of {x, y, w, h, kind, removed}), checked."""
    try:
        items = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
    except ValueError:
        items = None
    if not isinstance(items, list) or len(items) > MAX_BOXES:
        raise Invalid(fields={"boxes": f"Zones à flouter illisibles (une liste de {MAX_BOXES} zones au plus)."})
    boxes = []
    for item in items:
        if not isinstance(item, dict):
            raise Invalid(fields={"boxes": "Chaque zone a une position et une taille."})
        try:
            x, y, w, h = (float(item[k]) for k in ("x", "y", "w", "h"))
        except (KeyError, TypeError, ValueError):
            raise Invalid(fields={"boxes": "Chaque zone a une position (x, y) et une taille (w, h)."}) from None
        if not all(v == v for v in (x, y, w, h)):
            raise Invalid(fields={"boxes": "Position ou taille de zone invalide."})
        x, y = min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)
        w, h = min(max(w, 0.0), 1.0 - x), min(max(h, 0.0), 1.0 - y)
        if w <= 0.002 or h <= 0.002:
            continue  # a click without a drag: nothing to blur
        kind = item.get("kind") if item.get("kind") in (detect.FACE, detect.PLATE) else detect.MANUAL
        box = {"x": round(x, 5), "y": round(y, 5), "w": round(w, 5), "h": round(h, 5), "kind": kind}
        if item.get("removed") and kind != detect.MANUAL:
            box["removed"] = True  # an automatic box judged wrong: kept, so that undo can bring it back
        boxes.append(box)
    return boxes


PERCENT_FIELDS = {"add_x": "x", "add_y": "y", "add_w": "w", "add_h": "h"}


def boxes_from_form(form: Any, current: list[dict]) -> list[dict]:
    """The zones a redaction form asks for: the current zones, or `boxes` (JSON: the current ones
    followed by those drawn on the photo, static/js/redact.js), less those ticked in `remove` (or
    `restore`d), plus one zone typed in percent (add_x, add_y, add_w, add_h: the keyboard way)."""
    base = parse_boxes(form.get("boxes")) if form.get("boxes") else current
    boxes = [dict(box) for box in base]
    for raw in form.getall("remove", []) if hasattr(form, "getall") else []:
        index = parse_index(raw, len(boxes))
        if boxes[index]["kind"] == detect.MANUAL:
            boxes[index]["drop"] = True
        else:
            boxes[index]["removed"] = True
    for raw in form.getall("restore", []) if hasattr(form, "getall") else []:
        boxes[parse_index(raw, len(boxes))].pop("removed", None)
    boxes = [box for box in boxes if not box.pop("drop", False)]
    typed = {key: (form.get(key) or "").strip().replace(",", ".") for key in PERCENT_FIELDS}
    if any(typed.values()):
        values = {}
        for key, name in PERCENT_FIELDS.items():
            try:
                values[name] = float(typed[key]) / 100
            except ValueError:
                raise Invalid(fields={key: "Un pourcentage de 0 à 100."}) from None
            if not 0 <= values[name] <= 1:
                raise Invalid(fields={key: "Un pourcentage de 0 à 100."})
        if values["w"] <= 0 or values["h"] <= 0:
            raise Invalid(fields={"add_w": "La largeur et la hauteur de la zone doivent dépasser 0 %."})
        boxes.append({**values, "kind": detect.MANUAL})
    return parse_boxes(boxes)


def parse_index(raw: Any, count: int) -> int:
    try:
        index = int(str(raw))
    except ValueError:
        index = -1
    if not 0 <= index < count:
        raise Invalid(fields={"remove": "Cette zone n'existe pas (la page a peut-être changé : rechargez-la)."})
    return index


def describe(boxes: list[dict]) -> str:
    """A line for the constat's history: how many zones of each kind blur the photo."""
    counts = {kind: sum(1 for b in boxes if b.get("kind") == kind and not b.get("removed"))
              for kind in (detect.FACE, detect.PLATE, detect.MANUAL)}
    removed = sum(1 for b in boxes if b.get("removed"))
    text = f"{counts['face']} visage(s), {counts['plate']} plaque(s), {counts['manual']} zone(s) à la main"
    return text + (f", {removed} zone(s) automatique(s) écartée(s)" if removed else "")


async def redact(store: MediaStore, photo: Photo, boxes: list[dict], user_id: int | None, note: str = "") -> Photo:
    """Sets a photo's blurred zones (as a staff member drew them), regenerates its blurred images
    and writes the change in the constat's history (before and after: the zones as JSON)."""
    if photo.privacy_state == PENDING:
        raise AppError(status=409, code="not_blurred_yet",
                       detail="Cette photo est encore en cours de floutage automatique : réessayez dans un instant.")
    before = photo.privacy_boxes if isinstance(photo.privacy_boxes, list) else json.loads(photo.privacy_boxes or "[]")
    if before == boxes:
        return photo
    _, display, thumb = await sync_to_thread(_blur_files, store, photo.display_path, boxes)
    old = [photo.blurred_display_path, photo.blurred_thumb_path]
    async with write_transaction():
        await Photo.update({Photo.privacy_state: DONE, Photo.privacy_boxes: boxes, Photo.blurred_display_path: display,
                            Photo.blurred_thumb_path: thumb, Photo.privacy_rev: Photo.privacy_rev + 1}).where(
            Photo.id == photo.id)
        await ObservationEvent(observation=photo.observation if isinstance(photo.observation, int)
                               else photo.observation.id, user=user_id, field=REDACTION_FIELD,
                               before=json.dumps({"photo": photo.id, "boxes": before}),
                               after=json.dumps({"photo": photo.id, "boxes": boxes}),
                               note=note or f"Photo {photo.position + 1} : {describe(boxes)}.").save()
    await remove_blurred_if_unused(store, [p for p in old if p not in (display, thumb)])
    return await Photo.objects().where(Photo.id == photo.id).first()


async def undo_redaction(store: MediaStore, photo: Photo, user_id: int | None) -> Photo:
    """Puts back the zones the photo had before its last manual change (itself in the history)."""
    events = await ObservationEvent.select(ObservationEvent.before, ObservationEvent.after).where(
        (ObservationEvent.observation == photo.observation) & (ObservationEvent.field == REDACTION_FIELD)).order_by(
        ObservationEvent.id, ascending=False)
    current = photo.privacy_boxes if isinstance(photo.privacy_boxes, list) else json.loads(photo.privacy_boxes or "[]")
    for event in events:
        before, after = json.loads(event["before"]), json.loads(event["after"])
        if before.get("photo") == photo.id and after.get("boxes") == current:
            return await redact(store, photo, before["boxes"], user_id,
                                note=f"Photo {photo.position + 1} : retour en arrière ({describe(before['boxes'])}).")
    raise AppError(status=409, code="nothing_to_undo", detail="Aucune modification du floutage à annuler.")


def boxes_of(photo: Any) -> list[dict]:
    value = photo.get("privacy_boxes") if isinstance(photo, dict) else photo.privacy_boxes
    return value if isinstance(value, list) else json.loads(value or "[]")


# ---------------------------------------------------------------- originals' retention

async def purge_originals(store: MediaStore, days: int, now: dt.datetime | None = None) -> int:
    """Deletes the originals of photos whose constat arrived more than `days` ago, once they are
    blurred: their blurred display and thumbnail become the reference (display_path, thumb_path),
    and the unblurred derived images go too. Returns how many photos were purged. A photo still
    pending keeps its original until it is blurred (the next run takes it)."""
    cutoff = (now or clock.now()) - dt.timedelta(days=days)
    rows = await Photo.select(Photo.id, Photo.sha256).where(
        Photo.original_purged_at.is_null() & (Photo.privacy_state == DONE)
        & Photo.observation.is_in(Observation.select(Observation.id).where(Observation.received_at < cutoff)))
    purged = 0
    for row in rows:
        async with write_transaction():
            await lock_names([row["sha256"]])
            photo = await Photo.objects().where((Photo.id == row["id"]) & Photo.original_purged_at.is_null()).first()
            if photo is None or photo.privacy_state != DONE:
                continue
            old = [photo.original_path, photo.display_path, photo.thumb_path]
            await Photo.update({Photo.original_path: "", Photo.display_path: photo.blurred_display_path,
                                Photo.thumb_path: photo.blurred_thumb_path, Photo.original_purged_at: clock.now(),
                                }).where(Photo.id == photo.id)
            for relative in old:  # shared by another constat of the same bytes: it stays for that one
                if relative and not await Photo.exists().where(
                        (Photo.original_path == relative) | (Photo.display_path == relative)
                        | (Photo.thumb_path == relative)):
                    store.remove(relative)
            purged += 1
    return purged


# ---------------------------------------------------------------- erasure on request

ERASED_NAME = "Participant effacé"


async def erase_participant(store: MediaStore, participant: Participant, user_id: int | None,
                            delete_constats: bool) -> int:
    """Erases a participant at their request: their name is replaced, their constats are kept
    anonymously or deleted with their photos. The history says who erased and when, not what (no
    name). Returns the number of constats kept or deleted."""
    from ..observations.services import delete_observation

    observations = await Observation.objects().where(Observation.participant == participant.id)
    if delete_constats:
        for observation in observations:
            await delete_observation(store, observation)
    async with write_transaction():
        await Participant.update({Participant.display_name: ERASED_NAME, Participant.erased_at: clock.now(),
                                  Participant.erased_by: user_id, Participant.user: None,
                                  Participant.token: secrets.token_hex(32)}).where(Participant.id == participant.id)
        if not delete_constats:
            for observation in observations:
                await ObservationEvent(observation=observation.id, user=user_id, field="participant",
                                       note="Auteur effacé à sa demande.").save()
    return len(observations)


async def find_participant(walk_id: int, name: str) -> Participant:
    matches = await Participant.objects().where((Participant.walk == walk_id) & (Participant.erased_at.is_null()))
    wanted = name.strip().casefold()
    found = [p for p in matches if p.display_name.strip().casefold() == wanted]
    if not found:
        raise AppError(status=404, code="no_participant", detail="Aucun participant de ce nom dans cette marche.")
    if len(found) > 1:
        raise AppError(status=409, code="several_participants",
                       detail=f"{len(found)} participants portent ce nom dans cette marche : effacez-les depuis "
                              "la page de la marche.")
    return found[0]


async def sleep_or(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        pass
    event.clear()
