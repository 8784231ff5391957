/* walkapp service worker: the walk page and its form open with no network once visited.
 *
 * Pages: network first, the last good copy when offline. Static files: served from the cache and
 * refreshed behind (stale-while-revalidate). Photos: cache first (their URLs never change
 * content). Everything else (the API, the feed polls, POSTs) goes to the network only: the
 * outbox in capture.js, not this worker, is what keeps constats safe.
 */
var VERSION = "walkapp-v1";
var SHELL = [
  "/static/css/app.css",
  "/static/js/capture.js",
  "/static/js/app.js",
  "/static/vendor/htmx/htmx.min.js",
  "/static/vendor/leaflet/leaflet.js",
  "/static/vendor/leaflet/leaflet.css",
  "/static/vendor/leaflet/images/marker-icon.png",
  "/static/vendor/leaflet/images/marker-icon-2x.png",
  "/static/vendor/leaflet/images/marker-shadow.png",
  "/static/manifest.webmanifest",
  "/static/icons/icon-192.png"
];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(VERSION).then(function (cache) { return cache.addAll(SHELL); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== VERSION; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function offlinePage() {
  var html = "<!doctype html><html lang=fr><meta charset=utf-8><meta name=viewport content='width=device-width'>" +
    "<title>Hors ligne</title><body style='font-family:system-ui;padding:1rem'><h1>Hors ligne</h1>" +
    "<p>Cette page n'a pas encore été ouverte sur ce téléphone. Ouvrez la page de la marche quand le réseau revient ; " +
    "ensuite, elle s'ouvrira même sans réseau.</p></body></html>";
  return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

function networkFirst(request) {
  return fetch(request).then(function (response) {
    if (response.ok && response.type === "basic") {
      var copy = response.clone();
      caches.open(VERSION).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request).then(function (hit) { return hit || offlinePage(); });
  });
}

function staleWhileRevalidate(request) {
  return caches.open(VERSION).then(function (cache) {
    return cache.match(request).then(function (hit) {
      var fresh = fetch(request).then(function (response) {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
      if (hit) { fresh.catch(function () {}); return hit; }
      return fresh;
    });
  });
}

function cacheFirst(request) {
  return caches.match(request).then(function (hit) {
    return hit || fetch(request).then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(VERSION).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Pages: navigations, and the page's own "keep me" fetch (capture.js) on its first visit.
  if (request.mode === "navigate" || request.headers.get("X-Walkapp-Keep") === "1") {
    event.respondWith(networkFirst(request));
    return;
  }
  if (url.pathname.indexOf("/static/") === 0) { event.respondWith(staleWhileRevalidate(request)); return; }
  if (url.pathname.indexOf("/photos/") === 0 && !url.pathname.endsWith("/original")) {
    event.respondWith(cacheFirst(request));
  }
});
