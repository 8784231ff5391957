/* Cluster icons of the committee's map: a ring of the seven issue colours in proportion to the
 * constats it holds, the count in the middle (instead of markercluster's green/yellow, which hid
 * the issues until one zoomed in).
 *
 * drawRing(counts) is the one drawing: clusters built in the browser (clusterIcon, below) use it,
 * and so must clusters served by the server later. `counts` is indexed like walkapp.gusp.ISSUES
 * (the issue index each marker carries); the colours and short labels come from the page's
 * #issue-palette JSON (rendered from walkapp.gusp), never from a copy here.
 */
(function () {
  "use strict";
  var palette = null;

  function issues() {
    if (!palette) {
      var tag = document.getElementById("issue-palette");
      try { palette = tag ? JSON.parse(tag.textContent) : []; } catch (e) { palette = []; }
    }
    return palette;
  }

  function size(total) { return total < 10 ? 38 : total < 100 ? 46 : 54; }

  function pct(n) { return Math.round(n * 1000) / 10 + "%"; }

  // An HTML string (numbers and our own palette only): a conic-gradient ring, the count inside,
  // and its share of each issue in words for screen readers.
  function drawRing(counts) {
    var list = issues(), total = 0, i;
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

  // markercluster's iconCreateFunction: each marker carries its issue index (walkapp/review/maps.py).
  function clusterIcon(cluster) {
    var counts = [];
    cluster.getAllChildMarkers().forEach(function (marker) {
      var issue = marker.options.walkappIssue || 0;
      counts[issue] = (counts[issue] || 0) + 1;
    });
    var px = size(cluster.getChildCount());
    return L.divIcon({ html: drawRing(counts), className: "ring-cluster", iconSize: L.point(px, px) });
  }

  window.walkappRings = { drawRing: drawRing, clusterIcon: clusterIcon };
})();
