"""Photos safe to share (issue 14): faces and plates blurred on everything but staff's views, a
placeholder until then, the jobs surviving a restart and never done twice, manual redaction and
undo, originals for coordinators with a retention, names kept out of public outputs, erasure."""

import asyncio
import datetime as dt
import io
import json
import uuid
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import PHOTOS, make_walk, post_form, sign_in

from walkapp import clock
from walkapp.observations import services as observations
from walkapp.observations.schemas import ObservationInput
from walkapp.privacy import detect, images, services as privacy
from walkapp.storage import MediaStore
from walkapp.tables import Observation, ObservationEvent, Participant, Photo

PRIVACY = PHOTOS / "privacy"
LABELS = json.loads((PRIVACY / "labels.json").read_text())
FACE_PHOTO = "faces/nasa_astronaut_collins.jpg"  # 512x512, one face [170, 55, 270, 175]
PLATE_PHOTO = "plates/ro_dayride_002_t0075.jpg"  # 1280x720, one plate [98, 608, 311, 680]


@pytest.fixture
def store(test_env) -> MediaStore:
    return MediaStore(Path(test_env["WALKAPP_MEDIA_DIR"]))


async def constat(store, walk, names=(FACE_PHOTO,), participant=None, status="new"):
    data = ObservationInput(client_uuid=str(uuid.uuid4()), issue="dechets", angle="usages",
                            description="Dépôt sauvage", lat=50.5637, lon=2.4827, location_source="device",
                            street="Rue Carnot")
    data.photos = [((PRIVACY / name).read_bytes(), Path(name).name) for name in names]
    observation, created = await observations.record(store, walk, participant, data)
    assert created
    if status != "new":
        await Observation.update({Observation.status: status}).where(Observation.id == observation.id)
    return observation


def pixels(content: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(content)).convert("RGB")).astype(int)


def region_change(before: np.ndarray, after: np.ndarray, box, scale: float = 1.0) -> float:
    """Mean absolute difference of the pixels inside `box` (original pixels, scaled)."""
    x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
    return float(np.abs(before[y0:y1, x0:x1] - after[y0:y1, x0:x1]).mean())


async def join(client, walk) -> None:
    response = await client.post(f"/j/{walk.join_secret}", data={"display_name": "Zoé"},
                                 headers={**await _csrf(client)}, follow_redirects=False)
    assert response.status_code in (200, 303), response.text


async def _csrf(client):
    from conftest import csrf_headers

    return await csrf_headers(client)


# ---------------------------------------------------------------- the detector's floor

@pytest.mark.parametrize("name", [FACE_PHOTO, "faces/pexels_soccer.jpg", PLATE_PHOTO, "plates/ro_dayride_001_t0085.jpg",
                                  "plates/ro_dayride_003_t0046.jpg"])
def test_detector_blurs_the_labelled_boxes(name):
    """A regression floor on a few labelled files (benchmarks/privacy_blur.py measures the set)."""
    from walkapp import photos

    processed = photos.process((PRIVACY / name).read_bytes())
    rgb, icc = images.decode(processed.display_jpeg)
    boxes = images.find_boxes(rgb, (PRIVACY / name).read_bytes())
    blurred, _ = images.render(rgb, icc, boxes)
    after = pixels(blurred)
    scale = rgb.shape[1] / processed.width
    rects = [detect.pixel_rect(b, rgb.shape[1], rgb.shape[0]) for b in boxes]
    mask = np.zeros(rgb.shape[:2], bool)
    for x0, y0, x1, y1 in rects:
        mask[y0:y1, x0:x1] = True
    labelled = [b for b in LABELS[name] if not isinstance(b, dict)]
    for box in labelled:
        x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
        assert mask[y0:y1, x0:x1].mean() > 0.5, f"{name}: {box} not blurred"
        assert region_change(rgb.astype(int), after, box, scale) > 3  # the pixels really changed
    # Far from every box, the image is the same picture (JPEG re-encoding aside).
    far = ~mask
    assert far.any() and float(np.abs(rgb.astype(int) - after)[far].mean()) < 3


def test_blur_cannot_be_undone_by_sharpening():
    """Inside a blurred box, what is left is a few flat blocks: no edge for a sharpening filter."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)
    out = detect.blur(image, [{"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5, "kind": "manual"}])
    inside = out[50:150, 50:150].astype(int)
    assert len(np.unique(inside.reshape(-1, 3)[:, 0])) < 200  # 10,000 noisy pixels -> a smooth few
    assert np.abs(np.diff(inside, axis=1)).mean() < 4  # no detail left (noise had ~85)
    assert (out[:40] == image[:40]).all()  # outside the box and its margin: untouched


# ---------------------------------------------------------------- who gets what, before and after

async def test_placeholder_until_blurred_then_blurred_for_participants_public_and_open311(
        client, other_client, store):
    walk = await make_walk()
    observation = await constat(store, walk, status="validated")
    photo = await Photo.objects().where(Photo.observation == observation.id).first()
    assert photo.privacy_state == privacy.PENDING and photo.blurred_display_path == ""
    placeholder = privacy.PLACEHOLDERS[privacy.DISPLAY].read_bytes()
    unblurred = store.read(photo.display_path)

    await join(client, walk)  # a participant
    before = await client.get(f"/photos/{photo.id}/affichage.jpg")
    assert before.status_code == 200 and before.content == placeholder
    assert before.headers["cache-control"] == "no-store"
    public = await other_client.get(f"/open311/v2/media/{photo.id}.jpg")
    assert public.status_code == 200 and public.content == placeholder

    assert await privacy.process_pending(store) == 1
    photo = await Photo.objects().where(Photo.id == photo.id).first()
    assert photo.privacy_state == privacy.DONE and photo.privacy_rev == 1
    assert any(b["kind"] == "face" for b in privacy.boxes_of(photo))
    blurred = store.read(photo.blurred_display_path)

    for response in (await client.get(f"/photos/{photo.id}/affichage.jpg"),
                     await other_client.get(f"/open311/v2/media/{photo.id}.jpg")):
        assert response.status_code == 200 and response.content == blurred != unblurred
    face = LABELS[FACE_PHOTO][0]
    assert region_change(pixels(unblurred), pixels(blurred), face) > 8
    assert region_change(pixels(unblurred), pixels(blurred), [0, 300, 512, 512]) < 3  # far from the face
    thumb = await client.get(f"/photos/{photo.id}/vignette.jpg")
    assert thumb.content == store.read(photo.blurred_thumb_path)
    # The API's URLs carry the blurring version: the phone's cache keeps no older redaction.
    listed = (await client.get(f"/api/v1/walks/{walk.id}/observations")).json()["observations"][0]["photos"][0]
    assert listed["display_url"].endswith("?v=1") and listed["blurred"] is True
    versioned = await client.get(listed["display_url"])
    assert "immutable" in versioned.headers["cache-control"]
    # The participant never gets the unblurred image nor the original.
    assert (await client.get(f"/photos/{photo.id}/original")).status_code in (401, 403)


async def test_staff_see_the_unblurred_display_and_a_preview_of_the_blurred(client, store):
    walk = await make_walk()
    observation = await constat(store, walk)
    await privacy.process_pending(store)
    photo = await Photo.objects().where(Photo.observation == observation.id).first()
    await sign_in(client, "agent")
    assert (await client.get(f"/photos/{photo.id}/affichage.jpg")).content == store.read(photo.display_path)
    assert (await client.get(f"/photos/{photo.id}/floutee.jpg")).content == store.read(photo.blurred_display_path)
    assert (await client.get(f"/photos/{photo.id}/original")).status_code == 403  # coordinators only


async def test_zip_without_originals_has_the_blurred_images(client, store):
    walk = await make_walk()
    first = await constat(store, walk)
    await privacy.process_pending(store)
    second = await constat(store, walk)  # not blurred yet: its placeholder
    await sign_in(client, "committee")
    response = await client.get(f"/exports/photos.zip?walk={walk.id}")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    photos = {name: archive.read(name) for name in archive.namelist() if name.endswith(".jpg")}
    by_constat = {int(name.rsplit("/", 1)[-1].split("_")[0]): data for name, data in photos.items()}
    done = await Photo.objects().where(Photo.observation == first.id).first()
    assert by_constat[first.id] == store.read(done.blurred_display_path)
    assert by_constat[second.id] == privacy.PLACEHOLDERS[privacy.DISPLAY].read_bytes()


# ---------------------------------------------------------------- the jobs

async def test_two_workers_never_blur_the_same_photo_twice(store):
    walk = await make_walk()
    for _ in range(3):
        await constat(store, walk, names=(FACE_PHOTO, PLATE_PHOTO))
    calls: list[str] = []
    original = privacy._blur_files

    def counting(store_, display, boxes, original_path=""):
        calls.append(display)
        return original(store_, display, boxes, original_path)

    privacy._blur_files = counting
    try:
        first, second = await asyncio.gather(privacy.process_pending(store), privacy.process_pending(store))
    finally:
        privacy._blur_files = original
    assert first + second == 6 and len(calls) == 6 and len(set(calls)) == 2  # 2 distinct photos, 6 rows
    rows = await Photo.select(Photo.privacy_state, Photo.privacy_attempts, Photo.privacy_claim)
    assert all(r["privacy_state"] == "done" and r["privacy_attempts"] == 1 and r["privacy_claim"] == ""
               for r in rows)


async def test_a_stale_claim_is_taken_over_and_pending_photos_are_blurred_at_start(store, test_env):
    """A worker that died holding a claim: after the lease another takes the photo. And a server
    started with pending photos blurs them (the app's worker, as `walkapp serve` runs it)."""
    from litestar.testing import AsyncTestClient

    from walkapp.app import create_app

    walk = await make_walk()
    observation = await constat(store, walk)
    claim = await privacy.claim_next()
    assert claim is not None and await privacy.claim_next() is None  # held: nobody else takes it
    await Photo.update({Photo.privacy_claimed_at: clock.now() - privacy.LEASE - dt.timedelta(seconds=1)}).where(
        Photo.id == claim.photo.id)  # ...and its worker died
    async with AsyncTestClient(app=create_app(db_pool=False, privacy_worker=True)):
        for _ in range(200):
            photo = await Photo.objects().where(Photo.observation == observation.id).first()
            if photo.privacy_state == "done":
                break
            await asyncio.sleep(0.1)
    assert photo.privacy_state == "done" and photo.privacy_attempts == 2
    assert not await privacy.process(store, claim)  # the dead worker's late result is not taken


# ---------------------------------------------------------------- manual redaction

async def test_manual_redaction_remove_and_undo_with_history(client, store):
    walk = await make_walk()
    observation = await constat(store, walk)
    await privacy.process_pending(store)
    photo = await Photo.objects().where(Photo.observation == observation.id).first()
    automatic = privacy.boxes_of(photo)
    first_blur = store.read(photo.blurred_display_path)
    user = await sign_in(client, "committee")
    page = await client.get(f"/constats/{observation.id}")
    assert page.status_code == 200 and f'data-photo="{photo.id}"' in page.text

    corner = {"x": 0.0, "y": 0.8, "w": 0.2, "h": 0.2, "kind": "manual"}
    removed = [{**b, "removed": True} for b in automatic]
    response = await post_form(client, f"/photos/{photo.id}/floutage",
                               {"boxes": json.dumps(removed + [corner])}, htmx=True)
    assert response.status_code == 200, response.text
    photo = await Photo.objects().where(Photo.id == photo.id).first()
    now_blurred = pixels(store.read(photo.blurred_display_path))
    unblurred = pixels(store.read(photo.display_path))
    assert region_change(unblurred, now_blurred, [0, 420, 100, 510]) > 5  # the corner drawn by hand
    assert region_change(unblurred, now_blurred, LABELS[FACE_PHOTO][0]) < 3  # the face box removed
    event = await ObservationEvent.objects().where(ObservationEvent.field == privacy.REDACTION_FIELD).first()
    assert event.user == user.id and "1 zone(s) à la main" in event.note

    response = await post_form(client, f"/photos/{photo.id}/floutage/annuler", {}, htmx=True)
    assert response.status_code == 200, response.text
    photo = await Photo.objects().where(Photo.id == photo.id).first()
    assert privacy.boxes_of(photo) == automatic and store.read(photo.blurred_display_path) == first_blur
    assert await ObservationEvent.count().where(ObservationEvent.field == privacy.REDACTION_FIELD) == 2
    bad = await post_form(client, f"/photos/{photo.id}/floutage", {"boxes": "pas du json"}, htmx=True)
    assert bad.status_code == 422 and "Zones" in bad.text


async def test_participants_may_not_redact(client, store):
    walk = await make_walk()
    observation = await constat(store, walk)
    await privacy.process_pending(store)
    photo = await Photo.objects().where(Photo.observation == observation.id).first()
    await join(client, walk)
    response = await post_form(client, f"/photos/{photo.id}/floutage", {"boxes": "[]"})
    assert response.status_code == 403


# ---------------------------------------------------------------- originals and their retention

async def test_retention_purges_originals_and_the_blurred_display_becomes_the_reference(client, store):
    walk = await make_walk()
    old = await constat(store, walk)
    recent = await constat(store, walk, names=(PLATE_PHOTO,))
    await privacy.process_pending(store)
    await Observation.update({Observation.received_at: clock.now() - dt.timedelta(days=40)}).where(
        Observation.id == old.id)
    photo = await Photo.objects().where(Photo.observation == old.id).first()
    original, unblurred = photo.original_path, photo.display_path
    assert await privacy.purge_originals(store, 30) == 1
    photo = await Photo.objects().where(Photo.id == photo.id).first()
    assert photo.original_path == "" and photo.original_purged_at is not None
    assert not store.exists(original) and not store.exists(unblurred)
    assert photo.display_path == photo.blurred_display_path and store.exists(photo.display_path)
    kept = await Photo.objects().where(Photo.observation == recent.id).first()
    assert store.exists(kept.original_path)  # younger than 30 days: kept
    await sign_in(client, "coordinator")
    gone = await client.get(f"/photos/{photo.id}/original")
    assert gone.status_code == 410 and "durée de conservation" in gone.text
    assert (await client.get(f"/photos/{photo.id}/affichage.jpg")).content == store.read(photo.blurred_display_path)
    from walkapp.media_check import check

    assert (await check(store.root)).missing == []


# ---------------------------------------------------------------- erasure

async def test_erasure_from_the_walk_page_keeps_constats_anonymously(client, store):
    walk = await make_walk()
    zoe = Participant(walk=walk.id, display_name="Zoé Martin", token=uuid.uuid4().hex)
    await zoe.save()
    observation = await constat(store, walk, participant=zoe)
    user = await sign_in(client, "coordinator")
    response = await post_form(client, f"/marches/{walk.id}/participants/{zoe.id}/effacer", {"constats": "keep"})
    assert response.status_code in (200, 303), response.text
    erased = await Participant.objects().where(Participant.id == zoe.id).first()
    assert erased.display_name == privacy.ERASED_NAME and erased.erased_by == user.id and erased.erased_at
    assert await Observation.exists().where(Observation.id == observation.id)
    event = await ObservationEvent.objects().where(ObservationEvent.field == "participant").first()
    assert event.user == user.id and "Zoé" not in event.note + event.before + event.after
    page = await client.get(f"/constats/{observation.id}")
    assert "Zoé" not in page.text


async def test_erasure_can_delete_the_constats_with_their_photos(client, store):
    walk = await make_walk()
    zoe = Participant(walk=walk.id, display_name="Zoé", token=uuid.uuid4().hex)
    await zoe.save()
    observation = await constat(store, walk, participant=zoe)
    await privacy.process_pending(store)
    photo = await Photo.objects().where(Photo.observation == observation.id).first()
    await sign_in(client, "agent")
    refused = await post_form(client, f"/marches/{walk.id}/participants/{zoe.id}/effacer", {"constats": "delete"})
    assert refused.status_code == 403  # coordinators only
    await client.get("/deconnexion")
    await sign_in(client, "coordinator", email="coord2@ville.example")
    response = await post_form(client, f"/marches/{walk.id}/participants/{zoe.id}/effacer", {"constats": "delete"})
    assert response.status_code in (200, 303), response.text
    assert not await Observation.exists().where(Observation.id == observation.id)
    for relative in (photo.original_path, photo.display_path, photo.blurred_display_path, photo.blurred_thumb_path):
        assert not store.exists(relative)


def test_erase_participant_command_refuses_an_unknown_walk(test_env):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "walkapp", "erase-participant", "--walk", "999999",
                             "--name", "Personne"], env=test_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "Cette marche n'existe pas" in result.stderr + result.stdout


async def test_erase_participant_command_erases(test_env, store):
    import sys

    walk = await make_walk()
    lea = Participant(walk=walk.id, display_name="Léa", token=uuid.uuid4().hex)
    await lea.save()
    observation = await constat(store, walk, participant=lea)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "walkapp", "erase-participant", "--walk", str(walk.id), "--name", "léa",
        "--delete-constats", env=test_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "effacé" in out.decode()
    assert not await Observation.exists().where(Observation.id == observation.id)
    assert (await Participant.objects().where(Participant.id == lea.id).first()).display_name == privacy.ERASED_NAME


async def test_names_never_in_public_outputs(client, other_client, store):
    walk = await make_walk()
    zoe = Participant(walk=walk.id, display_name="Zoé Martin", token=uuid.uuid4().hex)
    await zoe.save()
    await constat(store, walk, participant=zoe, status="validated")
    public = await other_client.get("/open311/v2/requests.json")
    assert public.status_code == 200 and len(public.json()) == 1 and "Zoé" not in public.text
    assert "Zoé" not in (await other_client.get("/open311/v2/requests.xml")).text
    await join(client, walk)
    geojson = await client.get(f"/api/v1/observations.geojson?walk={walk.id}")
    assert geojson.status_code == 200 and len(geojson.json()["features"]) == 1 and "Zoé" not in geojson.text
    # Inside their walk, the name is shown (the walk is collaborative).
    assert "Zoé Martin" in (await client.get(f"/api/v1/walks/{walk.id}/observations")).text


async def test_blur_pending_command(test_env, store):
    import sys

    walk = await make_walk()
    observation = await constat(store, walk)
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "walkapp", "blur-pending", env=test_env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    assert "1 photo(s) floutée(s), 0 en attente" in out.decode()
    photo = await Photo.objects().where(Photo.observation == observation.id).first()
    assert photo.privacy_state == "done" and store.exists(photo.blurred_display_path)


async def test_the_worker_waits_for_a_lull_in_uploads_but_not_forever(monkeypatch):
    """Blurring waits while constats arrive (the burst's 201s come first), never beyond its cap."""
    import time

    from walkapp.privacy import worker

    monkeypatch.setattr(worker, "QUIET_SECONDS", 0.3)
    monkeypatch.setattr(worker, "MAX_DEFER_SECONDS", 0.8)
    monkeypatch.setattr(worker, "_last_upload", [float("-inf")])
    start = time.monotonic()
    await worker.wait_for_lull()
    assert time.monotonic() - start < 0.1  # no upload: at once
    worker.wake()
    start = time.monotonic()
    await worker.wait_for_lull()
    assert 0.25 <= time.monotonic() - start < 0.7  # one upload: a lull of QUIET_SECONDS

    async def steady_uploads():
        for _ in range(20):
            worker.wake()
            await asyncio.sleep(0.1)

    worker.wake()
    uploads = asyncio.create_task(steady_uploads())
    start = time.monotonic()
    await worker.wait_for_lull()
    assert 0.75 <= time.monotonic() - start < 1.5  # a steady stream: blurred anyway after the cap
    uploads.cancel()
