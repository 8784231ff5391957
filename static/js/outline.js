/* The neighbourhood's perimeter on a Leaflet map (walkapp/outline), for the maps built in static/js
   (the walk's route, a constat's pin, the capture form's map). The committee's folium map draws
   the same style itself (walkapp/review/maps.py, OUTLINE_STYLE).
   The outline comes as data on the map's element, never as script (CSP):
   - data-outline: the GeoJSON itself (the capture form: it must draw with no network);
   - data-outline-url: where to fetch it (staff pages, online).
   walkappOutline.attach(map, element) draws it, again after the element's data changed
   (another quartier chosen), under the markers and never catching a touch. */
(function () {
  "use strict";

  var STYLE = { color: "#222222", weight: 3, opacity: 0.8, fillColor: "#0b5394", fillOpacity: 0.05,
                interactive: false, className: "walk-outline" };

  function draw(map, element, data) {
    if (element.walkOutline) map.removeLayer(element.walkOutline);
    element.walkOutline = null;
    if (!data) return;
    try {
      element.walkOutline = L.geoJSON(data, { style: function () { return STYLE; }, interactive: false,
                                              className: "walk-outline" }).addTo(map);
      element.walkOutline.bringToBack();
    } catch (error) {
      element.walkOutline = null; // a malformed outline: the map stays usable without it
    }
  }

  function attach(map, element) {
    if (typeof L === "undefined" || !map || !element) return;
    var inline = element.dataset.outline, url = element.dataset.outlineUrl;
    if (inline) {
      var data = null;
      try { data = JSON.parse(inline); } catch (error) { data = null; }
      draw(map, element, data);
    } else if (url) {
      var asked = element.walkOutlineAsked = url;
      fetch(url, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (element.walkOutlineAsked === asked) draw(map, element, data); })
        .catch(function () { /* offline: no outline, the map still works */ });
    } else {
      draw(map, element, null);
    }
  }

  window.walkappOutline = { attach: attach };
})();
