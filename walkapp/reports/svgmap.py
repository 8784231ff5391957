"""The report's map, drawn by the server as SVG: readable on paper and without internet.

Web Mercator (the projection of the web's tiles) of the box around the route and the constats, at
the largest zoom where that box fits the drawing. When the tile server (WALKAPP_TILES_URL) answers
within a short time, the tiles behind the box are fetched here, kept on disk under the media folder
(`cache/tiles/`: a tile is fetched once) and embedded as data: URIs, so the HTML page, its print and
the PDF carry their background and fetch nothing. When it does not answer, the map is the same,
without a background: route, haltes and numbered constats still in place.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..tiles import TILE, tile_url, world_pixel

WIDTH, HEIGHT = 800, 520  # the drawing's units (CSS px at 100 %): 18 cm wide on A4, still legible at 360 px
PADDING = 48  # room around the outermost markers
MAX_ZOOM, MIN_ZOOM = 18, 3
LONE_POINT_ZOOM = 17  # one point (or one place): a street's scale
TILE_TIMEOUT_S = 2.0  # one tile; the whole background gives up after BACKGROUND_BUDGET_S
BACKGROUND_BUDGET_S = 5.0
USER_AGENT = "walkapp (diagnostic en marchant; compte rendu de marche)"
_MAGIC = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@dataclass(frozen=True)
class Marker:
    """A numbered constat on the map."""

    number: int
    lat: float
    lon: float
    colour: str
    text_colour: str
    label: str  # what the marker says to a screen reader (its <title>)
    strong: bool = False  # point fort: a green ring


@dataclass(frozen=True)
class Halte:
    position: int
    name: str
    lat: float
    lon: float


@dataclass
class MapView:
    """Where the drawing sits in the world: world pixel (cx, cy) at `zoom` is the drawing's centre,
    drawn `scale` times larger (1 to 2: tiles exist at whole zooms only, so the box fills the
    drawing at the next half step rather than leaving up to half of it empty)."""

    zoom: int
    cx: float
    cy: float
    scale: float = 1.0
    width: int = WIDTH
    height: int = HEIGHT
    tiles: list[tuple[int, int]] = field(default_factory=list)

    def project(self, x: float, y: float) -> tuple[float, float]:
        """A world pixel (at `zoom`) to the drawing's units."""
        return (x - self.cx) * self.scale + self.width / 2, (y - self.cy) * self.scale + self.height / 2

    def point(self, lat: float, lon: float) -> tuple[float, float]:
        return self.project(*world_pixel(lat, lon, self.zoom))


def fit(points: Sequence[tuple[float, float]], width: int = WIDTH, height: int = HEIGHT) -> MapView:
    """The largest whole zoom where every point fits inside the drawing (less its padding), then
    scaled up (at most 2x) to fill it, centred on the points' box."""
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    south, north, west, east = min(lats), max(lats), min(lons), max(lons)
    room_w, room_h = width - 2 * PADDING, height - 2 * PADDING
    lone = (north - south) < 1e-6 and (east - west) < 1e-6
    zoom = LONE_POINT_ZOOM if lone else MIN_ZOOM
    if not lone:
        for candidate in range(MAX_ZOOM, MIN_ZOOM - 1, -1):
            x1, y1 = world_pixel(north, west, candidate)
            x2, y2 = world_pixel(south, east, candidate)
            if x2 - x1 <= room_w and y2 - y1 <= room_h:
                zoom = candidate
                break
    x1, y1 = world_pixel(north, west, zoom)
    x2, y2 = world_pixel(south, east, zoom)
    scale = 1.0 if lone or zoom == MAX_ZOOM else min(2.0, room_w / max(x2 - x1, 1e-9), room_h / max(y2 - y1, 1e-9))
    view = MapView(zoom, (x1 + x2) / 2, (y1 + y2) / 2, max(1.0, scale), width, height)
    half_w, half_h = width / 2 / view.scale, height / 2 / view.scale
    last = 2**zoom - 1
    rows = range(max(0, math.floor((view.cy - half_h) / TILE)), min(last, math.floor((view.cy + half_h) / TILE)) + 1)
    columns = range(max(0, math.floor((view.cx - half_w) / TILE)), min(last, math.floor((view.cx + half_w) / TILE)) + 1)
    view.tiles = [(tx, ty) for ty in rows for tx in columns]
    return view


# ---------------------------------------------------------------- the background tiles

def _cache_path(cache_dir: Path, template: str, zoom: int, x: int, y: int) -> Path:
    server = hashlib.sha256(template.encode()).hexdigest()[:16]
    return cache_dir / server / str(zoom) / str(x) / f"{y}.tile"


def _image_type(data: bytes) -> str | None:
    return next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), None)


def _fetch(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (the site's own setting)
        return answer.read(2_000_000)


def background(template: str, view: MapView, cache_dir: Path,
               budget_s: float = BACKGROUND_BUDGET_S) -> dict[tuple[int, int], str] | None:
    """{(x, y): data URI} for every tile of the view, or None when any tile cannot be had in time
    (a partial background would look like missing streets). Blocking: call it in a thread."""
    if not template.startswith(("http://", "https://")):
        return None
    deadline = time.monotonic() + budget_s
    found: dict[tuple[int, int], str] = {}
    for x, y in view.tiles:
        path = _cache_path(cache_dir, template, view.zoom, x, y)
        data = path.read_bytes() if path.is_file() else None
        if data is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                data = _fetch(tile_url(template, view.zoom, x, y), min(TILE_TIMEOUT_S, left))
            except (OSError, ValueError):
                return None  # refused, timed out, no route, an HTTP error status
            if _image_type(data) is None:
                return None
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{time.monotonic_ns()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)
        kind = _image_type(data)
        if kind is None:
            return None
        found[(x, y)] = f"data:{kind};base64,{base64.b64encode(data).decode()}"
    return found


# ---------------------------------------------------------------- the drawing

def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def outline_path(view: MapView, rings: Sequence[Sequence[Sequence[float]]]) -> str:
    """The neighbourhood's perimeter (walkapp.outline: GeoJSON rings of [lon, lat]) as one SVG path,
    holes kept (even-odd): a dark line over a faint tint, like the web maps'."""
    parts = []
    for ring in rings:
        points = [view.point(lat, lon) for lon, lat, *_ in ring]
        if len(points) >= 3:
            parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in points) + " Z")
    if not parts:
        return ""
    return (f'<path class="outline" d="{" ".join(parts)}" fill="#0b5394" fill-opacity="0.06" fill-rule="evenodd" '
            'stroke="#222" stroke-width="3" stroke-opacity="0.8" stroke-linejoin="round"/>')


def draw(view: MapView, haltes: Sequence[Halte], markers: Sequence[Marker],
         tiles: dict[tuple[int, int], str] | None, title: str, attribution: str,
         width: int = WIDTH, height: int = HEIGHT, outline: Sequence[Sequence[Sequence[float]]] = ()) -> str:
    """The SVG (inline in the page: no xmlns needed, but kept for the file it may become).
    `outline`: the perimeter's rings, drawn under the route."""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="report-map" viewBox="0 0 {width} {height}" '
           f'role="img" aria-labelledby="report-map-title" data-zoom="{view.zoom}" '
           f'data-background="{"tiles" if tiles else "none"}">',
           f'<title id="report-map-title">{_escape(title)}</title>',
           f'<rect width="{width}" height="{height}" fill="#f4f1ea"/>']
    if tiles:
        out.append('<g class="tiles">')
        size = TILE * view.scale + 0.5  # a hair larger: no seam between tiles
        for (x, y), uri in tiles.items():
            left, top = view.project(x * TILE, y * TILE)
            out.append(f'<image href="{uri}" x="{left:.1f}" y="{top:.1f}" '
                       f'width="{size:.1f}" height="{size:.1f}" preserveAspectRatio="none"/>')
        out.append('</g><rect class="veil" width="100%" height="100%" fill="#fff" fill-opacity="0.25"/>')
    if outline:
        out.append(outline_path(view, outline))
    route = [view.point(h.lat, h.lon) for h in haltes]
    if len(route) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in route)
        out.append(f'<polyline class="route" points="{path}" fill="none" stroke="#fff" stroke-width="9" '
                   'stroke-linejoin="round" stroke-linecap="round"/>')
        out.append(f'<polyline class="route" points="{path}" fill="none" stroke="#333" stroke-width="4" '
                   'stroke-dasharray="12 8" stroke-linejoin="round" stroke-linecap="round"/>')
    for halte, (x, y) in zip(haltes, route, strict=True):
        out.append(f'<g class="halte" data-halte="{halte.position}"><title>Halte {halte.position} : '
                   f'{_escape(halte.name)}</title>'
                   f'<rect x="{x - 15:.1f}" y="{y - 15:.1f}" width="30" height="30" rx="4" fill="#222" '
                   'stroke="#fff" stroke-width="3"/>'
                   f'<text x="{x:.1f}" y="{y + 6:.1f}" text-anchor="middle" font-size="17" font-weight="700" '
                   f'fill="#fff" font-family="DejaVu Sans, sans-serif">H{halte.position}</text></g>')
    for marker in markers:
        x, y = view.point(marker.lat, marker.lon)
        ring = (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="19" fill="none" stroke="#1a7f37" stroke-width="5"/>'
                 if marker.strong else "")
        size = 15 if marker.number < 100 else 12
        out.append(f'<g class="marker" data-number="{marker.number}"><title>{_escape(marker.label)}</title>{ring}'
                   f'<circle cx="{x:.1f}" cy="{y:.1f}" r="15" fill="{marker.colour}" stroke="#fff" '
                   'stroke-width="2.5"/>'
                   f'<text x="{x:.1f}" y="{y + 5.5:.1f}" text-anchor="middle" font-size="{size}" font-weight="700" '
                   f'fill="{marker.text_colour}" font-family="DejaVu Sans, sans-serif">{marker.number}</text></g>')
    if tiles and attribution:
        out.append(f'<rect x="{width - 330}" y="{height - 22}" width="330" height="22" fill="#fff" '
                   'fill-opacity="0.85"/>'
                   f'<text x="{width - 6}" y="{height - 7}" text-anchor="end" font-size="13" fill="#222" '
                   f'font-family="DejaVu Sans, sans-serif">{_escape(html.unescape(attribution))}</text>')
    out.append("</svg>")
    return "".join(out)
