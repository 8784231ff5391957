/* The committee's map page: the constats of each view, the list of the constats in view, and the
 * folded filters.
 *
 * The page carries no constat. walkapp/review/maps.py calls walkappMap.attach(map, bounds) once the
 * map exists: the map opens on `bounds` (the filtered constats'), then after each move (moveend)
 * this script asks GET /api/v1/observations/clusters (the .map-box's data-clusters-url) for the view:
 * ?<filters>&bbox=W,S,E,N&zoom=Z, the filters being the #filters form's. It draws the answer:
 * clusters as rings of issue colours (static/js/map-rings.js; a click, or Enter on a focused one,
 * zooms into it) and single constats as markers coloured by issue (or by their latest re-visit's
 * outcome, bigger with a white edge), ringed in green when they are points forts; a marker's popup
 * is fetched when opened (data-popup-url: an escaped HTML fragment, route "map.popup").
 *
 * The list is the map's accessible twin: after each move it asks the server for the filtered
 * constats inside the view (route "map.list"), an escaped HTML fragment, so this script never
 * handles user text. Hovering or focusing a row highlights its marker (or the cluster holding it:
 * the one whose box holds the row's position); clicking a marker highlights and shows its row. Its
 * tick boxes are the popups' ones (class select-constat): static/js/selection.js keeps the tray.
 *
 * The .map-box says where a view is: data-view="loading", "drawn" or "failed" (the last drawing
 * stays, with #map-note saying why).
 */
(function () {
  "use strict";
  var HIGHLIGHT = { color: "#f4a100", weight: 6 };
  var state = {
    map: null, box: null, layer: null, markers: {}, clusters: [], timer: null, asked: 0, viewAsked: 0,
    lit: null, request: null, moving: false, listing: false
  };

  function clamp(value, limit) { return Math.max(-limit, Math.min(limit, value)).toFixed(6); }

  // The filters of the form, and the view's box (Leaflet's bounds may pass ±180 when zoomed out).
  function viewParams() {
    var params = new URLSearchParams();
    var form = document.getElementById("filters");
    if (form) {
      new FormData(form).forEach(function (value, name) { if (value) params.append(name, value); });
    }
    var b = state.map.getBounds();
    params.set("bbox", [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180),
      clamp(b.getNorth(), 90)].join(","));
    return params;
  }

  // ---------------------------------------------------------------- the view's clusters and markers

  function setView(value) {
    if (state.box) state.box.dataset.view = value;
    var note = document.getElementById("map-note");
    if (note) note.hidden = value !== "failed";
  }

  function loadView() {
    if (!state.map || !state.box) return;
    var asked = ++state.viewAsked;  // a slow answer to an older view must not replace a newer one
    if (state.request) state.request.abort();
    var request = window.AbortController ? new AbortController() : null;
    state.request = request;
    var params = viewParams();
    params.set("zoom", String(Math.round(state.map.getZoom())));
    setView("loading");
    fetch(state.box.dataset.clustersUrl + "?" + params.toString(), {
      credentials: "same-origin", headers: { Accept: "application/geo+json" }, signal: request ? request.signal : undefined
    })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (collection) {
        if (asked !== state.viewAsked) return;
        draw(collection.features || []);
        setView("drawn");
      })
      .catch(function () {
        if (asked === state.viewAsked) setView("failed");
      });
  }

  function latLng(feature) {
    return L.latLng(feature.geometry.coordinates[1], feature.geometry.coordinates[0]);
  }

  // A single constat: as the markers were before the server clustered them.
  function single(feature) {
    var p = feature.properties, rings = window.walkappRings;
    var outcome = p.outcome ? rings.outcomeColour(p.outcome) : null;
    var positive = p.polarity === "positive";
    var marker = L.circleMarker(latLng(feature), {
      radius: outcome ? 11 : 9, fillColor: outcome || rings.issueColour(p.issue), fillOpacity: 0.95,
      color: positive ? rings.positiveColour() : (outcome ? "#ffffff" : "#1a1a1a"), weight: positive || outcome ? 4 : 2
    });
    marker.options.walkappId = p.id;
    marker.options.walkappIssue = p.issue;
    marker.options.walkappOutcome = p.outcome || null;
    marker.bindPopup("Chargement…", { maxWidth: 280, minWidth: 220 });
    marker.on("popupopen", function (event) {
      fetch(state.box.dataset.popupUrl.replace("{observation_id}", p.id), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : "<p>Constat indisponible.</p>"; })
        .then(function (html) { event.popup.setContent(html); })  // server-rendered, escaped
        .catch(function () { event.popup.setContent("<p>Hors ligne : détails indisponibles.</p>"); });
    });
    marker.on("click", function () { showRow(p.id); });
    return marker;
  }

  function cluster(feature) {
    var p = feature.properties;
    // A marker with a div icon: Leaflet makes it focusable (a button); Enter or Space zooms into it.
    var marker = L.marker(latLng(feature), { icon: window.walkappRings.clusterIcon(p), keyboard: true, riseOnHover: true });
    marker.walkappBox = L.latLngBounds([p.bbox[1], p.bbox[0]], [p.bbox[3], p.bbox[2]]);
    marker.walkappCount = p.count;
    marker.on("click", function () { zoomInto(marker.walkappBox); });
    // Leaflet turns Enter into a click only for markers with a popup: a cluster has none.
    marker.on("keypress", function (event) {
      var key = event.originalEvent && event.originalEvent.key;
      if (key === "Enter" || key === " ") zoomInto(marker.walkappBox);
    });
    return marker;
  }

  // Into a cluster: its constats' box, at least one zoom level closer.
  function zoomInto(box) {
    var map = state.map, zoom = Math.min(map.getBoundsZoom(box.pad(0.1)), map.getMaxZoom());
    map.setView(box.getCenter(), Math.max(zoom, Math.min(map.getZoom() + 1, map.getMaxZoom())));
  }

  // Markers still in the new view stay as they are (an open popup stays open); the rest is redrawn.
  function draw(features) {
    unlight();
    var kept = {};
    state.clusters.forEach(function (marker) { state.layer.removeLayer(marker); });
    state.clusters = [];
    features.forEach(function (feature) {
      if (feature.properties.cluster) {
        var marker = cluster(feature);
        state.clusters.push(marker);
        state.layer.addLayer(marker);
        return;
      }
      var id = feature.properties.id, known = state.markers[id];
      kept[id] = known || single(feature);
      if (!known) state.layer.addLayer(kept[id]);
    });
    Object.keys(state.markers).forEach(function (id) {
      if (!kept[id]) state.layer.removeLayer(state.markers[id]);
    });
    state.markers = kept;
  }

  // ---------------------------------------------------------------- the list of the constats in view

  function listUrl() {
    // The list's URL comes from the page (#map-list's data-url, built from the route name).
    return document.getElementById("map-list").dataset.url + "?" + viewParams().toString();
  }

  function load() {
    var box = document.getElementById("map-list");
    state.timer = null;
    if (!box || !state.map) return;
    var asked = ++state.asked;
    state.listing = true;
    box.setAttribute("aria-busy", "true");
    fetch(listUrl(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (asked !== state.asked) return;
        // A keyboard user inside the list keeps their place when the view changes.
        var focused = box.contains(document.activeElement) ? document.activeElement.id : "";
        box.innerHTML = html;  // server-rendered and escaped (templates/review/_list.html)
        box.removeAttribute("aria-busy");
        state.listing = false;
        var again = focused && document.getElementById(focused);
        if (again) again.focus();
      })
      .catch(function () {
        if (asked !== state.asked) return;
        box.removeAttribute("aria-busy");
        state.listing = false;
        box.innerHTML = '<p class="alert info">Liste indisponible (hors ligne ?) : la carte reste à jour.</p>';
      });
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(load, 150);
  }

  // The marker itself when it stands alone in this view, else the cluster whose box holds it.
  function light(id, lat, lon) {
    unlight();
    var marker = state.markers[id];
    if (marker) {
      state.lit = { marker: marker, style: { color: marker.options.color, weight: marker.options.weight } };
      marker.setStyle(HIGHLIGHT);
      marker.bringToFront();
      return;
    }
    if (isNaN(lat) || isNaN(lon)) return;
    var point = L.latLng(lat, lon);
    for (var i = 0; i < state.clusters.length; i++) {
      var icon = state.clusters[i]._icon;
      if (icon && state.clusters[i].walkappBox.contains(point)) {
        state.lit = { icon: icon };
        icon.classList.add("ring-lit");
        return;
      }
    }
  }

  function unlight() {
    var lit = state.lit;
    state.lit = null;
    if (!lit) return;
    if (lit.marker) lit.marker.setStyle(lit.style);
    if (lit.icon) lit.icon.classList.remove("ring-lit");
  }

  function showRow(id) {
    var box = document.getElementById("map-list");
    if (!box) return;
    box.querySelectorAll(".in-view-row.current").forEach(function (row) { row.classList.remove("current"); });
    var row = box.querySelector('.in-view-row[data-constat="' + id + '"]');
    if (!row) return;
    row.classList.add("current");
    row.scrollIntoView({ block: "nearest" });
  }

  function rowOf(event) {
    return event.target.closest ? event.target.closest(".in-view-row") : null;
  }

  function attach(map, bounds) {
    unlight();
    if (state.request) state.request.abort();
    state.map = map;
    state.box = map.getContainer().closest(".map-box");
    state.layer = L.featureGroup().addTo(map);
    state.markers = {};
    state.clusters = [];
    if (bounds) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 18, animate: false });
    state.moving = false;
    map.on("movestart", function () { state.moving = true; });
    map.on("moveend", function () { state.moving = false; loadView(); schedule(); });
    map.on("zoomstart", unlight);
    loadView();
    schedule();
  }

  function onRow(type, handler) {
    document.addEventListener(type, function (event) {
      var row = rowOf(event), box = document.getElementById("map-list");
      if (row && box && box.contains(row)) handler(row, event);
    });
  }

  function lightRow(row) { light(row.dataset.constat, parseFloat(row.dataset.lat), parseFloat(row.dataset.lon)); }

  onRow("mouseover", lightRow);
  onRow("focusin", lightRow);
  onRow("mouseout", function (row, event) { if (!row.contains(event.relatedTarget)) unlight(); });
  onRow("focusout", function (row, event) { if (!row.contains(event.relatedTarget)) unlight(); });

  // "Filtres (n)": folded on a phone so the map comes first, open on a wide screen; n follows the
  // filters the server applied (#results carries their count after each htmx swap).
  function countFilters() {
    var results = document.getElementById("results"), count = document.getElementById("filter-count");
    if (results && count) count.textContent = results.dataset.activeFilters || "0";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var fold = document.getElementById("filters-fold");
    if (fold && window.matchMedia("(min-width: 900px)").matches) fold.open = true;
  });
  document.addEventListener("htmx:afterSwap", countFilters);

  // Whether the map is still moving, or its view or list on the way (what a test waits for).
  function busy() {
    return !!state.map && (state.moving || state.timer !== null || state.listing ||
      (!!state.box && state.box.dataset.view === "loading"));
  }

  window.walkappMap = { attach: attach, light: light, busy: busy };
})();
