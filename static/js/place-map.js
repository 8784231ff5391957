/* Maps where a person places points (Leaflet, from /static/vendor):
   - [data-stops-map]: the haltes of a walk being planned. Clicking the map places the selected
     halte ("Placer sur la carte") or the first one without a point, else adds a halte there;
     dragging a numbered marker moves its halte. The latitude/longitude fields stay the truth:
     they are what the form sends, they stay editable, and markers follow what is typed.
   - [data-pin-map]: one draggable pin (a constat's requalified position) that fills two fields.
   Both are (re)built when htmx swaps a form in (a refused form comes back whole). */
(function () {
  "use strict";

  var DIGITS = 6; // ~10 cm: what the server keeps (walkapp.review.services._text)

  // A coordinate as typed: French decimal comma accepted, like the server (validation.coordinate).
  function readNumber(input, limit) {
    var text = (input.value || "").trim().replace(",", ".");
    if (!/^[-+]?\d+(\.\d+)?$/.test(text)) return null;
    var value = parseFloat(text);
    return Math.abs(value) <= limit ? value : null;
  }

  function readPoint(latInput, lonInput) {
    var lat = readNumber(latInput, 90), lon = readNumber(lonInput, 180);
    return lat === null || lon === null ? null : L.latLng(lat, lon);
  }

  function writePoint(latInput, lonInput, latlng) {
    latInput.value = latlng.lat.toFixed(DIGITS);
    lonInput.value = latlng.lng.toFixed(DIGITS);
  }

  function baseMap(element) {
    var map = L.map(element, { scrollWheelZoom: false });
    L.tileLayer(element.dataset.tilesUrl, {
      maxZoom: 19, attribution: element.dataset.tilesAttribution
    }).addTo(map);
    element.walkMap = map; // for the browser tests, which turn pixels into coordinates
    // The quartier's perimeter (data-outline or data-outline-url): static/js/outline.js.
    if (window.walkappOutline) walkappOutline.attach(map, element);
    return map;
  }

  function centreOf(element) {
    var lat = parseFloat(element.dataset.centreLat), lon = parseFloat(element.dataset.centreLon);
    return isNaN(lat) || isNaN(lon) ? L.latLng(46.6, 2.4) : L.latLng(lat, lon); // France
  }

  // ------------------------------------------------------------ the haltes of a walk

  function stopsMap(element) {
    var form = element.closest("form");
    var list = form.querySelector("#stop-rows");
    var addButton = form.querySelector("[data-next-stop-index]");
    var neighbourhood = form.querySelector("#neighbourhood");
    var map = baseMap(element);
    var markers = L.layerGroup().addTo(map);
    var route = L.polyline([], { color: "#0b5394", weight: 3, dashArray: "6 6" }).addTo(map);
    var selected = null; // the row "Placer sur la carte" chose
    var pending = null;  // a point waiting for the row htmx is adding

    function rows() { return Array.prototype.slice.call(list.querySelectorAll("li.stop-row")); }
    function fields(row) {
      return { name: row.querySelector("[name=stop_name]"), lat: row.querySelector("[name=stop_lat]"),
               lon: row.querySelector("[name=stop_lon]") };
    }

    function select(row) {
      rows().forEach(function (r) {
        r.classList.toggle("selected", r === row);
        var b = r.querySelector(".place-stop");
        if (b) b.setAttribute("aria-pressed", r === row ? "true" : "false");
      });
      selected = row;
    }

    function draw() {
      markers.clearLayers();
      var points = [];
      rows().forEach(function (row, index) {
        var f = fields(row), point = readPoint(f.lat, f.lon);
        if (!point) return;
        points.push(point);
        var label = "Halte " + (index + 1) + (f.name.value ? " : " + f.name.value : "");
        var marker = L.marker(point, {
          draggable: true, title: label, alt: label,
          icon: L.divIcon({ className: "stop-pin", html: String(index + 1), iconSize: [32, 32] })
        }).addTo(markers);
        marker.on("dragend", function () {
          writePoint(f.lat, f.lon, marker.getLatLng());
          draw();
        });
      });
      route.setLatLngs(points);
      return points;
    }

    function place(row, latlng) {
      var f = fields(row);
      writePoint(f.lat, f.lon, latlng);
      select(null);
      draw();
    }

    function addPlaceButton(row) {
      if (row.querySelector(".place-stop")) return;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button secondary place-stop";
      button.textContent = "Placer sur la carte";
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () {
        select(selected === row ? null : row);
        if (selected) element.scrollIntoView({ block: "nearest" });
      });
      row.appendChild(button);
    }

    function fit(points) {
      if (points.length > 1) map.fitBounds(L.latLngBounds(points), { padding: [30, 30], maxZoom: 17 });
      else if (points.length === 1) map.setView(points[0], 17);
      else map.setView(centreOf(element), 16);
    }

    map.on("click", function (event) {
      var target = selected || rows().filter(function (row) {
        var f = fields(row);
        return !readPoint(f.lat, f.lon);
      })[0];
      if (target) {
        place(target, event.latlng);
      } else if (addButton) {
        pending = event.latlng; // placed when htmx has added the row (below)
        addButton.click();
      }
    });

    list.addEventListener("input", function (event) {
      if (!/^stop_(lat|lon|name)$/.test(event.target.name)) return;
      draw();
      var f = fields(event.target.closest("li.stop-row")), point = readPoint(f.lat, f.lon);
      if (point && !map.getBounds().contains(point)) map.panTo(point); // keep the typed halte in view
    });
    list.addEventListener("focusin", function (event) {
      var row = event.target.closest("li.stop-row");
      if (row && selected && row !== selected && !event.target.classList.contains("place-stop")) select(null);
    });
    // A new row from "Ajouter une halte": it gets its button, and the clicked point if any.
    list.addEventListener("htmx:afterSettle", function () {
      var all = rows();
      all.forEach(addPlaceButton);
      if (pending && all.length) {
        place(all[all.length - 1], pending);
        pending = null;
      }
    });
    if (neighbourhood) {
      neighbourhood.addEventListener("change", function () {
        var option = neighbourhood.selectedOptions[0];
        if (option && option.dataset.centreLat) {
          element.dataset.centreLat = option.dataset.centreLat;
          element.dataset.centreLon = option.dataset.centreLon;
        }
        if (option && option.dataset.outlineUrl) element.dataset.outlineUrl = option.dataset.outlineUrl;
        else delete element.dataset.outlineUrl;
        if (window.walkappOutline) walkappOutline.attach(map, element);
        if (!draw().length) fit([]);
      });
    }

    rows().forEach(addPlaceButton);
    fit(draw());
  }

  // ------------------------------------------------------------ one pin

  function pinMap(element) {
    var latInput = document.getElementById(element.dataset.latInput);
    var lonInput = document.getElementById(element.dataset.lonInput);
    var map = baseMap(element);
    var start = readPoint(latInput, lonInput) || centreOf(element);
    var pin = L.marker(start, { draggable: true, title: "Position du constat", alt: "Position du constat" })
      .addTo(map);
    map.setView(start, 18);
    // Only a move fills the fields: an unplaced constat keeps no position until someone places it.
    pin.on("dragend", function () { writePoint(latInput, lonInput, pin.getLatLng()); });
    map.on("click", function (event) {
      pin.setLatLng(event.latlng);
      writePoint(latInput, lonInput, event.latlng);
    });
    [latInput, lonInput].forEach(function (input) {
      input.addEventListener("input", function () {
        var point = readPoint(latInput, lonInput);
        if (point) { pin.setLatLng(point); map.panTo(point); }
      });
    });
    // A map drawn inside a closed <details> has no size: measure again when it opens.
    var details = element.closest("details");
    if (details) {
      details.addEventListener("toggle", function () {
        if (details.open) { map.invalidateSize(); map.setView(pin.getLatLng(), map.getZoom()); }
      });
    }
  }

  function start(root) {
    if (typeof L === "undefined") return; // Leaflet missing: the fields still work
    root.querySelectorAll("[data-stops-map], [data-pin-map]").forEach(function (element) {
      if (element.walkMap) return;
      if (element.hasAttribute("data-stops-map")) stopsMap(element);
      else pinMap(element);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { start(document); });
  document.addEventListener("htmx:load", function (event) { start(event.detail.elt); });
})();
