/* The field page's live block (#live, polled by htmx every few seconds), light on the network.
 *
 * - Each poll names the feed already on screen (If-None-Match with its ETag): when nothing
 *   changed, the server answers 304 without a body (walkapp/caching.py) and nothing is swapped.
 *   Sent here rather than left to the browser's HTTP cache: answers to staff are never stored
 *   (no-store, walkapp/headers.py), and a 304 must reach htmx to be told from a new feed.
 * - No poll while the page is hidden (another tab or app, the screen off); one at once when it
 *   shows again, so the group's latest constats are there when the phone comes out of a pocket.
 */
(function () {
  "use strict";
  var etags = {};  // the URL polled -> the ETag of the feed on screen

  function isFeedPoll(detail) {
    var elt = detail.elt;
    return elt && elt.id === "live" && String(detail.verb || (detail.requestConfig || {}).verb).toLowerCase() === "get";
  }

  document.addEventListener("htmx:configRequest", function (event) {
    if (!isFeedPoll(event.detail)) return;
    if (document.visibilityState === "hidden") { event.preventDefault(); return; }
    var etag = etags[event.detail.path];
    if (etag) event.detail.headers["If-None-Match"] = etag;
  });

  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!isFeedPoll(event.detail)) return;
    var xhr = event.detail.xhr;
    if (xhr.status === 304) { event.detail.shouldSwap = false; return; }
    var etag = xhr.getResponseHeader("ETag");
    if (etag && xhr.status === 200) etags[event.detail.requestConfig.path] = etag;
  });

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") return;
    var live = document.getElementById("live");
    if (live && window.htmx) window.htmx.trigger(live, "refresh");
  });
})();
