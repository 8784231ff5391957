"""The committee's map in Chromium: the page draws the clusters the server sends for the view
(GET /api/v1/observations/clusters), a click or Enter on a cluster zooms into it, filter by one
issue and count what is drawn, open a single constat's popup."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from browser import problems, sign_in
from conftest import make_user, make_walk
from test_review import KNOWN, seed
from test_api_observations import join

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("server_log_stays_clean")]

MAP = "window[document.querySelector('.folium-map').id]"
# The constats drawn in the view: each cluster's count, and the single markers (static/js/map.js).
COUNT_DRAWN = f"""() => {{
  let count = 0;
  {MAP}.eachLayer(layer => {{
    if (layer.walkappCount) count += layer.walkappCount;
    else if (layer.options && layer.options.walkappId) count += 1;
  }});
  return count;
}}"""


async def drawn(page, zoom_above: int | None = None) -> None:
    """Waits until the map has stopped moving (an animated zoom ends its move a frame later:
    "drawn" from the view before would pass too early) and the view asked after it is drawn."""
    above = "true" if zoom_above is None else f"map.getZoom() > {zoom_above}"
    await page.wait_for_function(f"""() => {{
      const map = {MAP};
      return !map._animatingZoom && !map._panAnim?._inProgress && ({above})
        && document.querySelector('.map-box').dataset.view === "drawn";
    }}""")
    await expect(page.locator('.map-box[data-view="drawn"]')).to_have_count(1)


async def test_map_draws_clusters_zooms_into_them_filters_and_opens_a_popup(phone, live_server, client):
    base = live_server["url"]
    walk = await make_walk("open")
    await join(client, walk)
    await seed(client, walk, KNOWN, description="Un <b>commentaire</b>")
    coordinator = await make_user("coordinator")

    page = await phone(viewport={"width": 1280, "height": 900}, is_mobile=False, has_touch=False,
                       device_scale_factor=1)
    await sign_in(page, base, coordinator.email)
    async with page.expect_response(lambda r: "/api/v1/observations/clusters?" in r.url) as answer:
        await page.goto(f"{base}/carte")
    assert (await answer.value).status == 200
    await expect(page.locator("#map-count")).to_contain_text("6 constats sur la carte")
    await drawn(page)
    assert await page.evaluate(COUNT_DRAWN) == 6

    # Zoomed out, the six make one ring; a click zooms into it, where they stand apart.
    await page.evaluate(f"() => {MAP}.setView([50.5638, 2.4826], 15, {{animate: false}})")
    await drawn(page)
    ring = page.locator(".ring-cluster")
    await expect(ring).to_have_count(1)
    await expect(ring.locator(".ring")).to_have_attribute("aria-label", "6 constats : 1 Ambiance urbaine, 1 Propreté, "
                                                                        "3 Déchets, 1 Services")
    await ring.click()
    await drawn(page, zoom_above=15)
    assert await page.evaluate(COUNT_DRAWN) == 6
    # By keyboard too: a cluster is a button (Leaflet's marker), Enter zooms into it.
    await page.evaluate(f"() => {MAP}.setView([50.5638, 2.4826], 15, {{animate: false}})")
    await drawn(page)
    await expect(ring).to_have_attribute("role", "button")
    await ring.focus()
    await page.keyboard.press("Enter")
    await drawn(page, zoom_above=15)

    await page.get_by_label("Enjeu", exact=True).select_option("dechets")
    await expect(page.locator("#map-count")).to_contain_text("3 constats sur la carte")
    await expect(page).to_have_url(f"{base}/carte?issue=dechets")
    await drawn(page)
    assert await page.evaluate(COUNT_DRAWN) == 3
    await expect(page.locator(".matrix tfoot")).to_contain_text("3")

    # At street level every constat is a marker: open one's popup.
    await page.evaluate(f"() => {MAP}.setView([50.5637, 2.4826], 19, {{animate: false}})")
    await drawn(page)
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
    await drawn(page)
    assert await page.evaluate(COUNT_DRAWN) == 1
    assert problems(page) == []
