"""The map that decides (issue 11), in Chromium on a phone (Pixel 5) and a 1366×768 desktop: the
map first on a phone with the filters folded behind "Filtres (n)", clusters drawn as rings of the
issue colours in proportion, and the list of the constats in view (moves with the map, feeds the
selection tray, highlights its marker, reachable by keyboard)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from browser import problems, sign_in
from test_browser_a11y import axe_violations
from conftest import make_user
from test_api_observations import join
from test_review import KNOWN, seed
from conftest import make_walk

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]

DESKTOP = {"viewport": {"width": 1366, "height": 768}, "is_mobile": False, "has_touch": False,
           "device_scale_factor": 1}
MAP = "window[document.querySelector('.folium-map').id]"
FIRST = (50.5636, 2.4826)  # where seed() puts the first constat; the next ones 0.0001° north each


async def _committee_page(phone, live_server, client, rows=KNOWN, **options):
    walk = await make_walk("open")
    await join(client, walk)
    ids = await seed(client, walk, rows)
    coordinator = await make_user("coordinator")
    page = await phone(**options)
    await sign_in(page, live_server["url"], coordinator.email)
    await page.goto(f"{live_server['url']}/carte")
    await expect(page.locator("#map-list .in-view-count")).to_be_visible()
    # The map opens with an animated fitBounds, whose end would undo a move made meanwhile.
    await page.evaluate(f"() => new Promise(done => {MAP}._animatingZoom ? {MAP}.once('zoomend', done) : done())")
    return page, ids


async def test_phone_shows_the_map_first_and_folds_the_filters(phone, live_server, client):
    page, _ = await _committee_page(phone, live_server, client)
    box = await page.locator(".map-box").bounding_box()
    assert box and box["y"] < 640, box  # the map starts within the first screen
    summary = page.locator("#filters-fold > summary")
    await expect(summary).to_have_text("Filtres (0)")
    await expect(page.get_by_label("Enjeu", exact=True)).to_be_hidden()
    # The list comes below the map on a phone.
    listed = await page.locator("#map-list-section").bounding_box()
    assert listed and listed["y"] >= box["y"] + box["height"]

    await summary.click()
    await page.get_by_label("Enjeu", exact=True).select_option("dechets")
    await expect(page.locator("#map-count")).to_contain_text("3 constats sur la carte")
    await expect(summary).to_have_text("Filtres (1)")
    await page.get_by_label("Point faible ou fort").select_option("negative")
    await expect(summary).to_have_text("Filtres (2)")
    # A shared link counts its filters too, and a reload keeps the map first.
    await page.goto(f"{live_server['url']}/carte?issue=dechets&polarity=negative")
    await expect(summary).to_have_text("Filtres (2)")
    box = await page.locator(".map-box").bounding_box()
    assert box and box["y"] < 640, box
    assert problems(page) == []


async def test_desktop_opens_the_filters_beside_a_map(phone, live_server, client):
    page, _ = await _committee_page(phone, live_server, client, **DESKTOP)
    await expect(page.get_by_label("Enjeu", exact=True)).to_be_visible()
    the_map = await page.locator(".map-box").bounding_box()
    the_list = await page.locator("#map-list-section").bounding_box()
    assert the_list["x"] >= the_map["x"] + the_map["width"]  # beside, not below
    assert problems(page) == []


async def test_a_cluster_is_a_ring_of_issue_colours_in_proportion(phone, live_server, client):
    # 3 déchets + 1 propreté, 11 m apart: one cluster at zoom 16.
    page, _ = await _committee_page(phone, live_server, client, rows=KNOWN[:4], **DESKTOP)
    await page.evaluate(f"() => {MAP}.setView([{FIRST[0]}, {FIRST[1]}], 16, {{animate: false}})")
    ring = page.locator(".ring-cluster .ring")
    await expect(ring).to_have_count(1)
    await expect(ring).to_have_text("4")
    await expect(ring).to_have_attribute("aria-label", "4 constats : 1 Propreté, 3 Déchets")
    style = await ring.get_attribute("style")
    # Issues in the convention's order: Propreté (#009E73) a quarter, Déchets (#A0522D) three.
    assert "conic-gradient(#009E73 0% 25%, #A0522D 25% 100%)" in style, style
    colour = await ring.evaluate("e => getComputedStyle(e).backgroundImage")
    assert "rgb(0, 158, 115)" in colour and "rgb(160, 82, 45)" in colour, colour
    assert problems(page) == []


def _rows(page):
    return page.locator("#map-list .in-view-row")


async def _moved(page, script: str) -> None:
    """Moves the map, then waits for the list of that view (asked 150 ms after moveend)."""
    await page.evaluate(script)
    await page.wait_for_timeout(400)
    await expect(page.locator("#map-list[aria-busy]")).to_have_count(0)


async def test_the_list_follows_the_view_and_feeds_the_tray(phone, live_server, client):
    page, ids = await _committee_page(phone, live_server, client, **DESKTOP)
    await expect(_rows(page)).to_have_count(6)
    await expect(page.locator("#map-list")).to_contain_text("6 constats dans la vue")
    first = _rows(page).and_(page.locator(f'[data-constat="{ids[0]}"]'))
    await expect(first).to_contain_text("Déchets")
    await expect(first).to_contain_text("Rue Carnot")
    await expect(first).to_contain_text(re.compile(r"\d\d/\d\d/\d{4}"))

    # Zoomed in with the first constat at the top edge (the next is 11 m north): only it is listed.
    await page.evaluate(f"""() => {{
        const map = {MAP};
        map.setView([{FIRST[0]}, {FIRST[1]}], 19, {{animate: false}});
        const b = map.getBounds(), half = (b.getNorth() - b.getSouth()) / 2;
        map.setView([{FIRST[0]} + 0.00004 - half, {FIRST[1]}], 19, {{animate: false}});
    }}""")
    await expect(_rows(page)).to_have_count(1)
    await expect(page.locator(f'#map-list .in-view-row[data-constat="{ids[0]}"]')).to_have_count(1)
    # Panned away: nothing in view.
    await page.evaluate(f"() => {MAP}.panTo([{FIRST[0] + 0.05}, {FIRST[1]}], {{animate: false}})")
    await expect(page.locator("#map-list")).to_contain_text("0 constat dans la vue")
    await expect(_rows(page)).to_have_count(0)

    # Back on all of them: ticking a row puts it in the selection tray.
    await page.evaluate(f"() => {MAP}.setView([{FIRST[0] + 0.00025}, {FIRST[1]}], 17, {{animate: false}})")
    await expect(_rows(page)).to_have_count(6)
    await page.get_by_label(f"Sélectionner le constat n° {ids[1]}").check()
    tray = page.locator("#selection-tray")
    await expect(tray).to_be_visible()
    await expect(tray).to_contain_text(f"1 constat sélectionné : n° {ids[1]}")
    # The list is rebuilt on the next move: the box stays ticked (same sessionStorage as popups).
    await page.evaluate(f"() => {MAP}.setZoom(16, {{animate: false}})")
    await expect(page.get_by_label(f"Sélectionner le constat n° {ids[1]}")).to_be_checked()
    assert problems(page) == []


def _lit(page):
    return page.locator('path.leaflet-interactive[stroke="#f4a100"]')


async def test_a_row_lights_its_marker_and_a_marker_its_row(phone, live_server, client):
    page, ids = await _committee_page(phone, live_server, client, **DESKTOP)
    await _moved(page, f"() => {MAP}.setView([{FIRST[0]}, {FIRST[1]}], 19, {{animate: false}})")
    row = page.locator(f'#map-list .in-view-row[data-constat="{ids[0]}"]')
    await expect(row).to_have_count(1)
    await expect(_lit(page)).to_have_count(0)
    await page.get_by_label(f"Sélectionner le constat n° {ids[0]}").focus()
    await expect(_lit(page)).to_have_count(1)
    await page.get_by_label(f"Sélectionner le constat n° {ids[0]}").blur()
    await expect(_lit(page)).to_have_count(0)
    await row.hover()
    await expect(_lit(page)).to_have_count(1)
    # Clustered (zoomed out), the row lights the cluster that holds its marker.
    await page.mouse.move(0, 0)
    await _moved(page, f"() => {MAP}.setView([{FIRST[0]}, {FIRST[1]}], 15, {{animate: false}})")
    await expect(page.locator(".ring-cluster")).to_have_count(1)
    await page.locator(f'#map-list .in-view-row[data-constat="{ids[0]}"]').hover()
    await expect(page.locator(".ring-cluster.ring-lit")).to_have_count(1)

    # A click on a marker (as Leaflet fires it, up to the cluster layer) marks and shows its row.
    await page.mouse.move(0, 0)
    await _moved(page, f"() => {MAP}.setView([{FIRST[0]}, {FIRST[1]}], 19, {{animate: false}})")
    await expect(page.locator("path.leaflet-interactive").first).to_be_visible()
    await page.evaluate(f"""() => {{
        const map = {MAP};
        map.eachLayer(l => {{
            if (l.options && l.options.walkappId === {ids[0]}) l.fire('click', {{latlng: l.getLatLng()}}, true);
        }});
    }}""")
    await expect(page.locator(f'#map-list .in-view-row.current[data-constat="{ids[0]}"]')).to_have_count(1)
    assert problems(page) == []


async def test_keyboard_reaches_the_list_tick_boxes(phone, live_server, client):
    # bypass_csp: only so that axe can be injected (the CSP is tested in test_browser_security.py).
    page, ids = await _committee_page(phone, live_server, client, bypass_csp=True, **DESKTOP)
    await expect(_rows(page)).to_have_count(6)
    await page.locator("#map-list-title").evaluate("e => { e.tabIndex = -1; e.focus(); }")
    reached = None
    for _ in range(4):
        await page.keyboard.press("Tab")
        reached = await page.evaluate("document.activeElement.className")
        if "select-constat" in reached:
            break
    assert "select-constat" in reached, reached
    await page.keyboard.press("Space")
    await expect(page.locator("#selection-tray")).to_be_visible()
    # The list (loaded after the page, so not seen by test_browser_a11y's pass) passes axe too.
    assert await axe_violations(page, "carte, liste") == []
    assert problems(page) == []
