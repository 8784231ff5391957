"""Folium maps for the committee, served offline: the tiles, the walk's route, no constat.

The observation map carries no point: its script (static/js/map.js) asks
GET /api/v1/observations/clusters for each view (walkapp.review.clusters) and draws clusters as
rings of issue colours (static/js/map-rings.js) and single constats as markers, whose popups are
fetched when opened from a server-rendered (escaped) fragment. So the page's size and its server
time do not grow with the number of constats, and it carries no user text at all.

No CDN: folium's default script and style lists are emptied; the page loads Leaflet from
/static/vendor itself (see templates/review/map.html).
"""

from __future__ import annotations

import json
from html import escape  # Leaflet tooltips take HTML
from dataclasses import dataclass
from collections.abc import Sequence

import folium
from branca.element import MacroElement
from folium.template import Template

from .. import gusp


def palette() -> dict:
    """The colours static/js/map-rings.js and map.js draw with, by the codes of the clusters API."""
    return {"issues": [{"code": t.code, "short": t.short, "colour": t.colour} for t in gusp.ISSUES],
            "outcomes": [{"code": t.code, "label": t.label, "colour": t.colour} for t in gusp.OUTCOMES],
            "positive": gusp.term("polarity", "positive").colour}


class TilesErrorNote(MacroElement):
    """When tiles can't load (no network, a blocked tile server), the points stay and the page's
    #tiles-note says why. Rendered after the tile layer, whose JS variable it uses."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.tiles.get_name() }}.on("tileerror", function () {
          var note = document.getElementById("tiles-note");
          if (note) note.hidden = false;
        });
        {% endmacro %}""")

    def __init__(self, tiles: folium.TileLayer):
        super().__init__()
        self.tiles = tiles


class MapHook(MacroElement):
    """Hands the map to static/js/map.js, with the view to open on (the filtered constats' and the
    route's bounds): the script fits it, then draws the clusters of each view and keeps the list of
    the constats in view. Rendered last, once the map exists."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        if (window.walkappMap) walkappMap.attach({{ this._parent.get_name() }}, {{ this.bounds }});
        {% endmacro %}""")

    def __init__(self, bounds: list[list[float]] | None):
        super().__init__()
        self.bounds = json.dumps(bounds)


@dataclass(frozen=True)
class RenderedMap:
    html: str     # the map's <div>
    script: str   # its JavaScript, without <script> tags


def _base_map(centre: tuple[float, float], zoom: int, tiles_url: str, attribution: str) -> tuple[folium.Map, str]:
    fmap = folium.Map(location=list(centre), zoom_start=zoom, tiles=None, control_scale=True)
    fmap.default_js = []
    fmap.default_css = []
    tiles = folium.TileLayer(tiles=tiles_url, attr=attribution, name="Fond de carte", max_zoom=19, max_native_zoom=19)
    tiles.add_to(fmap)
    TilesErrorNote(tiles).add_to(fmap)
    return fmap, tiles.get_name()


def _render(fmap: folium.Map) -> RenderedMap:
    root = fmap.get_root()
    root.render()
    return RenderedMap(html=root.html.render(), script=root.script.render())


# The neighbourhood's perimeter (walkapp.outline): a dark line over a faint tint, under the
# constats and never in their way (not interactive). static/js/outline.js draws the same.
OUTLINE_STYLE = {"color": "#222222", "weight": 3, "opacity": 0.8, "fillColor": "#0b5394", "fillOpacity": 0.05}


def outline_layer(fmap: folium.Map, outlines: Sequence[dict]) -> None:
    """The perimeters `outlines` (GeoJSON Features: walkapp.outline.services.drawn) as one layer.
    Only their geometry goes into the page's script: no text of ours or anyone's."""
    if not outlines:
        return
    shapes = [{"type": "Feature", "properties": {}, "geometry": o["geometry"]} for o in outlines]
    folium.GeoJson({"type": "FeatureCollection", "features": shapes}, name="Périmètre du quartier", control=False,
                   style_function=lambda _: OUTLINE_STYLE, interactive=False, className="walk-outline").add_to(fmap)


def observation_map(bounds: tuple[tuple[float, float], tuple[float, float]] | None, stops: Sequence[dict],
                    tiles_url: str, attribution: str, centre: tuple[float, float],
                    outlines: Sequence[dict] = ()) -> RenderedMap:
    """`bounds`: ((south, west), (north, east)) of the filtered constats (None: none has a
    position); `stops`: the haltes of one walk, in order; `outlines`: the perimeters to draw under
    the constats."""
    fmap, _ = _base_map(centre, 16, tiles_url, attribution)
    outline_layer(fmap, outlines)
    if stops:
        route = [[s["lat"], s["lon"]] for s in stops]
        folium.PolyLine(route, color="#0b5394", weight=4, opacity=0.7, dash_array="8 6").add_to(fmap)
        for stop in stops:
            folium.CircleMarker([stop["lat"], stop["lon"]], radius=7, color="#0b5394", fill=True, fill_color="#fff",
                                fill_opacity=1, weight=3,
                                tooltip=folium.Tooltip(escape(f"Halte {stop['position']} : {stop['name']}"),
                                                        sticky=False)).add_to(fmap)
    corners = [list(corner) for corner in bounds] if bounds else []
    corners += [[s["lat"], s["lon"]] for s in stops]
    fit = None
    if corners:
        lats, lons = [c[0] for c in corners], [c[1] for c in corners]
        fit = [[min(lats), min(lons)], [max(lats), max(lons)]]
    MapHook(fit).add_to(fmap)
    return _render(fmap)


def spot_map(lat: float, lon: float, issue: str, tiles_url: str, attribution: str,
             outlines: Sequence[dict] = ()) -> RenderedMap:
    """The small map of one constat's place, with its neighbourhood's perimeter."""
    fmap, _ = _base_map((lat, lon), 18, tiles_url, attribution)
    outline_layer(fmap, outlines)
    colour = gusp.term("issue", issue).colour if gusp.term("issue", issue) else "#555"
    folium.CircleMarker([lat, lon], radius=10, color="#1a1a1a", weight=2, fill=True, fill_color=colour,
                        fill_opacity=0.9).add_to(fmap)
    return _render(fmap)
