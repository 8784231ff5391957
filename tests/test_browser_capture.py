"""The walk on a phone, in Chromium: make a constat with a photo, see it in another participant's
feed; then lose the network, make three, reload, get the network back, and find exactly three
more on the server."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from browser import image_loaded, problems, service_worker_controls
from conftest import PHOTOS, make_walk

from walkapp.tables import Observation, Photo

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]

LILLERS = {"latitude": 50.5636, "longitude": 2.4826, "accuracy": 12}


async def join(phone, base, walk, name):
    page = await phone(geolocation=LILLERS, permissions=["geolocation"])
    await page.goto(f"{base}/j/{walk.join_secret}")
    await page.get_by_label("Votre nom").fill(name)
    await page.get_by_role("button", name="Rejoindre la marche").click()
    await page.wait_for_url(f"{base}/marches/{walk.id}/terrain")
    return page


async def make_constat(page, issue: str, angle: str, comment: str, photo=None,
                       polarity: str = "Point faible"):
    await page.get_by_role("button", name="Nouveau constat").click()
    form = page.locator("#constat-form")
    await expect(form).to_be_visible()
    if photo:
        await page.set_input_files("#photo-gallery", str(photo))
        await expect(page.locator("#photo-previews img")).to_have_count(1)
    await form.locator("label.tile", has_text=issue).first.click()
    await form.locator("label.tile", has_text=angle).first.click()
    await form.locator("label.tile", has_text=polarity).first.click()  # never preselected
    await page.get_by_label("Commentaire").fill(comment)
    await page.get_by_role("button", name="Enregistrer le constat").click()
    await expect(form).to_be_hidden()


async def server_count(walk_id: int) -> int:
    return await Observation.count().where(Observation.walk == walk_id)


async def wait_for_count(walk_id: int, expected: int, seconds: float = 15) -> int:
    for _ in range(int(seconds * 10)):
        count = await server_count(walk_id)
        if count >= expected:
            return count
        await asyncio.sleep(0.1)
    return await server_count(walk_id)


async def test_constat_with_photo_reaches_another_phone(phone, live_server):
    base = live_server["url"]
    walk = await make_walk("open")
    zoe = await join(phone, base, walk, "Zoé")
    ali = await join(phone, base, walk, "Ali")
    await expect(ali.locator(".feed")).to_contain_text("Aucun constat")

    await expect(zoe.locator("#position-status")).to_have_count(1)
    await make_constat(zoe, "Déchets", "Usages", "Dépôt sauvage derrière l'école", PHOTOS / "ok" / "portrait_6.jpg")
    assert await wait_for_count(walk.id, 1) == 1
    observation = await Observation.objects().first()
    assert (observation.issue, observation.angle, observation.polarity) == ("dechets", "usages", "negative")
    assert observation.location_source == "device" and abs(observation.lat - 50.5636) < 1e-6
    photo = await Photo.objects().first()
    assert (photo.width, photo.height) == (450, 600)

    # Ali's feed polls: the constat shows within 5 seconds, with its thumbnail, author and issue.
    item = ali.locator(".feed-item").first
    await expect(item).to_contain_text("Déchets", timeout=5_000)
    await expect(item).to_contain_text("Zoé")
    await expect(item.locator("img")).to_have_attribute("src", f"/photos/{photo.id}/vignette.jpg")
    await image_loaded(ali, ".feed-item img")
    await expect(ali.locator(".counts")).to_contain_text("Déchets 1")
    # Only the author may edit or delete it.
    await expect(zoe.locator(".feed-item").first.get_by_role("link", name="Modifier")).to_be_visible()
    await expect(item.get_by_role("link", name="Modifier")).to_have_count(0)
    assert problems(zoe) == [] and problems(ali) == []


async def test_offline_constats_survive_a_reload_and_leave_exactly_once(phone, live_server):
    base = live_server["url"]
    walk = await make_walk("open")
    page = await join(phone, base, walk, "Zoé")
    # The service worker takes control and keeps this page for the offline reload.
    await service_worker_controls(page)

    await page.context.set_offline(True)
    await expect(page.locator("#network")).to_contain_text("Hors ligne")
    photos = [PHOTOS / "ok" / "landscape_3.jpg", PHOTOS / "ok" / "DSCN0021.jpg", None]
    for number, photo in enumerate(photos, start=1):
        await make_constat(page, "Propreté", "Conception", f"Constat hors ligne n° {number}", photo)
    await expect(page.locator(".outbox-item")).to_have_count(3)
    await expect(page.locator("#outbox")).to_contain_text("3 constats en attente d'envoi")

    # A reload with no network: the page comes from the service worker, the constats from IndexedDB.
    await page.reload()
    await expect(page.locator("h1")).to_have_text("Marche test")
    await expect(page.locator(".outbox-item")).to_have_count(3)
    await page.wait_for_timeout(1_000)
    assert await server_count(walk.id) == 0

    await page.context.set_offline(False)
    await expect(page.locator(".outbox-item")).to_have_count(0, timeout=20_000)
    assert await wait_for_count(walk.id, 3) == 3
    await page.wait_for_timeout(6_000)  # let any stray retry happen: it must not add a fourth
    assert await server_count(walk.id) == 3
    comments = sorted(o["description"] for o in await Observation.select(Observation.description))
    assert comments == [f"Constat hors ligne n° {n}" for n in (1, 2, 3)]
    assert await Photo.count() == 2
    await expect(page.locator(".feed-item")).to_have_count(3, timeout=6_000)
    assert problems(page) == []
