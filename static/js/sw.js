/* walkapp service worker: the walk page and its form open with no network once visited.
 *
 * What it keeps is an allow-list, nothing else: the field page of a walk (for a participant),
 * static files, and photos. Anything the server marks "no-store" (every answer to a signed-in
 * staff user: walkapp/headers.py) is never kept, and a stale copy of it is dropped.
 * Pages: network first, the last good copy when offline. Static files: their URLs carry a
 * version (?v=, walkapp/caching.py): a version kept is served from the cache, a new one is
 * fetched and replaces the older copies of that file; offline, any copy of the file will do;
 * unversioned ones (the install list, what CSS refers to) are served from the cache and
 * refreshed behind (stale-while-revalidate). Photos: cache first (their URLs never change
 * content). Everything else (the API, the feed polls, POSTs) goes to the network only: the
 * outbox in capture.js (IndexedDB), not this worker, is what keeps constats safe.
 *
 * Signing out or joining a walk empties the cache of pages and photos (the previous person's),
 * keeping static files; IndexedDB, and so the outbox of unsent constats, is never touched.
 */
var VERSION = "walkapp-v3";
var STATIC_CACHE = VERSION + "-static";
var PERSONAL_CACHE = VERSION + "-personal";  // pages and photos of the person using the phone
// The app's URLs this worker must recognise, written once here: sw.js is a static file served
// as /sw.js, so no page can hand them to it. Each names its route (walkapp/urls.py);
// tests/test_urls.py checks them against the routes, so a renamed URL fails a test, not phones.
var PATHS = {
  fieldPage: /^\/marches\/\d+\/terrain$/,  // route "field.page": the only page kept
  signOut: "/deconnexion",                  // route "sign_out"
  joinPrefix: "/j/",                        // route "join"
  staticPrefix: "/static/",                 // the static files (the SHELL below)
  photoPrefix: "/photos/",                  // route "photo"
  originalSuffix: "/original"               // route "photo", variant "original": never kept
};
var SHELL = [
  "/static/css/app.css",
  "/static/js/capture.js",
  "/static/js/feed.js",
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
  event.waitUntil(caches.open(STATIC_CACHE).then(function (cache) { return cache.addAll(SHELL); }).then(function () {
    return self.skipWaiting();
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    // Older versions kept every page, staff pages included: they all go.
    return Promise.all(keys.filter(function (k) { return k !== STATIC_CACHE && k !== PERSONAL_CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

// Offline, a page never kept here answers a styled "Hors ligne" page (the cached app.css) with a
// way back to the walk this phone last kept: the page that works offline.
function offlinePage() {
  return caches.open(PERSONAL_CACHE).then(function (cache) { return cache.keys(); }).then(function (requests) {
    var walks = requests.map(function (r) { return new URL(r.url).pathname; })
      .filter(function (path) { return PATHS.fieldPage.test(path); });
    var back = walks.length
      ? "<p><a class='button big' href='" + walks[walks.length - 1] + "'>Revenir à la marche</a></p>"
      : "<p>Ouvrez la page de la marche quand le réseau revient ; ensuite, elle s'ouvrira même sans réseau.</p>";
    var html = "<!doctype html><html lang=fr><meta charset=utf-8>" +
      "<meta name=viewport content='width=device-width, initial-scale=1'>" +
      "<link rel=stylesheet href='" + PATHS.staticPrefix + "css/app.css'><title>Hors ligne</title>" +
      "<body><header class=topbar><span class=brand>walkapp</span></header><main>" +
      "<h1>Hors ligne</h1><p class='network'>Cette page a besoin du réseau. Les constats faits sur la " +
      "page de la marche restent sur ce téléphone et partiront au retour du réseau.</p>" + back +
      "</main></body></html>";
    return new Response(html, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
  });
}

function storable(response) {
  return response.ok && response.type === "basic" && !/no-store/i.test(response.headers.get("Cache-Control") || "");
}

function networkFirst(request) {
  return fetch(request).then(function (response) {
    var copy = response.clone();
    caches.open(PERSONAL_CACHE).then(function (cache) {
      return storable(copy) ? cache.put(request, copy) : cache.delete(request);
    });
    return response;
  }).catch(function () {
    return caches.match(request, { cacheName: PERSONAL_CACHE }).then(function (hit) { return hit || offlinePage(); });
  });
}

function forgetPersonal() {
  return caches.delete(PERSONAL_CACHE);
}

// Sign-out and joining a walk change who uses the phone: their pages and photos go first, before
// the answer (and the page it leads to) reaches the browser.
function throughAndForget(request) {
  return fetch(request).then(function (response) {
    return forgetPersonal().then(function () { return response; });
  });
}

// The copies of a file under other versions (?v=…) than this request's: replaced by it.
function forgetOtherVersions(cache, request) {
  var url = new URL(request.url);
  return cache.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) {
      var kept = new URL(key.url);
      return kept.pathname === url.pathname && kept.search && kept.search !== url.search;
    }).map(function (key) { return cache.delete(key); }));
  });
}

function staticFile(request) {
  var versioned = new URL(request.url).searchParams.has("v");
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      if (hit && versioned) return hit;  // this version's bytes never change
      var fresh = fetch(request).then(function (response) {
        if (response.ok) {
          cache.put(request, response.clone());
          if (versioned) forgetOtherVersions(cache, request);
        }
        return response;
      });
      if (hit) { fresh.catch(function () {}); return hit; }
      return fresh.catch(function () {
        // Offline with a new version asked: the copy of the file we have is better than none.
        return cache.match(request, { ignoreSearch: true }).then(function (any) { return any || Response.error(); });
      });
    });
  });
}

function cacheFirst(request) {
  return caches.match(request, { cacheName: PERSONAL_CACHE }).then(function (hit) {
    return hit || fetch(request).then(function (response) {
      if (storable(response)) {
        var copy = response.clone();
        caches.open(PERSONAL_CACHE).then(function (cache) { cache.put(request, copy); });
      }
      return response;
    });
  });
}

self.addEventListener("message", function (event) {
  if (event.data === "forget-personal") event.waitUntil(forgetPersonal());
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST") {
    if (url.pathname === PATHS.signOut || url.pathname.indexOf(PATHS.joinPrefix) === 0) {
      event.respondWith(throughAndForget(request));
    }
    return;
  }
  if (request.method !== "GET") return;
  // Pages: the field page only, as a navigation or the page's own "keep me" fetch (capture.js).
  if (request.mode === "navigate" || request.headers.get("X-Walkapp-Keep") === "1") {
    if (PATHS.fieldPage.test(url.pathname)) event.respondWith(networkFirst(request));
    // Other pages are never kept: straight to the network, the "Hors ligne" page when it fails.
    else if (request.mode === "navigate") event.respondWith(fetch(request).catch(offlinePage));
    return;
  }
  if (url.pathname.indexOf(PATHS.staticPrefix) === 0) { event.respondWith(staticFile(request)); return; }
  if (url.pathname.indexOf(PATHS.photoPrefix) === 0 && !url.pathname.endsWith(PATHS.originalSuffix)) {
    event.respondWith(cacheFirst(request));
  }
});
