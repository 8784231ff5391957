"""The map tiles a phone keeps for a walk (walkapp/tiles.py): the area's count, zooms and cap, the
URLs as the map writes them, what the field page hands the service worker, and the settings that
keep prefetching away from a tile server whose policy forbids it."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from conftest import make_walk
from litestar.testing import AsyncTestClient
from test_api_observations import join

from walkapp.demo import CENTRE, STOPS
from walkapp.settings import Settings, SettingsError
from walkapp.tables import Stop, Walk
from walkapp.tiles import OFFLINE_ZOOMS, TILE, offline_area, tile_url, world_pixel

TEMPLATE = "https://tuiles.example.org/{z}/{x}/{y}.png"
ROUTE = [(lat, lon) for _, lat, lon in STOPS]  # the Lillers demo walk: ~770 m x 520 m, five haltes


def tile_of(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    x, y = world_pixel(lat, lon, zoom)
    return int(x // TILE), int(y // TILE)


def parsed(url: str) -> tuple[int, int, int]:
    z, x, y = re.fullmatch(r"https://tuiles\.example\.org/(\d+)/(\d+)/(\d+)\.png", url).groups()
    return int(z), int(x), int(y)


def test_the_demo_route_fits_the_default_cap_at_every_zoom():
    area = offline_area(ROUTE, CENTRE, TEMPLATE, 250, "area")
    assert area.zooms == OFFLINE_ZOOMS == (15, 16, 17, 18) and area.zoom == 18
    assert len(area.tiles) == len(set(area.tiles)) == area.wanted == 236 <= 250
    cells = [parsed(url) for url in area.tiles]
    assert [z for z, _, _ in cells] == sorted(z for z, _, _ in cells)  # lowest zoom first
    assert {z: sum(1 for c in cells if c[0] == z) for z in OFFLINE_ZOOMS} == {15: 4, 16: 16, 17: 48, 18: 168}
    # Every halte and the ground 250 m around it, at every zoom; nothing 1 km away.
    for lat, lon in ROUTE:
        for zoom in OFFLINE_ZOOMS:
            for dlat, dlon in ((0.002, 0), (-0.002, 0), (0, 0.0032), (0, -0.0032), (0, 0)):
                assert (zoom, *tile_of(lat + dlat, lon + dlon, zoom)) in cells, (lat, lon, zoom)
    assert (18, *tile_of(ROUTE[0][0] + 0.01, ROUTE[0][1], 18)) not in cells
    assert area.max_bytes == 250 * 40_000 and area.as_data()["tiles"] == list(area.tiles)


def test_over_the_cap_the_highest_zoom_goes_first():
    area = offline_area(ROUTE, CENTRE, TEMPLATE, 100, "area")
    assert area.zooms == (15, 16, 17) and len(area.tiles) == 4 + 16 + 48 and area.zoom == 17
    assert area.wanted == 236  # what the whole area would have been
    assert offline_area(ROUTE, CENTRE, TEMPLATE, 20, "area").zooms == (15, 16)
    assert offline_area(ROUTE, CENTRE, TEMPLATE, 3, "area") is None  # not even zoom 15
    # A halte placed 400 km away by mistake: counted before any list is made, and refused.
    assert offline_area([*ROUTE, (47.0, -1.5)], CENTRE, TEMPLATE, 5000, "area") is None


def test_no_halte_the_neighbourhoods_centre_no_place_no_area():
    area = offline_area([], CENTRE, TEMPLATE, 250, "viewed")
    assert area.mode == "viewed" and (18, *tile_of(*CENTRE, 18)) in [parsed(u) for u in area.tiles]
    assert len(area.tiles) <= 250
    assert offline_area([], None, TEMPLATE, 250, "area") is None
    assert offline_area(ROUTE, CENTRE, TEMPLATE, 250, "off") is None


def test_urls_as_leaflet_writes_them():
    # {s}: Leaflet's "abc"[(x + y) % 3]; {r}: "" (the field map is given r: ""): the worker finds
    # the map's requests by their exact URL.
    assert tile_url("https://{s}.tile.example.org/{z}/{x}/{y}{r}.png", 18, 10, 3) == "https://b.tile.example.org/18/10/3.png"
    assert tile_url("/tuiles/{z}/{x}/{y}.png", 15, 1, 2) == "/tuiles/15/1/2.png"
    assert offline_area(ROUTE, CENTRE, "https://t.example.org/{z}/{x}/{-y}.png", 250, "area") is None  # TMS
    assert offline_area(ROUTE, CENTRE, "https://t.example.org/{z}/{x}/{y}.png?key={apikey}", 250, "area") is None


def test_offline_settings_keep_prefetching_off_openstreetmap(tmp_path):
    env = {"WALKAPP_MEDIA_DIR": str(tmp_path)}
    default = Settings.from_env(env)
    assert "tile.openstreetmap.org" in default.tiles_url
    assert default.offline_tiles == "viewed" and default.offline_tiles_max == 250
    # OpenStreetMap's policy forbids fetching tiles in advance for offline use.
    for url in ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"):
        with pytest.raises(SettingsError, match="forbids"):
            Settings.from_env({**env, "WALKAPP_TILES_URL": url, "WALKAPP_TILES_OFFLINE": "area"})
    own = Settings.from_env({**env, "WALKAPP_TILES_URL": "/tuiles/{z}/{x}/{y}.png"})
    assert own.offline_tiles == "area"  # the site's own tiles: fetched in advance
    other = {**env, "WALKAPP_TILES_URL": "https://tuiles.ville.example/{z}/{x}/{y}.png"}
    assert Settings.from_env(other).offline_tiles == "viewed"
    chosen = Settings.from_env({**other, "WALKAPP_TILES_OFFLINE": " Area ", "WALKAPP_TILES_OFFLINE_MAX": "40"})
    assert (chosen.offline_tiles, chosen.offline_tiles_max) == ("area", 40)
    for name, bad in (("WALKAPP_TILES_OFFLINE", "always"), ("WALKAPP_TILES_OFFLINE_MAX", "0"),
                      ("WALKAPP_TILES_OFFLINE_MAX", "dix"), ("WALKAPP_TILES_OFFLINE_MAX", "100000")):
        with pytest.raises(SettingsError, match=name):
            Settings.from_env({**other, name: bad})


def tiles_data(page) -> dict | None:
    raw = re.search(r"data-tiles-area='([^']*)'", page.text).group(1)
    return json.loads(raw) if raw else None


async def test_the_field_page_hands_over_the_walks_area(client):
    """Both engines: the area comes from the walk's haltes as stored."""
    walk = await make_walk("open", stops=2)
    await join(client, walk)
    page = await client.get(f"/marches/{walk.id}/terrain")
    data = tiles_data(page)
    assert data["mode"] == "viewed" and data["zooms"] == [15, 16, 17, 18] and data["zoom"] == 18
    # The service worker fetches from the tile server (its CSP is the one on /sw.js); the page doesn't.
    assert "connect-src 'self' https://tile.openstreetmap.org;" in (await client.get("/sw.js")).headers[
        "content-security-policy"]
    assert "connect-src 'self';" in page.headers["content-security-policy"]
    assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"  # the tile server sees the site
    assert len(data["tiles"]) == 74 and all(u.startswith("https://tile.openstreetmap.org/1") for u in data["tiles"])
    # A halte moved 1.8 km north-east: the area follows the haltes.
    first = (await Stop.objects().where(Stop.walk == walk.id).order_by(Stop.position).first())
    await Stop.update({Stop.lat: first.lat + 0.01, Stop.lon: first.lon + 0.02}).where(Stop.id == first.id)
    moved = tiles_data(await client.get(f"/marches/{walk.id}/terrain"))
    assert set(moved["tiles"]) != set(data["tiles"]) and len(moved["tiles"]) <= 250
    assert moved["zooms"] == [15, 16, 17] and len(moved["tiles"]) == 120  # at zoom 18: 440 tiles


async def test_the_site_own_tiles_are_fetched_in_advance_within_the_cap():
    settings = dataclasses.replace(Settings.from_env(), tiles_url="/tuiles/{z}/{x}/{y}.png",
                                   offline_tiles="area", offline_tiles_max=30)
    from walkapp.app import create_app

    walk = await make_walk("open", stops=2)
    async with AsyncTestClient(app=create_app(settings, db_pool=False)) as own:
        await join(own, walk)
        page = await own.get(f"/marches/{walk.id}/terrain")
        data = tiles_data(page)
        assert data["mode"] == "area" and data["zooms"] == [15, 16, 17] and len(data["tiles"]) == 26 <= 30
        assert all(re.fullmatch(r"/tuiles/1[5-7]/\d+/\d+\.png", u) for u in data["tiles"])
        assert data["max_bytes"] == 30 * 40_000
        assert "connect-src 'self';" in page.headers["content-security-policy"]
        # A closed walk has no form: nothing to keep.
        await Walk.update({Walk.status: "closed"}).where(Walk.id == walk.id)
        assert tiles_data(await own.get(f"/marches/{walk.id}/terrain")) is None
