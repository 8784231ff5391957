"""Real-browser tests: Debian's Chromium, driven by Playwright, as a phone (Pixel 5, French), against
`walkapp serve` on a loopback port (the `live_server` fixture), on the same test database.

Rows the browser needs (users, walks) are created here before the browser acts; the autouse
`clean_database` fixture empties the tables after each test. A screenshot of the walk page and of
the join page goes to /tmp/walkapp-shots/ for a person to look at.

Chromium must be at /usr/bin/chromium (`apt-get install chromium`): these tests fail, they never
skip, when it is missing.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from browser import (
    assert_every_field_labelled,
    assert_fits_phone_width,
    image_loaded,
    injected,
    problems,
    screenshot,
    sign_in,
)
from conftest import PASSWORD, make_neighbourhood, make_user, make_walk

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]


# ---------------------------------------------------------------- 1. create a walk, a resident joins

async def test_coordinator_creates_walk_and_resident_joins(phone, live_server, backend):
    base = live_server["url"]
    coordinator = await make_user("coordinator")
    await make_neighbourhood()  # the only one: the form preselects it

    page = await phone(install_clock=True)
    await sign_in(page, base, coordinator.email)

    await page.goto(f"{base}/marches/nouvelle")
    await assert_fits_phone_width(page)
    await page.get_by_label("Titre", exact=True).fill("Marche du centre-ville")
    await page.get_by_label("Date", exact=True).fill("2026-11-25")
    rows = page.locator("#stop-rows > li")
    await expect(rows).to_have_count(1)
    await rows.nth(0).get_by_label("Halte 1 : nom").fill("Parvis de la mairie")
    await rows.nth(0).get_by_label(re.compile(": latitude$")).fill("50.5636")
    await rows.nth(0).get_by_label(re.compile(": longitude$")).fill("2.4826")

    await page.get_by_role("button", name="Ajouter une halte").click()
    await expect(rows).to_have_count(2)
    await expect(rows.nth(1).get_by_label("Halte 2 : nom")).to_have_value("")
    await rows.nth(1).get_by_label("Halte 2 : nom").fill("Square Roger-Salengro")
    await rows.nth(1).get_by_label(re.compile(": latitude$")).fill("50,5641")  # a French decimal comma
    await rows.nth(1).get_by_label(re.compile(": longitude$")).fill("2,4819")
    await assert_every_field_labelled(page)

    await page.get_by_role("button", name="Enregistrer").click()
    await page.wait_for_url(re.compile(r"/marches/\d+$"))
    walk_id = int(page.url.rsplit("/", 1)[1])
    await expect(page.get_by_role("heading", level=1)).to_have_text("Marche du centre-ville")
    await expect(page.locator(".stops-list > li")).to_have_text([
        re.compile(r"^Parvis de la mairie\s+\(50\.56360, 2\.48260\)$"),
        re.compile(r"^Square Roger-Salengro\s+\(50\.56410, 2\.48190\)$"),
    ])
    await expect(page.locator("#participants")).to_contain_text("0 participant")
    await assert_fits_phone_width(page)

    join_link = page.locator("#join-url")
    join_url = await join_link.get_attribute("href")
    assert join_url and join_url.startswith(f"{base}/j/"), join_url
    await expect(join_link).to_have_text(join_url)

    # A resident's phone: no account, only the link.
    resident = await phone()
    await resident.goto(join_url)
    await expect(resident.get_by_role("heading", level=1)).to_have_text("Marche du centre-ville")
    await assert_fits_phone_width(resident)
    await screenshot(resident, "join", backend)
    name = '<b>Zoé</b> <img src=x onerror="alert(1)">'
    await resident.get_by_label(re.compile("^Votre nom")).fill(name)
    await resident.get_by_role("button", name="Rejoindre la marche").click()
    await resident.wait_for_url(f"{base}/marches/{walk_id}/terrain")

    # Shown as typed, as text: no <b> or <img> made from it, no alert (checked at the end).
    await expect(resident.locator("main")).to_contain_text(name)
    await expect(injected(resident.locator("main"))).to_have_count(0)
    await assert_fits_phone_width(resident)

    # The coordinator's page refreshes its participants block every 10 s (htmx): jump ahead.
    # The old block is marked first, so the check below sees htmx's swap, not a reload.
    participants = page.locator("#participants")
    await participants.evaluate("e => e.dataset.before = 'yes'")
    await page.clock.fast_forward(11_000)
    await expect(page.locator("#participants[data-before]")).to_have_count(0)
    await expect(participants).to_contain_text("1 participant")
    await expect(participants.locator("li")).to_have_count(1)
    await expect(participants.locator("li")).to_contain_text(name)
    await expect(injected(participants)).to_have_count(0)
    await screenshot(page, "detail", backend)

    # A reload shows the same.
    await page.reload()
    await expect(page.locator("#participants li")).to_contain_text(name)

    assert problems(page) == [] and problems(resident) == [], problems(page) + problems(resident)


# ---------------------------------------------------------------- 2. a walk without haltes

async def test_walk_form_without_halte_is_refused_and_keeps_what_was_typed(phone, live_server):
    from walkapp.tables import Walk

    base = live_server["url"]
    coordinator = await make_user("coordinator")
    await make_neighbourhood()

    page = await phone()
    await sign_in(page, base, coordinator.email)
    await page.goto(f"{base}/marches/nouvelle")
    title = "Marche « Cœur de ville » & <alentours>"
    await page.get_by_label("Titre", exact=True).fill(title)
    await page.get_by_label("Date", exact=True).fill("2026-11-25")
    # The first halte row comes with the neighbourhood's centre as its point: empty it all.
    for label in ("Halte 1 : nom", "Halte 1 : latitude", "Halte 1 : longitude"):
        await page.get_by_label(label, exact=True).fill("")

    await page.get_by_role("button", name="Enregistrer").click()
    form = page.locator("#walk-form")
    await expect(form.get_by_role("alert")).to_contain_text(re.compile("ajoutez au moins une halte", re.I))
    await expect(page.locator("body")).to_contain_text(re.compile("ajoutez au moins une halte", re.I))
    await expect(page.get_by_label("Titre", exact=True)).to_have_value(title)
    await expect(page.get_by_label("Date", exact=True)).to_have_value("2026-11-25")
    assert page.url == f"{base}/marches/nouvelle"
    await assert_every_field_labelled(page)
    await assert_fits_phone_width(page)
    assert await Walk.count() == 0
    assert problems(page) == [], problems(page)


# ---------------------------------------------------------------- 3. keyboard and phone basics

async def test_sign_in_page_labelled_keyboard_and_phone_width(phone, live_server):
    base = live_server["url"]
    coordinator = await make_user("coordinator")

    page = await phone()
    await page.goto(f"{base}/connexion")
    assert await assert_every_field_labelled(page) == 2
    await expect(page.get_by_label("Adresse e-mail")).to_have_attribute("type", "email")
    await expect(page.get_by_label("Mot de passe")).to_have_attribute("type", "password")
    await assert_fits_phone_width(page)

    # Keyboard only: the first Tab reaches the skip link, then on to the e-mail field, Enter submits.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    email = page.get_by_label("Adresse e-mail")
    for _ in range(10):
        if await email.evaluate("e => e === document.activeElement"):
            break
        await page.keyboard.press("Tab")
    await expect(email).to_be_focused()
    await page.keyboard.type(coordinator.email)
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Mot de passe")).to_be_focused()
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/marches")
    await assert_fits_phone_width(page)
    assert problems(page) == [], problems(page)


async def test_join_page_labelled_keyboard_and_phone_width(phone, live_server):
    base = live_server["url"]
    walk = await make_walk("open", title="Marche de la cité des Jardins, côté gare et résidence Les Tilleuls")

    page = await phone()
    await page.goto(f"{base}/j/{walk.join_secret}")
    assert await assert_every_field_labelled(page) == 1
    name_field = page.get_by_label(re.compile("^Votre nom"))
    await expect(name_field).to_have_attribute("maxlength", "60")
    await assert_fits_phone_width(page)

    await name_field.focus()
    await page.keyboard.type("Karim")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{base}/marches/{walk.id}/terrain")
    await expect(page.locator("main")).to_contain_text("Karim")
    await assert_fits_phone_width(page)

    # Joined: the link now leads straight to the field page.
    await page.goto(f"{base}/j/{walk.join_secret}")
    await page.wait_for_url(f"{base}/marches/{walk.id}/terrain")

    # A mistyped link: a French 404 page that fits the phone, not a server error.
    response = await page.goto(f"{base}/j/{walk.join_secret[:-2]}xx")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("alert")).to_contain_text("Ce lien d'invitation ne correspond à aucune marche")
    await assert_fits_phone_width(page)
    response = await page.goto(f"{base}/pas-de-page-ici")
    assert response is not None and response.status == 404
    await expect(page.get_by_role("alert")).to_contain_text("Cette page n'existe pas ou plus.")
    assert problems(page) == [], problems(page)


async def test_qr_code_shows_on_the_walk_page(phone, live_server):
    base = live_server["url"]
    coordinator = await make_user("coordinator")
    walk = await make_walk("open")

    page = await phone()
    await sign_in(page, base, coordinator.email)
    await page.goto(f"{base}/marches/{walk.id}")
    qr = page.get_by_role("img", name="Code QR du lien pour rejoindre la marche")
    await expect(qr).to_be_visible()
    await image_loaded(page, "img.qr")  # the QR code renders
