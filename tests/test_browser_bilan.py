"""The bilan in Chromium, as a coordinator fills it in before the comité de pilotage: an indicator
typed in its row (a refused value says why, in place), then saved, and the history below follows;
the committee's assessment written the same way. On a phone the page stays inside its width."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from browser import assert_every_field_labelled, assert_fits_phone_width, problems, sign_in
from conftest import make_neighbourhood, make_user

from walkapp import clock
from walkapp.tables import BilanEvent, IndicatorValue

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]


async def test_a_coordinator_fills_in_the_bilan(phone, live_server):
    base = live_server["url"]
    await make_neighbourhood()
    coordinator = await make_user("coordinator", "chef@ville.example")
    page = await phone()
    await sign_in(page, base, coordinator.email)
    await page.goto(f"{base}/bilan")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(f"Bilan {clock.today().year} de la GUSP")
    await assert_fits_phone_width(page)

    row = page.locator("#ind-dechets-encombrants")
    await row.get_by_role("link", name="Saisir").click()
    value = row.get_by_label("Valeur")
    await expect(value).to_be_visible()
    await page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    await assert_every_field_labelled(page)  # the row's form, and each enjeu's "add an indicator"
    await value.fill("-3")
    await row.get_by_role("button", name="Enregistrer").click()
    await expect(row.get_by_role("alert")).to_contain_text("positif ou nul")
    assert await IndicatorValue.count() == 0
    await row.get_by_label("Valeur").fill("37")
    await row.get_by_label("Unité").fill("rendez-vous")
    await row.get_by_label("Source").fill("CABBALR")
    await row.get_by_role("button", name="Enregistrer").click()
    await expect(row).to_contain_text("37 rendez-vous")
    await expect(row).to_contain_text("Source : CABBALR")
    history = page.locator("#bilan-history")
    await expect(history).to_contain_text("Nombre de rendez-vous Encombrants — Valeur : — → 37")
    await expect(page.locator("#bilan-status")).to_contain_text("Saisie enregistrée.")

    note = page.locator("#appreciation-dechets")
    await note.get_by_role("link", name="Écrire l'appréciation").click()
    await note.get_by_label("Appréciation du comité").fill("Les dépôts sauvages reculent.")
    await note.get_by_role("button", name="Enregistrer l'appréciation").click()
    await expect(page.locator("#appreciation-dechets")).to_contain_text("Les dépôts sauvages reculent.")
    await expect(history).to_contain_text("Appréciation du comité : Déchets")
    assert await BilanEvent.count() == 4  # value, unit, source; the assessment
    await assert_fits_phone_width(page)
    assert problems(page) == []
