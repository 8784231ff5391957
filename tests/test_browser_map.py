"""The committee's map in Chromium: open it, filter by one issue, count the markers, open a popup."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from browser import problems, sign_in
from conftest import make_user, make_walk
from test_review import KNOWN, seed
from test_api_observations import join

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]

# All markers the map holds (clustered or not): the folium map object is a global named after its div.
COUNT_MARKERS = """() => {
  const map = window[document.querySelector('.folium-map').id];
  let count = 0;
  map.eachLayer(layer => {
    if (layer.getAllChildMarkers === undefined && layer.getLayers && layer._featureGroup)
      count += layer.getLayers().length;
  });
  return count;
}"""


async def test_map_filter_count_and_popup(phone, live_server, client):
    base = live_server["url"]
    walk = await make_walk("open")
    await join(client, walk)
    await seed(client, walk, KNOWN, description="Un <b>commentaire</b>")
    coordinator = await make_user("coordinator")

    page = await phone(viewport={"width": 1280, "height": 900}, is_mobile=False, has_touch=False,
                       device_scale_factor=1)
    await sign_in(page, base, coordinator.email)
    await page.goto(f"{base}/carte")
    await expect(page.locator("#map-count")).to_contain_text("6 constats sur la carte")
    assert await page.evaluate(COUNT_MARKERS) == 6

    await page.get_by_label("Enjeu", exact=True).select_option("dechets")
    await expect(page.locator("#map-count")).to_contain_text("3 constats sur la carte")
    await expect(page).to_have_url(f"{base}/carte?issue=dechets")
    assert await page.evaluate(COUNT_MARKERS) == 3
    await expect(page.locator(".matrix tfoot")).to_contain_text("3")

    # Zoomed in, the markers leave their cluster: open one's popup.
    await page.evaluate("() => window[document.querySelector('.folium-map').id].setZoom(19)")
    marker = page.locator("path.leaflet-interactive").first
    await expect(marker).to_be_visible()
    await marker.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    await expect(popup).to_contain_text("Gestion de tous les types de déchets")
    await expect(popup).to_contain_text("Un <b>commentaire</b>")  # as text, not bold
    await expect(popup.locator("b")).to_have_count(0)
    await popup.get_by_role("link", name="Voir le constat").click()
    await expect(page.locator("h1")).to_contain_text("Constat n°")

    # A shared link shows the same view.
    await page.goto(f"{base}/carte?issue=dechets&polarity=positive")
    await expect(page.locator("#map-count")).to_contain_text("1 constat sur la carte")
    await expect(page.get_by_label("Point faible ou fort")).to_have_value("positive")
    assert problems(page) == []
