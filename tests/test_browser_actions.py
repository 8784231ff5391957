"""From two constats on the map to an action in Chromium: tick both in their popups, create the
action from the selection tray, change its state in the table, and find it there. The table also
stays inside a phone's width (it scrolls by itself) with a label on every field."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from browser import assert_every_field_labelled, assert_fits_phone_width, problems, sign_in
from conftest import make_user, make_walk
from test_api_observations import fields, join, post_observation

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]

# Centres the map on a constat's place at street level (zoom 19: every constat a marker), then
# keeps its marker, once the view is drawn, as window.__marker.
SHOW_PLACE = """([lat, lon]) => {
  window[document.querySelector('.folium-map').id].setView([lat, lon], 19, {animate: false});
}"""
FIND_MARKER = """(id) => {
  window.__marker = null;
  window[document.querySelector('.folium-map').id].eachLayer(layer => {
    if (layer.options && layer.options.walkappId === id) window.__marker = layer;
  });
  return window.__marker !== null;
}"""


async def click_marker(page, constat_id: int, place: tuple[float, float]) -> None:
    close = page.locator(".leaflet-popup-close-button")
    if await close.count():  # an open popup may cover the next marker: close it as a person would
        await close.click()
        await expect(close).to_have_count(0)
    await page.evaluate(SHOW_PLACE, list(place))
    await expect(page.locator('.map-box[data-view="drawn"]')).to_have_count(1)
    assert await page.evaluate(FIND_MARKER, constat_id)
    await page.wait_for_function("() => window.__marker._path && window.__marker._path.isConnected")
    marker = (await page.evaluate_handle("() => window.__marker._path")).as_element()
    await marker.click(force=True)
    await expect(page.locator(".leaflet-popup-content")).to_contain_text(f"Voir le constat n° {constat_id}")
    # A popup that pans the map into view makes the map ask for that view, and the list after it:
    # let both arrive before the popup is used (the list's rows hold tick boxes too).
    await page.wait_for_function("() => !walkappMap.busy()")


async def tick_in_popup(page, constat_id: int, place: tuple[float, float]) -> None:
    await click_marker(page, constat_id, place)
    await page.locator(".leaflet-popup-content").get_by_label("Sélectionner").check()


async def test_two_constats_on_the_map_become_one_action(phone, live_server, client):
    base = live_server["url"]
    walk = await make_walk("open")
    await join(client, walk)
    ids, places = [], []
    for n, text in enumerate(["Sacs poubelle éventrés", "Encombrants devant l'entrée"]):
        # East of the route, so that no halte sits on a constat's marker.
        places.append((50.5640 + n * 0.0002, 2.4840))
        response = await post_observation(client, walk, fields(issue="dechets", description=text,
                                                               lat=str(places[-1][0]), lon=str(places[-1][1])))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    coordinator = await make_user("coordinator", partner="Pas-de-Calais Habitat")

    page = await phone(viewport={"width": 1280, "height": 900}, is_mobile=False, has_touch=False,
                       device_scale_factor=1)
    await sign_in(page, base, coordinator.email)
    await page.goto(f"{base}/carte?walk={walk.id}")
    tray = page.locator("#selection-tray")
    await expect(tray).to_be_hidden()
    for constat_id, place in zip(ids, places, strict=True):
        await tick_in_popup(page, constat_id, place)
    await expect(tray).to_contain_text("2 constats sélectionnés")

    # A change of filters redraws the map: the selection stays.
    await page.get_by_label("Enjeu", exact=True).select_option("dechets")
    await expect(page).to_have_url(f"{base}/carte?walk={walk.id}&issue=dechets")
    await expect(tray).to_contain_text(f"n° {ids[0]}, n° {ids[1]}")
    # ... and the popup remembers its box is ticked.
    await click_marker(page, ids[0], places[0])
    await expect(page.locator(".leaflet-popup-content").get_by_label("Sélectionner")).to_be_checked()

    await tray.get_by_role("link", name="Créer une action (2 constats)").click()
    await expect(page).to_have_url(f"{base}/actions/nouvelle?constats={ids[0]},{ids[1]}")
    await expect(page.get_by_label("Axes d'intervention")).to_have_value("dechets")
    await expect(page.get_by_label("Constat", exact=True)).to_have_value(
        f"Constat n° {ids[0]} (Rue Carnot) : Sacs poubelle éventrés\n"
        f"Constat n° {ids[1]} (Rue Carnot) : Encombrants devant l'entrée")
    await assert_every_field_labelled(page)
    await page.get_by_label("Problème à traiter").fill("Dépôts sauvages au pied des immeubles")
    await page.get_by_label("Actions", exact=True).fill("Enlèvement puis sensibilisation des locataires")
    await page.get_by_label("Réponse gestion").check()
    await page.get_by_label("Pilote").select_option(label="Pas-de-Calais Habitat")
    await page.get_by_label("Échéance (jj/mm/aaaa)").fill("31/12/2026")
    await page.get_by_label("Coût (euros)").fill("1 234,50")
    await page.get_by_role("button", name="Créer l'action").click()

    await expect(page.locator("h1")).to_contain_text("Action n°")
    action_id = int(page.url.rsplit("/", 1)[1])
    await expect(page.locator("#constats-title")).to_have_text("Constats liés (2)")
    await expect(page.locator(".facts")).to_contain_text("1 234,50 €")
    await expect(page.locator(".facts")).to_contain_text("31/12/2026")

    await page.goto(f"{base}/carte?walk={walk.id}")  # the selection has served: the tray is empty
    await expect(page.locator("#map-count")).to_contain_text("2 constats")
    await expect(page.locator("#selection-tray")).to_be_hidden()

    await page.goto(f"{base}/actions")
    row = page.locator(f"#action-{action_id}")
    await expect(row).to_contain_text("Dépôts sauvages au pied des immeubles")
    async with page.expect_response(lambda r: r.url.endswith(f"/actions/{action_id}/etat")) as answer:
        await row.get_by_label(f"État d'avancement de l'action n° {action_id}").select_option("en_cours")
    assert (await answer.value).status == 200
    await expect(page.locator(f"#action-{action_id}").get_by_label(
        f"État d'avancement de l'action n° {action_id}")).to_have_value("en_cours")

    await page.reload()
    band = page.locator("tbody", has=page.locator(f"#action-{action_id}"))
    await expect(band.locator("tr.band")).to_contain_text("Gestion de tous les types de déchets")
    await expect(page.locator(f"#state-{action_id}")).to_have_value("en_cours")
    await page.goto(f"{base}/actions/{action_id}")
    await expect(page.locator(".history")).to_contain_text("État d'avancement : À engager → En cours")
    assert problems(page) == []


async def test_the_table_scrolls_inside_a_phone(phone, live_server):
    from walkapp.actions.forms import ActionInput
    from walkapp.actions.services import create_action

    base = live_server["url"]
    coordinator = await make_user("coordinator")
    await create_action(ActionInput(axe="proprete", problem="Tags sur le mur de l'école " * 5,
                                    finding="Constat long " * 40), coordinator)
    page = await phone()
    await sign_in(page, base, coordinator.email)
    for path in ("/actions", "/actions/bilan", "/actions/1", "/actions/nouvelle"):
        await page.goto(base + path)
        await expect(page.locator("h1")).to_be_visible()
        await assert_fits_phone_width(page)
        await assert_every_field_labelled(page)
    assert problems(page) == []
