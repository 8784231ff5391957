"""The constat form on a phone (issue 11, "Field"): nothing entered is lost by a tap, the form fits
in two screen heights at 360×640, faible/fort is always a choice, files are checked before they
are queued, the controls are big enough for a thumb, and an offline reload says it is offline."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from browser import image_loaded, problems, service_worker_controls, sign_in
from conftest import PHOTOS, make_user, make_walk
from test_browser_capture import LILLERS, join, make_constat, server_count, wait_for_count

from walkapp.tables import Observation

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]

SMALL_PHONE = {"width": 360, "height": 640}
OUTBOX_SIZE = """() => new Promise(resolve => {
  const r = indexedDB.open("walkapp");
  r.onsuccess = () => { const tx = r.result.transaction("outbox");
    const c = tx.objectStore("outbox").count(); c.onsuccess = () => resolve(c.result); };
})"""


async def open_form(phone, base, **options):
    walk = await make_walk("open")
    page = await phone(geolocation=LILLERS, permissions=["geolocation"], **options)
    await page.goto(f"{base}/j/{walk.join_secret}")
    await page.get_by_label("Votre nom").fill("Zoé")
    await page.get_by_role("button", name="Rejoindre la marche").click()
    await page.wait_for_url(f"{base}/marches/{walk.id}/terrain")
    await page.get_by_role("button", name="Nouveau constat").click()
    await expect(page.locator("#constat-form")).to_be_visible()
    return page, walk


async def fill_some(page, photo=True):
    form = page.locator("#constat-form")
    if photo:
        await page.set_input_files("#photo-gallery", str(PHOTOS / "ok" / "portrait_6.jpg"))
        await expect(page.locator("#photo-previews img")).to_have_count(1)
    await form.get_by_role("radio", name="Propreté, entretien").check()
    await form.get_by_role("radio", name="Usages", exact=True).check()
    await form.get_by_role("radio", name="Point fort").check()
    await page.get_by_label("Commentaire").fill("Banc cassé")
    return form


async def test_a_second_tap_on_new_constat_keeps_the_open_form(phone, live_server):
    page, _ = await open_form(phone, live_server["url"])
    form = await fill_some(page)
    await page.get_by_role("button", name="Nouveau constat").click()
    await expect(form).to_be_visible()
    await expect(page.get_by_label("Commentaire")).to_have_value("Banc cassé")
    await expect(page.locator("#photo-previews img")).to_have_count(1)
    await expect(form.get_by_role("radio", name="Propreté, entretien")).to_be_checked()
    assert problems(page) == []


async def test_cancel_asks_when_something_was_entered_and_no_keeps_it(phone, live_server):
    page, _ = await open_form(phone, live_server["url"])
    form = await fill_some(page, photo=False)
    await form.get_by_role("button", name="Annuler").click()
    ask = page.locator("#cancel-ask")
    await expect(ask).to_contain_text("Abandonner ce constat ?")
    await ask.get_by_role("button", name="Non").click()
    await expect(ask).to_be_hidden()
    await expect(form).to_be_visible()
    await expect(page.get_by_label("Commentaire")).to_have_value("Banc cassé")

    await form.get_by_role("button", name="Annuler").click()
    await ask.get_by_role("button", name="Oui").click()
    await expect(form).to_be_hidden()
    await page.get_by_role("button", name="Nouveau constat").click()
    await expect(page.get_by_label("Commentaire")).to_have_value("")
    # An empty form closes at once: nothing to lose, nothing to ask.
    await form.get_by_role("button", name="Annuler").click()
    await expect(form).to_be_hidden()
    assert problems(page) == []  # no window.confirm either


async def test_a_draft_with_its_photo_survives_a_reload(phone, live_server):
    page, walk = await open_form(phone, live_server["url"])
    form = await fill_some(page)
    await page.wait_for_timeout(800)  # the draft is written as the person types (debounced)
    await page.reload()
    await expect(form).to_be_visible()
    await expect(page.get_by_label("Commentaire")).to_have_value("Banc cassé")
    await expect(form.get_by_role("radio", name="Propreté, entretien")).to_be_checked()
    await expect(form.get_by_role("radio", name="Point fort")).to_be_checked()
    await expect(page.locator("#photo-previews img")).to_have_count(1)
    await image_loaded(page, "#photo-previews img")
    # Sent, the draft is gone: the next reload opens no form.
    await page.get_by_role("button", name="Enregistrer le constat").click()
    await expect(form).to_be_hidden()
    assert await wait_for_count(walk.id, 1) == 1
    await expect(page.locator(".outbox-item")).to_have_count(0)
    await page.reload()
    await expect(page.locator("h1")).to_have_text("Marche test")
    await page.wait_for_timeout(500)
    await expect(form).to_be_hidden()
    assert problems(page) == []


async def test_faible_or_fort_is_chosen_never_defaulted(phone, live_server):
    page, walk = await open_form(phone, live_server["url"])
    form = page.locator("#constat-form")
    assert await form.locator('input[name="polarity"]:checked').count() == 0
    await form.get_by_role("radio", name="Propreté, entretien").check()
    await form.get_by_role("radio", name="Usages", exact=True).check()
    await page.get_by_role("button", name="Enregistrer le constat").click()
    await expect(page.locator("#form-error")).to_contain_text("point faible ou point fort")
    await expect(form).to_be_visible()
    assert await page.evaluate(OUTBOX_SIZE) == 0
    await page.wait_for_timeout(500)
    assert await server_count(walk.id) == 0
    await form.get_by_role("radio", name="Point faible").check()
    await page.get_by_role("button", name="Enregistrer le constat").click()
    await expect(form).to_be_hidden()
    assert await wait_for_count(walk.id, 1) == 1
    assert [o["polarity"] for o in await Observation.select(Observation.polarity)] == ["negative"]


async def test_the_comment_counts_its_characters_before_the_limit(phone, live_server):
    page, _ = await open_form(phone, live_server["url"])
    comment = page.get_by_label("Commentaire")
    await expect(comment).to_have_attribute("maxlength", "4000")
    await expect(page.locator("#description-count")).to_have_text("0 / 4000")
    await comment.fill("é" * 1234)
    await expect(page.locator("#description-count")).to_have_text("1234 / 4000")
    await comment.fill("x" * 5000)
    assert len(await comment.input_value()) == 4000
    await expect(page.locator("#description-count")).to_contain_text("4000 / 4000")


async def test_a_text_file_is_refused_before_queueing(phone, live_server):
    page, _ = await open_form(phone, live_server["url"])
    await page.set_input_files("#photo-gallery", files=[
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"pas une photo\n"}])
    await expect(page.locator("#photo-error")).to_contain_text("« notes.txt » n'est pas une photo")
    await expect(page.locator("#photo-previews li")).to_have_count(0)
    # A .jpg name does not fool it: the bytes are checked.
    await page.set_input_files("#photo-gallery", str(PHOTOS / "bad" / "not-an-image.jpg"))
    await expect(page.locator("#photo-error")).to_contain_text("« not-an-image.jpg » n'est pas une photo")
    await expect(page.locator("#photo-previews li")).to_have_count(0)
    assert problems(page) == []


async def test_a_heic_photo_shows_a_chip_not_a_broken_image(phone, live_server):
    page, walk = await open_form(phone, live_server["url"])
    await page.set_input_files("#photo-gallery", str(PHOTOS / "ok" / "IMG_5195.HEIC"))
    chip = page.locator("#photo-previews li")
    await expect(chip).to_have_count(1)
    await expect(chip).to_contain_text("photo HEIC — aperçu indisponible")
    await expect(chip.locator("img")).to_have_count(0)
    await expect(page.locator("#photo-error")).to_be_empty()


async def form_height(page) -> int:
    return await page.evaluate("""() => {
      const form = document.querySelector('#constat-form');
      return form.scrollHeight - document.querySelector('#photo-previews').offsetHeight;
    }""")


async def test_the_form_fits_in_two_screen_heights_at_360x640(phone, live_server):
    page, _ = await open_form(phone, live_server["url"], viewport=SMALL_PHONE, is_mobile=True,
                              has_touch=True, device_scale_factor=2)
    assert await page.evaluate("window.innerWidth") == 360
    height = await form_height(page)
    print(f"constat form height at 360x640: {height}px")
    await page.screenshot(path="/tmp/walkapp-shots/form-360.png", full_page=True)
    assert height <= 2 * 640, f"the form is {height}px tall"
    # The send button stays within reach at the bottom of the screen while the form scrolls.
    await page.get_by_label("Commentaire").scroll_into_view_if_needed()
    box = await page.get_by_role("button", name="Enregistrer le constat").bounding_box()
    assert box and box["y"] + box["height"] <= 640 + 1


async def tap_targets_are_big(targets) -> None:
    for target in targets:
        box = await target.bounding_box()
        assert box and box["height"] >= 44 and box["width"] >= 44, (await target.inner_text(), box)


async def test_field_controls_are_thumb_sized(phone, live_server):
    base = live_server["url"]
    walk = await make_walk("open")
    page = await join(phone, base, walk, "Zoé")
    await make_constat(page, "Déchets", "Usages", "Sac éventré", None)
    assert await wait_for_count(walk.id, 1) == 1
    item = page.locator(".feed-item").first
    await expect(item.get_by_role("link", name="Modifier")).to_be_visible(timeout=15_000)
    await page.get_by_role("button", name="Nouveau constat").click()
    form = page.locator("#constat-form")
    await tap_targets_are_big([
        item.get_by_role("link", name="Modifier"), item.get_by_role("button", name="Supprimer"),
        form.locator("label.tile").first, form.locator("label.tile", has_text="Point fort"),
        form.locator("label.button", has_text="Prendre une photo"),
        form.locator("label.button", has_text="Choisir dans la galerie")])
    # The hidden file input has the focus; its label shows it.
    await page.locator("#photo-camera").focus()
    outline = await form.locator("label.button", has_text="Prendre une photo").evaluate(
        "e => getComputedStyle(e).outlineStyle")
    assert outline not in ("none", "")

    await make_user("agent", email="agent@example.org")
    agent = await phone()
    await sign_in(agent, base, "agent@example.org")
    await agent.goto(f"{base}/marches/{walk.id}/terrain")
    await tap_targets_are_big([agent.get_by_role("button", name="Nous sommes ici").first])


async def test_the_current_halte_is_scrolled_into_view(phone, live_server):
    base = live_server["url"]
    walk = await make_walk("open", stops=8)
    await make_user("agent", email="agent@example.org")
    page = await phone(geolocation=LILLERS, permissions=["geolocation"])
    await sign_in(page, base, "agent@example.org")
    await page.goto(f"{base}/marches/{walk.id}/terrain")
    last = page.locator(".stops-chips li").last
    await last.get_by_role("button", name="Nous sommes ici").click()
    await expect(page.locator(".stops-chips li.current")).to_contain_text("Halte 7")
    # htmx settles the swap a moment after the text is there: wait for the scroll, 5 s at most.
    await page.wait_for_function("""() => {
      const box = document.querySelector('.stops-chips').getBoundingClientRect();
      const chip = document.querySelector('.stops-chips li.current').getBoundingClientRect();
      return chip.left >= box.left - 1 && chip.right <= box.right + 1;
    }""", timeout=5_000)


async def test_danger_buttons_are_readable(phone, live_server):
    """"Clore la marche" (and every .button.danger): white on red, not red on red."""
    base = live_server["url"]
    walk = await make_walk("open")
    await make_user("coordinator", email="coord@example.org")
    page = await phone()
    await sign_in(page, base, "coord@example.org")
    await page.goto(f"{base}/marches/{walk.id}")
    button = page.get_by_role("button", name="Clore la marche")
    colour, background = await button.evaluate(
        "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
    assert colour != background
    assert colour == "rgb(255, 255, 255)", (colour, background)


async def test_an_offline_reload_says_it_is_offline(phone, live_server):
    base = live_server["url"]
    walk = await make_walk("open")
    page = await join(phone, base, walk, "Zoé")
    await service_worker_controls(page)
    await page.context.set_offline(True)
    await make_constat(page, "Propreté", "Conception", "Hors ligne", None)
    await page.reload()
    network = page.locator("#network")
    await expect(network).to_contain_text("Hors ligne : les constats partiront au retour du réseau")
    await expect(network).to_contain_text("1 constat sur ce téléphone")
    await expect(page.locator("#live")).to_have_attribute("data-stale", "1")
    await expect(page.locator("#counts-title")).to_contain_text("au dernier passage en ligne")
    # Another page, never visited: a styled "Hors ligne" page with a way back to the walk.
    await page.goto(f"{base}/carte?walk={walk.id}")
    await expect(page.locator("h1")).to_have_text("Hors ligne")
    back = page.get_by_role("link", name="Revenir à la marche")
    await expect(back).to_have_attribute("href", f"/marches/{walk.id}/terrain")
    await back.click()
    await expect(page.locator("h1")).to_have_text("Marche test")
    assert [p for p in problems(page) if "dialog" in p] == []
