"""The QPV outline in Chromium (issue 15): a coordinator imports the perimeter on the walk's page
and sees it drawn on the committee's map and the walk form's map; a participant sees it on the
capture form's map (drawn from the page's data: it needs no network)."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from browser import problems, sign_in
from conftest import make_user, make_walk
from test_browser_capture import join
from test_outline import MINE, OTHER, qpv_file

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]


async def test_import_then_see_the_outline_on_the_maps(phone, live_server, tmp_path):
    base = live_server["url"]
    walk = await make_walk("open")
    user = await make_user("coordinator")
    page = await phone()
    await sign_in(page, base, user.email)
    await page.goto(f"{base}/marches/{walk.id}")
    contours = tmp_path / "QP2024_WGS84.geojson"
    contours.write_bytes(qpv_file(OTHER, MINE))
    await page.get_by_label("Importer le contour (fichier GeoJSON)").set_input_files(str(contours))
    await page.get_by_role("button", name="Importer", exact=True).click()
    await expect(page.locator("#outline-done")).to_contain_text("Périmètre importé : Ville Centre (QP062057)")
    await expect(page.locator("#outline-status")).to_contain_text("QP2024_WGS84.geojson")

    await page.goto(f"{base}/carte?walk={walk.id}")  # folium's layer
    await expect(page.locator(".leaflet-overlay-pane path.walk-outline")).to_have_count(1)
    await page.goto(f"{base}/marches/{walk.id}/modifier")  # fetched by static/js/outline.js
    await expect(page.locator("#stops-map path.walk-outline")).to_have_count(1)

    resident = await join(phone, base, walk, "Zoé")
    await resident.get_by_role("button", name="Nouveau constat").click()
    await resident.locator("#position-details summary").click()
    await expect(resident.locator("#mini-map path.walk-outline")).to_have_count(1)
    assert problems(page) == [] and problems(resident) == []
