"""Folium maps for the committee: thousands of constats as one clustered layer, served offline.

Why FastMarkerCluster with a JS callback: markers are built in the browser from a compact array
([lat, lon, id, issue index, point fort]) instead of one Python Marker + Popup each — 0.05 s and
~35 bytes a point instead of 4 s and 800 (STACK.md). Popups are fetched when opened, from a
server-rendered (escaped) fragment, so the page carries no user text at all.

No CDN: folium's default script and style lists are emptied; the page loads Leaflet and the
cluster plugin from /static/vendor itself (see templates/review/map.html).
"""

from __future__ import annotations

import json
from html import escape  # Leaflet tooltips take HTML
from dataclasses import dataclass
from collections.abc import Sequence

import folium
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster
from folium.template import Template

from .. import gusp
from ..urls import template

ISSUE_INDEX = {code: index for index, code in enumerate(gusp.codes("issue"))}
OUTCOME_INDEX = {code: index for index, code in enumerate(gusp.codes("outcome"))}
POSITIVE_RING = "#1B7F3B"


class LocalFastMarkerCluster(FastMarkerCluster):
    default_js: list = []  # loaded by the page from /static/vendor/leaflet.markercluster
    default_css: list = []


# Builds each marker from a data row; colours and the popup URL come from our taxonomy and routes.
_CALLBACK = """(function () {
  var colours = %(colours)s;
  var outcomes = %(outcomes)s;
  var popupUrl = %(popup_url)s;
  return function (row) {
    // A re-visited constat (row[5]: its latest outcome's index) takes the outcome's colour, bigger,
    // with a white inner edge: the legend's "Revu" swatches.
    var revisited = row.length > 5;
    var marker = L.circleMarker([row[0], row[1]], {
      radius: revisited ? 11 : 9, fillColor: revisited ? outcomes[row[5]] : colours[row[3]], fillOpacity: 0.95,
      color: row[4] ? "%(ring)s" : (revisited ? "#ffffff" : "#1a1a1a"), weight: row[4] || revisited ? 4 : 2
    });
    marker.options.walkappOutcome = revisited ? row[5] : null;
    marker.options.walkappId = row[2];
    marker.options.walkappIssue = row[3];  // the cluster's ring counts it (static/js/map-rings.js)
    marker.bindPopup("Chargement…", {maxWidth: 280, minWidth: 220});
    marker.on("popupopen", function (event) {
      fetch(popupUrl.replace("{observation_id}", row[2]), {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : "<p>Constat indisponible.</p>"; })
        .then(function (html) { event.popup.setContent(html); })
        .catch(function () { event.popup.setContent("<p>Hors ligne : détails indisponibles.</p>"); });
    });
    return marker;
  };
})()"""


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


class ListHook(MacroElement):
    """Hands the map and its cluster layer to static/js/map.js, which keeps the list of the
    constats in view beside the map (and highlights a row's marker). Rendered after the cluster."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        if (window.walkappMap) walkappMap.attach({{ this._parent.get_name() }}, {{ this.cluster.get_name() }});
        {% endmacro %}""")

    def __init__(self, cluster: FastMarkerCluster):
        super().__init__()
        self.cluster = cluster


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


def observation_map(points: Sequence[Sequence], stops: Sequence[dict], tiles_url: str, attribution: str,
                    centre: tuple[float, float], outlines: Sequence[dict] = ()) -> RenderedMap:
    """`points`: rows [lat, lon, id, issue code, polarity, outcome code or None]; `stops`: the haltes
    of one walk, in order; `outlines`: the perimeters to draw under them."""
    fmap, _ = _base_map(centre, 16, tiles_url, attribution)
    outline_layer(fmap, outlines)
    # The outcome's index only on re-visited constats: ~35 bytes a point stays ~35 bytes.
    data = [[p[0], p[1], p[2], ISSUE_INDEX.get(p[3], 0), 1 if p[4] == "positive" else 0,
             *([OUTCOME_INDEX[p[5]]] if len(p) > 5 and p[5] in OUTCOME_INDEX else [])] for p in points]
    colours = json.dumps([t.colour for t in gusp.ISSUES])
    cluster = LocalFastMarkerCluster(
        data, callback=_CALLBACK % {"colours": colours, "ring": POSITIVE_RING,
                                    "outcomes": json.dumps([t.colour for t in gusp.OUTCOMES]),
                                    "popup_url": json.dumps(template("map.popup"))},
        options={"maxClusterRadius": 45, "disableClusteringAtZoom": 19, "chunkedLoading": True},
        # Rings of issue colours in proportion, drawn by static/js/map-rings.js (loaded by the page).
        icon_create_function="walkappRings.clusterIcon",
        name="Constats",
    ).add_to(fmap)
    ListHook(cluster).add_to(fmap)
    if stops:
        route = [[s["lat"], s["lon"]] for s in stops]
        folium.PolyLine(route, color="#0b5394", weight=4, opacity=0.7, dash_array="8 6").add_to(fmap)
        for stop in stops:
            folium.CircleMarker([stop["lat"], stop["lon"]], radius=7, color="#0b5394", fill=True, fill_color="#fff",
                                fill_opacity=1, weight=3,
                                tooltip=folium.Tooltip(escape(f"Halte {stop['position']} : {stop['name']}"),
                                                        sticky=False)).add_to(fmap)
    latlons = [[p[0], p[1]] for p in points] + [[s["lat"], s["lon"]] for s in stops]
    if latlons:
        lats, lons = [p[0] for p in latlons], [p[1] for p in latlons]
        fmap.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(20, 20), max_zoom=18)
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
