/* The committee's map page: the list of the constats in view, and the folded filters.
 *
 * The list is the map's accessible twin: after each move (moveend) it asks the server for the
 * filtered constats inside the view (route "map.list": ?<filters>&bbox=W,S,E,N), an escaped HTML
 * fragment, so this script never handles user text. Hovering or focusing a row highlights its
 * marker (or the cluster holding it); clicking a marker highlights and shows its row. Its tick
 * boxes are the popups' ones (class select-constat): static/js/selection.js keeps the tray.
 * walkapp/review/maps.py calls walkappMap.attach(map, cluster) once the cluster layer exists.
 */
(function () {
  "use strict";
  var HIGHLIGHT = { color: "#f4a100", weight: 6 };
  var state = { map: null, cluster: null, markers: {}, timer: null, asked: 0, lit: null };

  function clamp(value, limit) { return Math.max(-limit, Math.min(limit, value)).toFixed(6); }

  function listUrl() {
    var params = new URLSearchParams();
    var form = document.getElementById("filters");
    if (form) {
      new FormData(form).forEach(function (value, name) { if (value) params.append(name, value); });
    }
    var b = state.map.getBounds();
    params.set("bbox", [clamp(b.getWest(), 180), clamp(b.getSouth(), 90), clamp(b.getEast(), 180),
      clamp(b.getNorth(), 90)].join(","));
    // The list's URL comes from the page (#map-list's data-url, built from the route name).
    return document.getElementById("map-list").dataset.url + "?" + params.toString();
  }

  function load() {
    var box = document.getElementById("map-list");
    if (!box || !state.map) return;
    var asked = ++state.asked;  // a slow answer to an older view must not replace a newer one
    box.setAttribute("aria-busy", "true");
    fetch(listUrl(), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        if (asked !== state.asked) return;
        // A keyboard user inside the list keeps their place when the view changes.
        var focused = box.contains(document.activeElement) ? document.activeElement.id : "";
        box.innerHTML = html;  // server-rendered and escaped (templates/review/_list.html)
        box.removeAttribute("aria-busy");
        var again = focused && document.getElementById(focused);
        if (again) again.focus();
      })
      .catch(function () {
        if (asked !== state.asked) return;
        box.removeAttribute("aria-busy");
        box.innerHTML = '<p class="alert info">Liste indisponible (hors ligne ?) : la carte reste à jour.</p>';
      });
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(load, 150);
  }

  // The marker itself when it stands alone at this zoom, else the cluster icon holding it.
  function light(id) {
    unlight();
    var marker = state.markers[id];
    if (!marker || !state.cluster) return;
    // getVisibleParent looks for an _icon, which circle markers (SVG paths) never have.
    var shown = marker._map ? marker : state.cluster.getVisibleParent(marker);
    if (shown === marker) {
      state.lit = { marker: marker, style: { color: marker.options.color, weight: marker.options.weight } };
      marker.setStyle(HIGHLIGHT);
      marker.bringToFront();
    } else if (shown && shown._icon) {
      state.lit = { icon: shown._icon };
      shown._icon.classList.add("ring-lit");
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

  function attach(map, cluster) {
    unlight();
    state.map = map;
    state.cluster = cluster;
    state.markers = {};
    cluster.eachLayer(function (marker) { state.markers[marker.options.walkappId] = marker; });
    cluster.on("click", function (event) { showRow(event.layer.options.walkappId); });
    map.on("moveend", schedule);
    map.on("zoomstart", unlight);
    schedule();
  }

  function onRow(type, handler) {
    document.addEventListener(type, function (event) {
      var row = rowOf(event), box = document.getElementById("map-list");
      if (row && box && box.contains(row)) handler(row, event);
    });
  }

  onRow("mouseover", function (row) { light(row.dataset.constat); });
  onRow("focusin", function (row) { light(row.dataset.constat); });
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

  window.walkappMap = { attach: attach, light: light };
})();
