"""Placing things on a map and following actions on a phone, in Chromium (issue 11, "Committee"):
haltes placed and moved on the planning map, a constat's position requalified by dragging a pin,
the perimeter's streets offered there, the actions table drawn as cards on a phone, and a spoken
confirmation after an inline change of state."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import expect

from browser import assert_every_field_labelled, problems, screenshot, sign_in
from conftest import make_neighbourhood, make_user, make_walk
from test_api_observations import fields, join, post_observation

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]

DESKTOP = {"viewport": {"width": 1366, "height": 768}, "is_mobile": False, "has_touch": False,
           "device_scale_factor": 1}
SMALL_PHONE = {"viewport": {"width": 360, "height": 640}}

# The coordinates under a point of a map's box (pixels from its top-left corner).
LATLNG_AT = """([id, x, y]) => {
  const p = document.getElementById(id).walkMap.containerPointToLatLng([x, y]);
  return [p.lat, p.lng];
}"""


def near(text: str, value: float, tolerance: float = 2e-5) -> bool:
    return abs(float(text) - value) <= tolerance


async def drag(page, locator, dx: int, dy: int) -> None:
    """Drags an element by (dx, dy) pixels as a mouse would, in steps (Leaflet needs moves)."""
    await locator.scroll_into_view_if_needed()
    box = await locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    await page.mouse.move(x, y)
    await page.mouse.down()
    await page.mouse.move(x + dx / 2, y + dy / 2, steps=5)
    await page.mouse.move(x + dx, y + dy, steps=5)
    await page.mouse.up()


async def map_point(page, map_id: str, locator) -> list[float]:
    """The coordinates under the centre of `locator` (a marker) on map `map_id`."""
    box = await locator.bounding_box()
    frame = await page.locator(f"#{map_id}").bounding_box()
    x = box["x"] + box["width"] / 2 - frame["x"]
    y = box["y"] + box["height"] / 2 - frame["y"]
    return await page.evaluate(LATLNG_AT, [map_id, x, y])


# ---------------------------------------------------------------- haltes on the planning map

@pytest.mark.parametrize("device", ["phone", "desktop"])
async def test_planning_map_places_moves_and_follows_the_haltes(phone, live_server, backend, device):
    base = live_server["url"]
    coordinator = await make_user("coordinator")
    await make_neighbourhood()
    page = await phone(**(DESKTOP if device == "desktop" else {}))
    await sign_in(page, base, coordinator.email)
    await page.goto(f"{base}/marches/nouvelle")
    rows = page.locator("#stop-rows > li")
    pins = page.locator("#stops-map .stop-pin")
    # Halte 1 starts at the neighbourhood's centre, the map around it.
    await expect(pins).to_have_count(1)
    centre = await page.evaluate("() => { const c = document.getElementById('stops-map').walkMap.getCenter();"
                                 " return [c.lat, c.lng]; }")
    assert abs(centre[0] - 50.5636) < 1e-4 and abs(centre[1] - 2.4826) < 1e-4

    # A click on the map adds halte 2 there, its fields filled with the clicked point.
    await page.locator("#stops-map").scroll_into_view_if_needed()
    clicked = await page.evaluate(LATLNG_AT, ["stops-map", 80, 90])
    await page.locator("#stops-map").click(position={"x": 80, "y": 90})
    await expect(rows).to_have_count(2)
    lat, lon = rows.nth(1).get_by_label("Halte 2 : latitude"), rows.nth(1).get_by_label("Halte 2 : longitude")
    await expect(lat).not_to_have_value("")
    assert near(await lat.input_value(), clicked[0]) and near(await lon.input_value(), clicked[1])
    await expect(pins).to_have_count(2)

    # "Placer sur la carte" then a click moves halte 1 there.
    await rows.nth(0).get_by_role("button", name="Placer sur la carte").click()
    target = await page.evaluate(LATLNG_AT, ["stops-map", 200, 200])
    await page.locator("#stops-map").click(position={"x": 200, "y": 200})
    lat1 = rows.nth(0).get_by_label("Halte 1 : latitude")
    await expect(lat1).not_to_have_value("50.5636")
    assert near(await lat1.input_value(), target[0])
    await expect(rows).to_have_count(2)

    # Dragging halte 2's marker writes its new point into its fields.
    marker = pins.filter(has_text=re.compile("^2$"))
    before = await lat.input_value()
    await drag(page, marker, 40, 30)
    await expect(lat).not_to_have_value(before)
    dropped = await map_point(page, "stops-map", marker)
    assert near(await lat.input_value(), dropped[0], 1e-4) and near(await lon.input_value(), dropped[1], 1e-4)

    # Typing coordinates (a French comma) moves the marker.
    await lat.fill("50,5650")
    await lon.fill("2,4850")
    position = await page.evaluate("""() => {
      let found = null;
      document.getElementById('stops-map').walkMap.eachLayer(l => {
        if (l.getLatLng && l.options.title && l.options.title.startsWith('Halte 2')) found = l.getLatLng();
      });
      return found && [found.lat, found.lng];
    }""")
    assert position and near(str(position[0]), 50.565) and near(str(position[1]), 2.485)

    await rows.nth(0).get_by_label("Halte 1 : nom").fill("Mairie")
    await rows.nth(1).get_by_label("Halte 2 : nom").fill("Square")
    await page.get_by_label("Titre", exact=True).fill("Marche placée")
    await page.get_by_label("Date", exact=True).fill("2026-11-25")
    await assert_every_field_labelled(page)
    await screenshot(page, f"walk-form-map-{device}", backend)
    await page.get_by_role("button", name="Enregistrer").click()
    await page.wait_for_url(re.compile(r"/marches/\d+$"))
    await expect(page.locator(".stops-list > li").nth(1)).to_contain_text("(50.56500, 2.48500)")
    assert problems(page) == []


# ---------------------------------------------------------------- requalify by dragging a pin

async def test_requalify_by_dragging_the_pin_with_the_perimeter_streets(phone, live_server, client, backend):
    from walkapp.tables import Observation, Street

    base = live_server["url"]
    walk = await make_walk("open")
    await join(client, walk)
    for position, name in enumerate(["Rue Carnot", "Rue Pasteur", "Place Roger-Salengro"]):
        await Street(neighbourhood=walk.neighbourhood, name=name, position=position).save()
    response = await post_observation(client, walk, fields(street="Rue Carnot"))
    constat = response.json()["id"]
    coordinator = await make_user("coordinator")
    page = await phone(**DESKTOP)
    await sign_in(page, base, coordinator.email)
    await page.goto(f"{base}/constats/{constat}")
    await page.get_by_text("Requalifier").click()

    street = page.get_by_label("Rue", exact=True)
    await expect(street).to_have_value("Rue Carnot")
    options = await street.locator("option").all_inner_texts()
    assert options == ["Non précisée", "Rue Carnot", "Rue Pasteur", "Place Roger-Salengro"]
    await street.select_option("Rue Pasteur")

    pin = page.locator("#rq-map .leaflet-marker-icon")
    await expect(pin).to_be_visible()
    await drag(page, pin, 60, -40)
    lat = page.get_by_label("Latitude", exact=True)
    await expect(lat).not_to_have_value("50.5637")
    typed = (float(await lat.input_value()), float(await page.get_by_label("Longitude", exact=True).input_value()))
    assert typed[0] > 50.5637 and typed[1] > 2.4827  # dragged up and right: north-east
    await screenshot(page, "requalify-pin", backend)
    await page.get_by_role("button", name="Enregistrer").first.click()
    await expect(page.locator(".facts")).to_contain_text("Position corrigée à la main")

    saved = await Observation.objects().where(Observation.id == constat).first()
    assert (round(saved.lat, 6), round(saved.lon, 6)) == (round(typed[0], 6), round(typed[1], 6))
    assert (saved.location_source, saved.street) == ("manual", "Rue Pasteur")
    assert problems(page) == []


# ---------------------------------------------------------------- the actions on a phone

async def test_actions_are_cards_on_a_phone_and_an_inline_change_is_confirmed(phone, live_server, backend):
    from walkapp.actions.forms import ActionInput
    from walkapp.actions.services import create_action

    base = live_server["url"]
    coordinator = await make_user("coordinator", partner="Pas-de-Calais Habitat")
    await create_action(ActionInput(axe="proprete", problem="Tags sur le mur de l'école " * 5,
                                    finding="Constat long " * 40, comment="Très long " * 30), coordinator)
    page = await phone(**SMALL_PHONE)
    await sign_in(page, base, coordinator.email)
    await page.goto(f"{base}/actions")
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= 361, f"the actions page scrolls sideways on a 360 px phone ({width} px)"
    card = page.locator("#action-1")
    box = await card.bounding_box()
    assert box["width"] <= 360 and box["height"] > 100  # a card, not a 2,300 px row
    for label in ("Problème à traiter", "État d'avancement", "Coût", "Pilote", "Échéance"):
        # Each cell says what it is (CSS ::before, in the accessible name too).
        await expect(card.get_by_role("cell", name=re.compile(f"^{label} :"))).to_be_visible()
    await expect(card.get_by_role("link", name="n° 1")).to_be_visible()
    await expect(card.locator("td", has_text="Constat long")).to_be_hidden()  # on the action's page

    status = page.get_by_role("status").filter(has_text="État enregistré")
    await card.get_by_label("État d'avancement de l'action n° 1").select_option("realisee")
    await expect(status).to_have_text("État enregistré : Réalisée (action n° 1)")
    await expect(status).to_be_visible()
    await screenshot(page, "actions-cards", backend)
    await page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-added, .htmx-settling')")
    # Refused (reported without a cause): the French reason in the card, no confirmation.
    await page.locator("#action-1").get_by_label("État d'avancement de l'action n° 1").select_option("reportee")
    await expect(page.locator("#action-1 [role=alert]")).to_contain_text("indiquez pourquoi")
    await expect(page.locator("#action-status")).to_be_empty()
    assert problems(page) == []


async def test_the_table_stays_on_a_wide_screen(phone, live_server):
    from walkapp.actions.forms import ActionInput
    from walkapp.actions.services import create_action

    base = live_server["url"]
    coordinator = await make_user("coordinator")
    await create_action(ActionInput(axe="proprete", problem="Tags", finding="Constat long"), coordinator)
    page = await phone(**DESKTOP)
    await sign_in(page, base, coordinator.email)
    await page.goto(f"{base}/actions")
    await expect(page.locator(".follow-up thead")).to_be_visible()
    await expect(page.locator("#action-1 td", has_text="Constat long")).to_be_visible()
    assert await page.evaluate("getComputedStyle(document.querySelector('#action-1')).display") == "table-row"
    await page.get_by_label("État d'avancement de l'action n° 1").select_option("en_cours")
    await expect(page.get_by_role("status").filter(has_text="État enregistré")).to_have_text(
        "État enregistré : En cours (action n° 1)")
    assert problems(page) == []
