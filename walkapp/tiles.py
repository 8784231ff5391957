"""Map tiles: the Web Mercator tile grid, tile URLs, and the area of a walk a phone keeps offline.

The constat form's map (static/js/capture.js) must keep its background in a stairwell. When a
participant opens the walk page, the page hands the service worker (static/js/sw.js) the walk's
area computed here: the box around the haltes (or the neighbourhood's centre when the route has
none) with a margin, at zooms 15 to 18, as the list of tile URLs, counted before anything is
fetched and capped (WALKAPP_TILES_OFFLINE_MAX, default 250 tiles, and ~40 KB a tile on average
in bytes): when the area would exceed the cap, the highest zoom goes first. The worker keeps
those tiles, and only those, in its own cache, replacing the previous walk's.

Two ways to fill that cache (WALKAPP_TILES_OFFLINE, walkapp.settings):
- "area": the worker fetches the area in advance, two tiles at a time, lowest zoom first, skipping
  tiles it holds that are still fresh by their cache headers. Only for a tile server that allows
  it: the site's own tiles (a relative WALKAPP_TILES_URL, the default there) or one the operator
  says allows it. tile.openstreetmap.org forbids it (its usage policy, "Bulk downloading":
  pre-emptive fetching and offline use are prohibited), so settings refuse "area" for it.
- "viewed" (the default for any other server, OpenStreetMap's included): nothing is fetched in
  advance; the tiles of the area the maps show are kept as they are viewed, so the places seen
  once online open offline.

Tile URLs are made as Leaflet makes them (`{s}`: "abc"[(x + y) % 3]; `{r}`: "", the field map is
told the same), so the worker recognises the map's requests by their exact URL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

TILE = 256  # pixels a side
OFFLINE_ZOOMS = (15, 16, 17, 18)  # the quarter (15) to the doorstep (18, the form map's zoom)
MARGIN_M = 250  # around the haltes: the streets beside the route, where constats are taken
LONE_RADIUS_M = 500  # around the neighbourhood's centre when no halte has a point
BYTES_PER_TILE = 40_000  # the byte cap per tile of the cap (OSM's street tiles: 10–30 KB)
DEFAULT_MAX_TILES = 250
METRES_PER_DEGREE = 111_320.0
MAX_LAT = 85.05112878  # Web Mercator's edge
SUBDOMAINS = "abc"  # Leaflet's default for {s}
_PLACEHOLDERS = re.compile(r"\{([^}]*)\}")
SUPPORTED = {"z", "x", "y", "s", "r"}  # {-y} (TMS) and the like: no offline area


def world_pixel(lat: float, lon: float, zoom: int) -> tuple[float, float]:
    """Web Mercator (EPSG:3857) in pixels of the tile pyramid at `zoom`."""
    scale = TILE * 2**zoom
    lat = max(min(lat, MAX_LAT), -MAX_LAT)
    sin = math.sin(math.radians(lat))
    return (lon + 180) / 360 * scale, (0.5 - math.log((1 + sin) / (1 - sin)) / (4 * math.pi)) * scale


def tile_url(template: str, zoom: int, x: int, y: int) -> str:
    """The URL of one tile, as Leaflet's tile layer writes it (with `r: ""`)."""
    return (template.replace("{s}", SUBDOMAINS[(x + y) % len(SUBDOMAINS)]).replace("{r}", "")
            .replace("{z}", str(zoom)).replace("{x}", str(x)).replace("{y}", str(y)))


def supports_offline(template: str) -> bool:
    """Whether tile_url can write this server's URLs exactly as the map asks for them."""
    return "{z}" in template and set(_PLACEHOLDERS.findall(template)) <= SUPPORTED


@dataclass(frozen=True)
class Box:
    south: float
    west: float
    north: float
    east: float

    @classmethod
    def around(cls, points: Sequence[tuple[float, float]], margin_m: float) -> Box:
        lats = [p[0] for p in points]
        lons = [p[1] for p in points]
        middle = (min(lats) + max(lats)) / 2
        dlat = margin_m / METRES_PER_DEGREE
        dlon = margin_m / (METRES_PER_DEGREE * max(math.cos(math.radians(middle)), 0.01))
        return cls(max(min(lats) - dlat, -MAX_LAT), max(min(lons) - dlon, -180.0),
                   min(max(lats) + dlat, MAX_LAT), min(max(lons) + dlon, 180.0))

    def tile_range(self, zoom: int) -> tuple[range, range]:
        """The columns and rows of the tiles the box touches at `zoom`."""
        last = 2**zoom - 1
        x1, y1 = world_pixel(self.north, self.west, zoom)
        x2, y2 = world_pixel(self.south, self.east, zoom)

        def span(a: float, b: float) -> range:
            return range(min(max(math.floor(a / TILE), 0), last), min(max(math.floor(b / TILE), 0), last) + 1)

        return span(x1, x2), span(y1, y2)

    def count(self, zoom: int) -> int:
        columns, rows = self.tile_range(zoom)
        return len(columns) * len(rows)


@dataclass(frozen=True)
class OfflineArea:
    """What the walk page gives the service worker (`as_data`, a data- attribute)."""

    mode: str  # "area" (fetched in advance) or "viewed" (kept as the maps show them)
    box: Box
    zooms: tuple[int, ...]  # kept, from OFFLINE_ZOOMS; the highest dropped first under the cap
    tiles: tuple[str, ...]  # their URLs, lowest zoom first, nearest the area's middle first
    wanted: int  # tiles of the whole area at every zoom of OFFLINE_ZOOMS, before the cap
    max_tiles: int
    max_bytes: int

    @property
    def zoom(self) -> int:
        """The form map's zoom: the highest kept (18 unless the cap dropped it)."""
        return self.zooms[-1]

    def as_data(self) -> dict:
        return {"mode": self.mode, "zoom": self.zoom, "zooms": list(self.zooms), "max_bytes": self.max_bytes,
                "tiles": list(self.tiles)}


def offline_area(points: Sequence[tuple[float, float]], centre: tuple[float, float] | None, template: str,
                 max_tiles: int = DEFAULT_MAX_TILES, mode: str = "viewed") -> OfflineArea | None:
    """The walk's area for a phone to keep, or None (offline tiles off, nowhere to centre it, a
    tile URL the map and this module would not write alike, or even zoom 15 alone over the cap:
    a route spread over a town, most likely a halte placed by mistake far away)."""
    if mode not in ("area", "viewed") or max_tiles < 1 or not supports_offline(template):
        return None
    if points:
        box = Box.around(points, MARGIN_M)
    elif centre is not None:
        box = Box.around([centre], LONE_RADIUS_M)
    else:
        return None
    counts = {zoom: box.count(zoom) for zoom in OFFLINE_ZOOMS}  # counted before any list is made
    zooms = list(OFFLINE_ZOOMS)
    while zooms and sum(counts[z] for z in zooms) > max_tiles:
        zooms.pop()
    if not zooms:
        return None
    tiles = []
    for zoom in zooms:
        columns, rows = box.tile_range(zoom)
        cx, cy = (columns.start + columns.stop - 1) / 2, (rows.start + rows.stop - 1) / 2
        cells = sorted(((x, y) for y in rows for x in columns), key=lambda c: ((c[0] - cx) ** 2 + (c[1] - cy) ** 2, c))
        tiles.extend(tile_url(template, zoom, x, y) for x, y in cells)
    return OfflineArea(mode, box, tuple(zooms), tuple(tiles), sum(counts.values()), max_tiles,
                       max_tiles * BYTES_PER_TILE)


def walk_area(walk, stops: Sequence, settings) -> OfflineArea | None:
    """offline_area for a walk's field page: its haltes' points, else its neighbourhood's centre,
    with the site's tile settings. None for a closed walk (no constat form left to draw)."""
    if walk.status == "closed":
        return None
    points = [(s.lat, s.lon) for s in stops if s.lat is not None and s.lon is not None]
    hood = walk.neighbourhood
    centre = (hood.centre_lat, hood.centre_lon) if hood.centre_lat is not None and hood.centre_lon is not None else None
    return offline_area(points, centre, settings.tiles_url, settings.offline_tiles_max, settings.offline_tiles)
