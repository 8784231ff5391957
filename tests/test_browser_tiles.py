"""Issue 15, "offline background": a phone that opened the walk page keeps the map tiles of the walk's
area (static/js/sw.js, walkapp/tiles.py), so the constat form's map has its background with no
network; the tile server gets the area once, within the cap, two requests at a time, with the
site as Referer; a new area (the route moved) replaces the one kept.

A walkapp server of its own: its tiles come from a local tile server (tests/tileserver.py) that
allows fetching in advance (WALKAPP_TILES_OFFLINE=area), with a small cap."""

from __future__ import annotations

import json
import re

import pytest
from playwright.async_api import expect

from browser import problems, service_worker_controls
from conftest import make_walk, serve, server_log_problems
from tileserver import TileServer

from walkapp.tables import Stop

pytestmark = [pytest.mark.browser]

CAP = 30  # two haltes 100 m apart: 74 tiles at zooms 15-18; under 30, zoom 18 goes: 26 tiles
LILLERS = {"latitude": 50.5641, "longitude": 2.4826, "accuracy": 12}

KEPT_TILES = """async () => {
  const names = (await caches.keys()).filter(n => n.startsWith("walkapp-tiles-"));
  if (names.length !== 1) return null;
  const cache = await caches.open(names[0]);
  return (await cache.keys()).map(r => r.url).filter(u => !u.includes("/sw.js?")).sort();
}"""

MAP_TILES = """() => Array.from(document.querySelectorAll("#mini-map img.leaflet-tile"))
  .map(i => ({src: i.src, done: i.complete, width: i.naturalWidth}))"""


@pytest.fixture(scope="module")
def tile_server():
    server = TileServer(delay=0.02)  # slow enough that requests in flight together show
    yield server
    server.close()


@pytest.fixture(scope="module")
def tiles_site(test_env, work_dir, tile_server):
    env = {"WALKAPP_TILES_URL": tile_server.url, "WALKAPP_TILES_OFFLINE": "area", "WALKAPP_TILES_OFFLINE_MAX": str(CAP)}
    with serve(test_env, work_dir, env, "tiles-server.log") as site:
        yield site
    assert server_log_problems(site["log"]) == []


async def join(page, base: str, walk) -> dict:
    await page.goto(f"{base}/j/{walk.join_secret}")
    await page.get_by_label(re.compile("^Votre nom")).fill("Zoé")
    await page.get_by_role("button", name="Rejoindre la marche").click()
    await page.wait_for_url(f"{base}/marches/{walk.id}/terrain")
    return json.loads(await page.locator("#field").get_attribute("data-tiles-area"))


async def test_the_form_map_keeps_its_background_offline(phone, tiles_site, tile_server):
    base = tiles_site["url"]
    walk = await make_walk("open")
    page = await phone(geolocation=LILLERS, permissions=["geolocation"])
    area = await join(page, base, walk)
    assert area["mode"] == "area" and area["zooms"] == [15, 16, 17] and len(area["tiles"]) == 26
    await service_worker_controls(page)
    await expect(page.locator("#field")).to_have_attribute("data-tiles-kept", "26/26")
    assert await page.evaluate(KEPT_TILES) == sorted(area["tiles"])
    # The tile server: each tile of the area once, nothing else, two at a time, the site as Referer.
    assert sorted(tile_server.origin + path for path in tile_server.requests) == sorted(area["tiles"])
    assert len(tile_server.requests) <= CAP and tile_server.max_in_flight <= 2
    assert set(tile_server.referers) == {base + "/"}

    # Back online later: every tile is fresh by its headers (max-age=86400), none is asked again.
    await page.reload()
    await expect(page.locator("#field")).to_have_attribute("data-tiles-kept", "26/26")
    assert len(tile_server.requests) == 26

    # No network, and the browser's HTTP cache has let go of the tiles (phones evict it; tiles
    # expire): the page comes from the worker, the form's map's background from its tile cache.
    await (await page.context.new_cdp_session(page)).send("Network.clearBrowserCache")
    await page.context.set_offline(True)
    await page.reload()
    await page.get_by_role("button", name="Nouveau constat").click()
    await page.get_by_text("Corriger sur la carte").click()
    await page.wait_for_function(f"() => ({MAP_TILES})().length > 0 && ({MAP_TILES})().every(t => t.done)")
    shown = await page.evaluate(MAP_TILES)
    assert all(t["width"] == 256 for t in shown), shown
    assert all(re.search(r"/17/\d+/\d+\.png$", t["src"]) and t["src"] in area["tiles"] for t in shown), shown
    assert len(tile_server.requests) == 26
    await page.context.set_offline(False)

    # The coordinator moves the route 2 km north: the next visit's area replaces the one kept.
    for stop in await Stop.objects().where(Stop.walk == walk.id):
        await Stop.update({Stop.lat: stop.lat + 0.02}).where(Stop.id == stop.id)
    await page.reload()
    moved = json.loads(await page.locator("#field").get_attribute("data-tiles-area"))
    assert not set(moved["tiles"]) & set(area["tiles"])
    wanted = len(moved["tiles"])
    await expect(page.locator("#field")).to_have_attribute("data-tiles-kept", f"{wanted}/{wanted}")
    assert await page.evaluate(KEPT_TILES) == sorted(moved["tiles"])
    assert len(tile_server.requests) == 26 + wanted <= 2 * CAP and tile_server.max_in_flight <= 2
    assert problems(page) == [], problems(page)


SAVE_DATA = "Object.defineProperty(navigator, 'connection', {value: {saveData: true}, configurable: true})"


async def test_with_the_data_saver_on_only_the_tiles_seen_are_kept(phone, tiles_site, tile_server):
    """"viewed" (the mode for tile servers that forbid fetching in advance, OpenStreetMap's): nothing
    is fetched before the map shows it; what it showed once opens offline. A phone whose data
    saver is on gets it whatever the server allows."""
    base = tiles_site["url"]
    walk = await make_walk("open", title="Marche économe")
    page = await phone(geolocation=LILLERS, permissions=["geolocation"])
    await page.add_init_script(SAVE_DATA)
    before = len(tile_server.requests)
    area = await join(page, base, walk)
    await service_worker_controls(page)
    await expect(page.locator("#field")).to_have_attribute("data-tiles-kept", f"0/{len(area['tiles'])}")
    assert len(tile_server.requests) == before  # nothing in advance

    await page.get_by_role("button", name="Nouveau constat").click()
    await page.get_by_text("Corriger sur la carte").click()
    await page.wait_for_function(f"() => ({MAP_TILES})().length > 0 && ({MAP_TILES})().every(t => t.width > 0)")
    seen = sorted(t["src"] for t in await page.evaluate(MAP_TILES))
    assert set(seen) <= set(area["tiles"])
    await page.wait_for_function(f"async seen => JSON.stringify(await ({KEPT_TILES})()) === JSON.stringify(seen)",
                                 arg=seen)
    assert len(tile_server.requests) == before + len(seen)  # what the map showed, once

    await (await page.context.new_cdp_session(page)).send("Network.clearBrowserCache")
    await page.context.set_offline(True)
    await page.reload()
    await page.get_by_role("button", name="Nouveau constat").click()
    await page.get_by_text("Corriger sur la carte").click()
    await page.wait_for_function(f"() => ({MAP_TILES})().length > 0 && ({MAP_TILES})().every(t => t.done)")
    assert all(t["width"] == 256 for t in await page.evaluate(MAP_TILES))
    await page.context.set_offline(False)
    assert problems(page) == [], problems(page)
