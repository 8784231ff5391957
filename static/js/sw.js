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
 * outbox in capture.js (IndexedDB), not this worker, is what keeps constats safe. Map tiles of
 * the walk's area have their own cache (below, "map tiles").
 *
 * Signing out or joining a walk empties the caches of pages, photos and map tiles (the previous
 * person's), keeping static files; IndexedDB, and so the outbox of unsent constats, is never touched.
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
    return Promise.all(keys.filter(function (k) { return k !== STATIC_CACHE && k !== PERSONAL_CACHE && k !== TILES_CACHE; })
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
  tileState = { area: null, sizes: {} };  // the map tiles too: they tell where the previous person walked
  return Promise.all([caches.delete(PERSONAL_CACHE), caches.delete(TILES_CACHE)]);
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

// ------------------------------------------------------------------ map tiles of the walk's area
// The walk page hands this worker its area (walkapp/tiles.py, computed by the server): the URLs
// of the tiles around the haltes at zooms 15-18, already counted and capped (the highest zoom
// dropped first), lowest zoom first; a byte cap; and a mode. This cache holds that area's tiles
// and nothing else: a new area drops the tiles of the previous walk's; signing out or joining a
// walk drops them all (forgetPersonal).
// - "area": the tiles are fetched now, TILE_FETCHES at a time, skipping those held and still
//   fresh by their cache headers; the first network failure ends the pass (the next visit
//   goes on). Only for tile servers that allow it (walkapp/settings.py refuses it for OSM's).
// - "viewed": nothing is fetched in advance; a tile of the area the map shows is kept.
// The map's requests: a tile of the area held and fresh comes from here (no request at all); a
// stale or missing one from the network, as usual, and is kept; offline, the copy held, even stale.
// Tiles outside the area go to the network as if there were no worker.
// Every tile request made here is CORS (readable: checked as an image, measured; an opaque copy
// would count megabytes of quota each), without cookies, through the browser's HTTP cache in its
// default mode (never a no-cache header; an expired tile is revalidated with If-None-Match or
// If-Modified-Since), with the site's origin as Referer: how a web page identifies itself to a
// tile server, as the browser sends its own User-Agent (a page cannot set one).
var TILES_CACHE = "walkapp-tiles-v1";
var TILES_AREA_KEY = "/sw.js?tiles-area";  // the area itself, kept beside its tiles (never fetched)
var TILE_FETCHES = 2;                      // at a time, as the tile servers' policies ask
var FETCHED_HEADER = "X-Walkapp-Fetched";  // when a tile was fetched (Date is not readable cross-origin)
var SIZE_HEADER = "X-Walkapp-Bytes";
var DEFAULT_FRESH_MS = 7 * 24 * 3600 * 1000; // no cache header: OSM's policy says keep 7 days

var tileState = null;  // {area, sizes: {url: bytes}}, read back from the cache when the worker restarts

function tilesLoaded() {
  if (tileState) return Promise.resolve(tileState);
  return caches.open(TILES_CACHE).then(function (cache) {
    return cache.keys().then(function (keys) {
      var state = { area: null, sizes: {} };
      var areaUrl = new URL(TILES_AREA_KEY, self.location.origin).href;
      return Promise.all(keys.map(function (key) {
        return cache.match(key).then(function (response) {
          if (!response) return null;
          if (key.url === areaUrl) return response.json().then(function (data) { state.area = readArea(data); });
          state.sizes[key.url] = Number(response.headers.get(SIZE_HEADER)) || 0;
          return null;
        });
      })).then(function () {
        if (!tileState) tileState = state;
        return tileState;
      });
    });
  });
}

function readArea(data) {
  var list = (data.tiles || []).map(function (u) { return new URL(u, self.location.origin).href; });
  var urls = {};
  list.forEach(function (u) { urls[u] = true; });
  return { mode: data.mode, maxBytes: Number(data.max_bytes) || 0, list: list, urls: urls };
}

function fresh(response) {
  var control = response.headers.get("Cache-Control") || "";
  var fetched = Number(response.headers.get(FETCHED_HEADER)) || 0;
  if (/no-cache|no-store/i.test(control)) return false;
  var maxAge = /(?:^|[,\s])max-age=(\d+)/i.exec(control);
  if (maxAge) return Date.now() < fetched + Number(maxAge[1]) * 1000;
  var expires = Date.parse(response.headers.get("Expires") || "");
  if (!isNaN(expires)) return Date.now() < expires;
  return Date.now() < fetched + DEFAULT_FRESH_MS;
}

function fetchTile(url) {
  return fetch(url, { mode: "cors", credentials: "omit", cache: "default",
                      referrerPolicy: "strict-origin-when-cross-origin" });
}

// Keeps a tile of the current area if it is an image, its server lets it be stored, and the
// area's bytes allow it.
function keepTile(cache, url, response) {
  var area = tileState.area;
  if (!area || !area.urls[url] || !response.ok || !/^image\//i.test(response.headers.get("Content-Type") || "") ||
      /no-store/i.test(response.headers.get("Cache-Control") || "")) {
    return Promise.resolve();
  }
  return response.blob().then(function (blob) {
    var sizes = tileState.sizes;
    var held = Object.keys(sizes).reduce(function (sum, u) { return u === url ? sum : sum + sizes[u]; }, 0);
    if (tileState.area !== area || held + blob.size > area.maxBytes) return null;
    var headers = new Headers(response.headers);
    headers.set(FETCHED_HEADER, String(Date.now()));
    headers.set(SIZE_HEADER, String(blob.size));
    sizes[url] = blob.size;
    return cache.put(url, new Response(blob, { status: 200, statusText: "OK", headers: headers }));
  });
}

function fetchArea(cache, area) {
  return Promise.all(area.list.map(function (url) {
    if (tileState.sizes[url] === undefined) return url;
    return cache.match(url).then(function (hit) { return hit && fresh(hit) ? null : url; });
  })).then(function (due) {
    var queue = due.filter(Boolean), offline = false;
    function next() {
      if (offline || tileState.area !== area || !queue.length) return Promise.resolve();
      var url = queue.shift();
      return fetchTile(url).then(function (response) { return keepTile(cache, url, response); },
                                 function () { offline = true; }).then(next);
    }
    var workers = [];
    for (var i = 0; i < TILE_FETCHES; i++) workers.push(next());
    return Promise.all(workers);
  });
}

// Resolves with how many of the area's tiles are held now.
function keepArea(data) {
  return tilesLoaded().then(function () {
    var area = readArea(data);
    tileState.area = area;
    return caches.open(TILES_CACHE).then(function (cache) {
      var gone = Object.keys(tileState.sizes).filter(function (u) { return !area.urls[u]; });
      gone.forEach(function (u) { delete tileState.sizes[u]; });
      return Promise.all([cache.put(TILES_AREA_KEY, new Response(JSON.stringify(data),
        { headers: { "Content-Type": "application/json" } }))].concat(gone.map(function (u) { return cache.delete(u); })))
        .then(function () { return area.mode === "area" ? fetchArea(cache, area) : null; })
        .then(function () { return area.list.filter(function (u) { return tileState.sizes[u] !== undefined; }).length; });
    });
  });
}

function tile(request) {
  return tilesLoaded().then(function () {
    var url = request.url, area = tileState.area;
    if (!area || !area.urls[url]) return fetch(request);
    return caches.open(TILES_CACHE).then(function (cache) {
      return cache.match(url).then(function (hit) {
        if (hit && fresh(hit)) return hit;
        return fetchTile(url).then(function (response) {
          keepTile(cache, url, response.clone()).catch(function () {});
          return response;
        }, function () {
          // Offline: the copy held, even stale. A server without CORS: the request as the page made it.
          return hit || fetch(request);
        });
      });
    });
  }, function () { return fetch(request); });
}

self.addEventListener("message", function (event) {
  if (event.data === "forget-personal") event.waitUntil(forgetPersonal());
  else if (event.data && event.data.type === "tiles" && event.data.area) {
    // The page learns how many are kept (capture.js: #field[data-tiles-kept]).
    var client = event.source, wanted = (event.data.area.tiles || []).length;
    event.waitUntil(keepArea(event.data.area).then(function (kept) {
      if (client) client.postMessage({ type: "tiles-kept", kept: kept, wanted: wanted });
    }));
  }
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) {
    // Another site: only the map's tile server (the CSP lets no other host in).
    if (request.method === "GET" && request.destination === "image") event.respondWith(tile(request));
    return;
  }
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
  if (url.pathname.indexOf(PATHS.photoPrefix) === 0) {
    if (!url.pathname.endsWith(PATHS.originalSuffix)) event.respondWith(cacheFirst(request));
    return;
  }
  // The site's own tiles (a relative WALKAPP_TILES_URL).
  if (request.destination === "image") event.respondWith(tile(request));
});
