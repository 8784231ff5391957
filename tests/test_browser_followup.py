"""The follow-up walk on a phone (Pixel 5), in Chromium: join it, see the earlier walk's constats
"À revoir" nearest to the phone first, lose the network, re-visit one (outcome, new photo,
comment), reload offline, get the network back: it leaves exactly once; then the earlier
constat's page shows Avant / Après."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from playwright.async_api import expect

from browser import problems, screenshot, sign_in
from conftest import PHOTOS, make_user, make_walk
from test_revisits import earlier_constat, follow_up_of

from walkapp.tables import Observation, Photo

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]

LILLERS = {"latitude": 50.5636, "longitude": 2.4826, "accuracy": 12}


async def revisits_of(walk_id: int) -> list[Observation]:
    return await Observation.objects().where(Observation.walk == walk_id)


async def wait_for_revisits(walk_id: int, expected: int, seconds: float = 20) -> int:
    for _ in range(int(seconds * 10)):
        if len(await revisits_of(walk_id)) >= expected:
            break
        await asyncio.sleep(0.1)
    return len(await revisits_of(walk_id))


async def test_a_revisit_made_offline_leaves_once_and_shows_before_after(phone, live_server, backend):
    base = live_server["url"]
    earlier = await make_walk("closed", title="Diagnostic d'automne")
    far = await earlier_constat(earlier, issue="ambiance", offset=0.0030, text="Éclairage en panne, loin")
    near = await earlier_constat(earlier, issue="dechets", offset=0.0005, text="Dépôt sauvage tout près")
    middle = await earlier_constat(earlier, issue="proprete", offset=0.0015, text="Corbeilles pleines")
    walk = await follow_up_of(earlier, date=dt.date.today(), title="Marche de suivi")

    page = await phone(geolocation=LILLERS, permissions=["geolocation"])
    await page.goto(f"{base}/j/{walk.join_secret}")
    await page.get_by_label("Votre nom").fill("Zoé")
    await page.get_by_role("button", name="Rejoindre la marche").click()
    await page.wait_for_url(f"{base}/marches/{walk.id}/terrain")
    items = page.locator("#to-revisit li[data-revisit-id]")
    await expect(items).to_have_count(3)
    # Nearest to the phone first (the server had them by halte, then number), with the distance.
    await expect(items.first).to_have_attribute("data-revisit-id", str(near.id))
    assert [await items.nth(i).get_attribute("data-revisit-id") for i in range(3)] == [
        str(near.id), str(middle.id), str(far.id)]
    await expect(items.first.locator(".distance")).to_contain_text("m de vous")
    # The earlier photos load (and the service worker keeps them for the offline reload).
    await page.wait_for_function("() => [...document.querySelectorAll('#to-revisit img')].every("
                                 "i => i.complete && i.naturalWidth > 0)")
    await page.wait_for_function("() => navigator.serviceWorker && navigator.serviceWorker.controller !== null")
    await page.wait_for_timeout(500)
    await screenshot(page, "followup-a-revoir", backend)

    await page.context.set_offline(True)
    await expect(page.locator("#network")).to_contain_text("Hors ligne")
    await items.first.get_by_role("button", name=f"Revoir le constat n° {near.id}").click()
    form = page.locator("#constat-form")
    await expect(form).to_be_visible()
    await expect(page.locator("#constat-form-title")).to_have_text(f"Revoir le constat n° {near.id}")
    await expect(page.locator("#revisit-panel")).to_contain_text("Dépôt sauvage tout près")
    await expect(page.locator("#constat-choices")).to_be_hidden()  # issue and angle taken from it
    await expect(page.locator("#revisit-choices-text")).to_contain_text("Déchets")
    await page.set_input_files("#photo-gallery", str(PHOTOS / "ok" / "landscape_3.jpg"))
    await expect(page.locator("#photo-previews img")).to_have_count(1)
    # Without an outcome, nothing goes to the outbox.
    await page.get_by_role("button", name="Enregistrer le constat").click()
    await expect(page.locator("#form-error")).to_contain_text("Résolu, Amélioré, Inchangé ou Dégradé")
    await form.locator("label.tile", has_text="Amélioré").click()
    await page.get_by_label("Commentaire").fill("Moins de dépôts, il en reste un peu")
    await screenshot(page, "followup-revisit-form", backend)
    await page.get_by_role("button", name="Enregistrer le constat").click()
    await expect(form).to_be_hidden()
    await expect(page.locator(".outbox-item")).to_have_count(1)
    await expect(page.locator(".outbox-item")).to_contain_text("Revoir Déchets")
    await expect(page.locator(".outbox-item")).to_contain_text("Amélioré")

    await page.reload()  # offline: the page from the service worker, the re-visit from IndexedDB
    await expect(page.locator(".outbox-item")).to_have_count(1)
    await screenshot(page, "followup-offline-outbox", backend)
    await page.wait_for_timeout(1_000)
    assert await revisits_of(walk.id) == []

    await page.context.set_offline(False)
    await expect(page.locator(".outbox-item")).to_have_count(0, timeout=20_000)
    assert await wait_for_revisits(walk.id, 1) == 1
    await page.wait_for_timeout(6_000)  # any stray retry must not add a second
    [revisit] = await revisits_of(walk.id)
    assert (revisit.revisit_of, revisit.outcome, revisit.issue, revisit.angle) == (near.id, "ameliore", "dechets",
                                                                                   "usages")
    assert revisit.description == "Moins de dépôts, il en reste un peu"
    assert await Photo.count().where(Photo.observation == revisit.id) == 1
    # The list marks it, on the next poll.
    done = page.locator(f'#to-revisit li[data-revisit-id="{near.id}"]')
    await expect(done).to_contain_text("Revu : Amélioré", timeout=10_000)
    await screenshot(page, "followup-revisited", backend)
    assert problems(page) == []

    # The earlier constat's page: Avant / Après, photos side by side with their dates.
    staff = await phone()
    committee = await make_user("committee")
    await sign_in(staff, base, committee.email)
    await staff.goto(f"{base}/constats/{near.id}")
    pair = staff.locator(".ba-pair")
    await expect(pair).to_have_count(1)
    await expect(pair).to_contain_text("Amélioré")
    await expect(pair.locator("figcaption").first).to_contain_text("Avant")
    await expect(pair.locator("figcaption").nth(1)).to_contain_text("Après")
    await pair.scroll_into_view_if_needed()
    await staff.wait_for_function("() => [...document.querySelectorAll('.ba-pair img')].every("
                                  "i => i.complete && i.naturalWidth > 0)")
    boxes = [await pair.locator("img").nth(i).bounding_box() for i in range(2)]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[0]["x"] < boxes[1]["x"]  # side by side
    await screenshot(staff, "followup-avant-apres", backend)
    assert problems(staff) == []


async def test_the_evaluation_proposal_fills_the_field_only_when_asked(phone, live_server, backend):
    from walkapp.actions.forms import ActionInput
    from walkapp.actions.services import create_action
    from walkapp.observations.schemas import ObservationInput
    from walkapp.observations.services import record
    from walkapp.storage import media_store
    from walkapp.tables import Action
    import uuid

    earlier = await make_walk("closed")
    constat = await earlier_constat(earlier)
    walk = await follow_up_of(earlier, title="Suivi")
    await record(media_store(), walk, None, ObservationInput(
        client_uuid=str(uuid.uuid4()), issue=None, angle=None, polarity=None, revisit_of=constat.id,
        outcome="resolu"))
    coordinator = await make_user("coordinator")
    action = await create_action(ActionInput(axe="dechets", problem="Dépôts", constats=[constat.id],
                                             evaluation="Suivi en cours."), coordinator)
    page = await phone()
    await sign_in(page, live_server["url"], coordinator.email)
    await page.goto(f"{live_server['url']}/actions/{action.id}/modifier")
    proposal = "1 constat revu : 1 Résolu (marche de suivi du 12/01/2027)"
    await expect(page.locator("#evaluation-proposal")).to_contain_text(proposal)
    field = page.get_by_label("Évaluation de l'action / Évolution")
    await expect(field).to_have_value("Suivi en cours.")
    await page.get_by_role("button", name="Reprendre dans l'évaluation").click()
    await expect(field).to_have_value(f"Suivi en cours.\n{proposal}")  # after what was written
    await page.get_by_role("button", name="Reprendre dans l'évaluation").click()  # not twice
    await expect(field).to_have_value(f"Suivi en cours.\n{proposal}")
    assert (await Action.objects().where(Action.id == action.id).first()).evaluation == "Suivi en cours."
    await screenshot(page, "followup-evaluation-proposal", backend)
    await page.get_by_role("button", name="Enregistrer").click()
    await page.wait_for_url(f"{live_server['url']}/actions/{action.id}")
    assert (await Action.objects().where(Action.id == action.id).first()).evaluation == (
        f"Suivi en cours.\n{proposal}")
    assert problems(page) == []
