"""Redaction by hand in Chromium (issue 14): a coordinator draws a rectangle on a blurred photo with
the mouse and saves it; the page passes axe with the redaction form and the erasure form on it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.async_api import expect

from browser import problems, screenshot, sign_in
from conftest import make_user, make_walk
from test_browser_a11y import DESKTOP, axe_violations
from test_privacy import FACE_PHOTO, constat

from walkapp.privacy import services as privacy
from walkapp.storage import MediaStore
from walkapp.tables import ObservationEvent, Participant, Photo

pytestmark = pytest.mark.browser


async def _blurred(store: MediaStore, photo_id: int) -> Photo:
    """Blurred here, as a worker would (the suite's live server runs none: conftest.py)."""
    await privacy.process_pending(store)
    return await Photo.objects().where(Photo.id == photo_id).first()


async def test_draw_a_zone_to_blur_with_the_mouse(phone, live_server, test_env, backend):
    base = live_server["url"]
    store = MediaStore(Path(test_env["WALKAPP_MEDIA_DIR"]))
    walk = await make_walk()
    zoe = Participant(walk=walk.id, display_name="Zoé", token="t" * 40)
    await zoe.save()
    observation = await constat(store, walk, names=(FACE_PHOTO,), participant=zoe)
    photo_id = (await Photo.select(Photo.id).where(Photo.observation == observation.id).first())["id"]
    before = privacy.boxes_of(await _blurred(store, photo_id))
    coordinator = await make_user("coordinator")

    page = await phone(bypass_csp=True, **DESKTOP)  # axe-core is injected inline (as in test_browser_a11y)
    await sign_in(page, base, coordinator.email)
    await page.goto(f"{base}/constats/{observation.id}")
    canvas = page.locator(f".redact-canvas[data-photo='{photo_id}']")
    await expect(canvas.locator(".redact-box")).to_have_count(len(before))
    found = await axe_violations(page, "constat page with redaction")
    box = await canvas.bounding_box()
    await page.mouse.move(box["x"] + 5, box["y"] + box["height"] * 0.8)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.95, steps=5)
    await page.mouse.up()
    await expect(canvas.locator(".redact-box.new")).to_have_count(1)
    await screenshot(page, "privacy-redaction", backend)
    await page.get_by_role("button", name="Enregistrer le floutage").click()
    await page.wait_for_url(f"**/constats/{observation.id}*")
    photo = await Photo.objects().where(Photo.id == photo_id).first()
    boxes = privacy.boxes_of(photo)
    assert len(boxes) == len(before) + 1 and boxes[-1]["kind"] == "manual"
    assert 0 <= boxes[-1]["x"] < 0.05 and 0.75 < boxes[-1]["y"] < 0.85 and 0.2 < boxes[-1]["w"] < 0.35
    event = await ObservationEvent.objects().where(ObservationEvent.field == privacy.REDACTION_FIELD).first()
    assert json.loads(event.after)["boxes"] == boxes
    await expect(page.get_by_text("Floutage :")).to_be_visible()  # in the history

    await page.goto(f"{base}/marches/{walk.id}")
    await page.get_by_text("Effacer à sa demande").click()
    found += await axe_violations(page, "walk page with erasure open")
    await screenshot(page, "privacy-erasure", backend)
    assert not found, "\n".join(found)
    assert problems(page) == []
