/* Cluster icons of the committee's map: a ring of the seven issue colours in proportion to the
 * constats it holds, the count in the middle (instead of markercluster's green/yellow, which hid
 * the issues until one zoomed in).
 *
 * The one drawing of a cluster: drawRing(counts), with `counts` indexed like walkapp.gusp.ISSUES;
 * clusterIcon(properties) makes a Leaflet icon of a cluster the server sent
 * (GET /api/v1/observations/clusters: its `issues` are counts by issue code). The colours and
 * short labels come from the page's #map-palette JSON (rendered from walkapp.gusp), never from a
 * copy here.
 */
(function () {
  "use strict";
  var palette = null;

  function colours() {
    if (!palette) {
      var tag = document.getElementById("map-palette");
      try { palette = tag ? JSON.parse(tag.textContent) : {}; } catch (e) { palette = {}; }
      palette.issues = palette.issues || [];
      palette.outcomes = palette.outcomes || [];
    }
    return palette;
  }

  function size(total) { return total < 10 ? 38 : total < 100 ? 46 : 54; }

  function pct(n) { return Math.round(n * 1000) / 10 + "%"; }

  // An HTML string (numbers and our own palette only): a conic-gradient ring, the count inside,
  // and its share of each issue in words for screen readers.
  function drawRing(counts) {
    var list = colours().issues, total = 0, i;
    for (i = 0; i < counts.length; i++) total += counts[i] || 0;
    var stops = [], words = [], start = 0;
    for (i = 0; i < counts.length; i++) {
      if (!counts[i]) continue;
      var term = list[i] || { colour: "#555555", short: "?" };
      var end = start + counts[i] / total;
      stops.push(term.colour + " " + pct(start) + " " + pct(end));
      words.push(counts[i] + " " + term.short);
      start = end;
    }
    var px = size(total);
    return '<div class="ring" role="img" aria-label="' + total + " constat" + (total > 1 ? "s" : "") + " : " +
      words.join(", ") + '" style="width:' + px + "px;height:" + px + "px;background:conic-gradient(" +
      stops.join(", ") + ')"><span>' + total + "</span></div>";
  }

  // A cluster from the server: its counts by issue code, in the palette's order (an unknown code
  // last, in grey).
  function clusterIcon(properties) {
    var list = colours().issues, counts = [], known = {}, i;
    for (i = 0; i < list.length; i++) {
      known[list[i].code] = true;
      counts.push(Number(properties.issues[list[i].code]) || 0);
    }
    var other = 0;
    Object.keys(properties.issues || {}).forEach(function (code) {
      if (!known[code]) other += Number(properties.issues[code]) || 0;
    });
    if (other) counts.push(other);
    // The ring as drawn, in a tap target of 44 px at least (static/css/app.css centres it).
    var px = Math.max(size(properties.count), 44);
    return L.divIcon({ html: drawRing(counts), className: "ring-cluster", iconSize: L.point(px, px) });
  }

  // What a single constat's marker is coloured with: its issue, or its latest re-visit's outcome.
  function issueColour(code) {
    var list = colours().issues;
    for (var i = 0; i < list.length; i++) if (list[i].code === code) return list[i].colour;
    return "#555555";
  }

  function outcomeColour(code) {
    var list = colours().outcomes;
    for (var i = 0; i < list.length; i++) if (list[i].code === code) return list[i].colour;
    return null;
  }

  window.walkappRings = {
    drawRing: drawRing, clusterIcon: clusterIcon, issueColour: issueColour, outcomeColour: outcomeColour,
    positiveColour: function () { return colours().positive || "#1B7F3B"; }
  };
})();
