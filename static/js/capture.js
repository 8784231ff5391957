/* walkapp: making constats on the walk, with or without network.
 *
 * Every constat goes to the outbox first (IndexedDB), then leaves from there: online it leaves at
 * once, offline it waits, survives a reload or a closed tab, and leaves by itself when the network
 * comes back. The server makes replays harmless (client_uuid), so "sent twice" is never "stored
 * twice"; a refusal that will never succeed (4xx) is shown to the person, not retried forever.
 * Photos are kept as ArrayBuffers, not Blobs: iOS Safari has lost Blobs stored in IndexedDB.
 */
(function () {
  "use strict";

  var root = document.getElementById("field");
  if (!root) return;
  var walkId = Number(root.dataset.walkId);
  // The app's URLs come from the page (built from route names): `{walk_id}` is filled per entry.
  var OBSERVATIONS_URL = root.dataset.observationsUrl;
  var CSRF_URL = root.dataset.csrfUrl;
  var SERVICE_WORKER_URL = root.dataset.serviceWorkerUrl;
  var DB_NAME = "walkapp";
  var STORE = "outbox";
  var MAX_BACKOFF_S = 300;

  // ------------------------------------------------------------------ the outbox (IndexedDB)

  var dbPromise = null;
  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore(STORE, { keyPath: "client_uuid" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function withStore(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var result = work(tx.objectStore(STORE));
        tx.oncomplete = function () { resolve(result && "result" in result ? result.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error || new Error("transaction aborted")); };
      });
    });
  }

  var outbox = {
    put: function (entry) { return withStore("readwrite", function (s) { return s.put(entry); }); },
    remove: function (key) { return withStore("readwrite", function (s) { return s.delete(key); }); },
    get: function (key) { return withStore("readonly", function (s) { return s.get(key); }); },
    all: function () { return withStore("readonly", function (s) { return s.getAll(); }); }
  };

  function newUuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ------------------------------------------------------------------ sending

  var progress = {};  // client_uuid -> percent, while an upload runs
  var sending = false;

  function freshCsrfToken() {
    // The page may come from the service worker's cache, hours old: ask for a current token.
    return fetch(CSRF_URL, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("csrf " + r.status); return r.json(); })
      .then(function (body) { return body.token; });
  }

  function upload(entry, token) {
    return new Promise(function (resolve) {
      var form = new FormData();
      form.append("client_uuid", entry.client_uuid);
      Object.keys(entry.fields).forEach(function (name) {
        var value = entry.fields[name];
        if (value !== null && value !== undefined && value !== "") form.append(name, value);
      });
      entry.photos.forEach(function (p) {
        form.append("photos", new Blob([p.buffer], { type: p.type || "application/octet-stream" }), p.name || "photo.jpg");
      });
      var xhr = new XMLHttpRequest();
      xhr.open("POST", OBSERVATIONS_URL.replace("{walk_id}", entry.walk_id));
      // The participant's own token when the entry has one: it still leaves after a sign-out or
      // once this phone joined another walk (the session then no longer names this participant).
      if (entry.token) xhr.setRequestHeader("Authorization", "Bearer " + entry.token);
      else xhr.setRequestHeader("X-CSRFToken", token);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable) { progress[entry.client_uuid] = Math.round(100 * e.loaded / e.total); renderOutbox(); }
      };
      xhr.onload = function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: a proxy's page */ }
        resolve({ status: xhr.status, body: body });
      };
      xhr.onerror = xhr.ontimeout = function () { resolve({ status: 0, body: null }); };
      xhr.timeout = 120000;
      xhr.send(form);
    });
  }

  function retryable(status) {
    return status === 0 || status === 408 || status === 429 || status >= 500;
  }

  function sendOne(entry, token) {
    return upload(entry, token).then(function (result) {
      delete progress[entry.client_uuid];
      if (result.status === 200 || result.status === 201) {
        return outbox.remove(entry.client_uuid).then(function () { return "sent"; });
      }
      if (retryable(result.status)) {
        entry.attempts = (entry.attempts || 0) + 1;
        var wait = Math.min(MAX_BACKOFF_S, Math.pow(2, entry.attempts)) * (0.75 + Math.random() / 2);
        entry.next_attempt = Date.now() + wait * 1000;
        return outbox.put(entry).then(function () { return "later"; });
      }
      entry.state = "failed";
      entry.error = (result.body && result.body.detail) || ("Envoi refusé (" + result.status + ").");
      return outbox.put(entry).then(function () { return "failed"; });
    });
  }

  function sendDue(force) {
    if (sending) return Promise.resolve();
    sending = true;
    var run = function () {
      return outbox.all().then(function (entries) {
        var due = entries.filter(function (e) {
          return e.state !== "failed" && (force || !e.next_attempt || e.next_attempt <= Date.now());
        });
        if (!due.length) return;
        return freshCsrfToken().then(function (token) {
          // One at a time: on a weak connection parallel uploads only slow each other down.
          var chain = Promise.resolve(), sent = 0;
          due.forEach(function (entry) {
            chain = chain.then(function () { return sendOne(entry, token); })
              .then(function (outcome) { if (outcome === "sent") sent++; renderOutbox(); });
          });
          return chain.then(function () {
            if (!sent) return;
            announce(sent > 1 ? sent + " constats envoyés." : "Constat envoyé.");
            refreshFeed();
          });
        }, function () { /* no network yet: the entries stay due, the timer comes back */ });
      });
    };
    // Two tabs must not send the same entry at the same moment (harmless, but wasteful).
    var locked = navigator.locks ? navigator.locks.request("walkapp-outbox", run) : run();
    return Promise.resolve(locked).catch(function () {}).then(function () { sending = false; renderOutbox(); });
  }

  function refreshFeed() {
    var live = document.getElementById("live");
    if (live && window.htmx) window.htmx.trigger(live, "refresh");
  }

  // ------------------------------------------------------------------ the outbox on screen

  var outboxEl = document.getElementById("outbox");

  function renderOutbox() {
    return outbox.all().then(function (entries) {
      entries = entries.filter(function (e) { return e.walk_id === walkId; });
      outboxEl.textContent = "";
      if (!entries.length) return;
      var title = document.createElement("h2");
      title.textContent = entries.length + (entries.length > 1 ? " constats en attente d'envoi" : " constat en attente d'envoi");
      outboxEl.appendChild(title);
      var list = document.createElement("ul");
      list.className = "outbox-list";
      entries.sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; }).forEach(function (entry) {
        var item = document.createElement("li");
        item.className = "outbox-item " + (entry.state === "failed" ? "failed" : "pending");
        item.dataset.clientUuid = entry.client_uuid;
        var text = document.createElement("p");
        var when = new Date(entry.created_at).toLocaleTimeString("fr-FR", { hour: "2-digit", minute: "2-digit" });
        text.textContent = issueLabel(entry.fields.issue) + " · " + when + " · " + entry.photos.length + " photo(s) · ";
        var state = document.createElement("strong");
        if (entry.state === "failed") state.textContent = "non envoyé : " + entry.error;
        else if (progress[entry.client_uuid] !== undefined) state.textContent = "envoi… " + progress[entry.client_uuid] + " %";
        else state.textContent = "en attente d'envoi";
        text.appendChild(state);
        item.appendChild(text);
        if (progress[entry.client_uuid] !== undefined) {
          var bar = document.createElement("progress");
          bar.max = 100; bar.value = progress[entry.client_uuid];
          bar.setAttribute("aria-label", "Envoi du constat");
          item.appendChild(bar);
        }
        if (entry.state === "failed") {
          item.appendChild(button("Corriger", function () { editEntry(entry.client_uuid); }));
          item.appendChild(button("Abandonner", function () {
            if (confirm("Abandonner ce constat et ses photos ?")) outbox.remove(entry.client_uuid).then(renderOutbox);
          }, "danger"));
        }
        list.appendChild(item);
      });
      outboxEl.appendChild(list);
    }).catch(function () { /* IndexedDB unavailable: nothing waits */ });
  }

  function button(label, onClick, extra) {
    var b = document.createElement("button");
    b.type = "button"; b.className = "button secondary small " + (extra || ""); b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function issueLabel(code) {
    var input = form.querySelector('input[name="issue"][value="' + code + '"]');
    var strong = input && input.parentNode.querySelector("strong");
    return strong ? strong.textContent : code;
  }

  // ------------------------------------------------------------------ the form

  var form = document.getElementById("constat-form");
  var openButton = document.getElementById("new-constat");
  var errorEl = document.getElementById("form-error");
  var previews = document.getElementById("photo-previews");
  var positionStatus = document.getElementById("position-status");
  var chosenPhotos = [];  // {name, type, buffer}
  var position = null;    // {lat, lon, accuracy, source}
  var editing = null;     // client_uuid of a refused entry being corrected
  var watchId = null;
  var map = null, marker = null;

  function openForm() {
    form.hidden = false;
    if (openButton) openButton.setAttribute("aria-expanded", "true");
    var live = document.getElementById("live");
    var current = live && live.dataset.currentStop;
    if (current && !editing) form.elements.stop_id.value = current;
    startPosition();
    form.querySelector("h2").scrollIntoView({ block: "start" });
  }

  function closeForm() {
    form.hidden = true;
    if (openButton) { openButton.setAttribute("aria-expanded", "false"); openButton.focus(); }
    stopPosition();
  }

  function resetForm() {
    form.reset();
    chosenPhotos = [];
    editing = null;
    position = null;
    errorEl.textContent = "";
    renderPreviews();
  }

  function renderPreviews() {
    previews.textContent = "";
    chosenPhotos.forEach(function (photo, index) {
      var li = document.createElement("li");
      var img = document.createElement("img");
      var url = URL.createObjectURL(new Blob([photo.buffer], { type: photo.type }));
      img.src = url; img.alt = "Photo " + (index + 1); img.onload = function () { URL.revokeObjectURL(url); };
      li.appendChild(img);
      li.appendChild(button("Retirer", function () { chosenPhotos.splice(index, 1); renderPreviews(); }));
      previews.appendChild(li);
    });
  }

  function addFiles(fileList) {
    var files = Array.prototype.slice.call(fileList || []);
    return Promise.all(files.map(function (file) {
      return file.arrayBuffer().then(function (buffer) {
        return { name: file.name || "photo.jpg", type: file.type || "image/jpeg", buffer: buffer };
      });
    })).then(function (photos) {
      chosenPhotos = chosenPhotos.concat(photos).slice(0, 8);
      renderPreviews();
    });
  }

  ["photo-camera", "photo-gallery"].forEach(function (id) {
    var input = document.getElementById(id);
    input.addEventListener("change", function () { addFiles(input.files).then(function () { input.value = ""; }); });
  });

  // Position: the phone's, shown with its accuracy; the pin can be dragged (then it is "manual").
  function showPosition() {
    if (!position) return;
    var text = position.source === "manual" ? "Position corrigée à la main"
      : "Position du téléphone : précision ± " + Math.round(position.accuracy) + " m";
    positionStatus.textContent = text;
    if (!window.L) return;
    if (!map) {
      map = L.map("mini-map", { zoomControl: true, attributionControl: true }).setView([position.lat, position.lon], 18);
      var tiles = L.tileLayer(root.dataset.tilesUrl, { maxZoom: 19, attribution: root.dataset.tilesAttribution });
      tiles.on("tileerror", function () { positionStatus.dataset.noTiles = "1"; });
      tiles.addTo(map);
      marker = L.marker([position.lat, position.lon], { draggable: true, keyboard: true, title: "Position du constat" }).addTo(map);
      marker.on("dragend", function () {
        var p = marker.getLatLng();
        position = { lat: p.lat, lon: p.lng, accuracy: null, source: "manual" };
        showPosition();
      });
    } else if (position.source !== "manual") {
      marker.setLatLng([position.lat, position.lon]);
      map.setView([position.lat, position.lon]);
    }
  }

  function startPosition() {
    if (!navigator.geolocation) {
      positionStatus.textContent = "Position indisponible : on prendra celle de la photo, sinon la halte en cours.";
      return;
    }
    watchId = navigator.geolocation.watchPosition(function (p) {
      if (position && position.source === "manual") return;
      position = { lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy, source: "device" };
      showPosition();
      if (map) map.invalidateSize();
    }, function () {
      if (!position) positionStatus.textContent = "Position indisponible : on prendra celle de la photo, sinon la halte en cours.";
    }, { enableHighAccuracy: true, maximumAge: 10000, timeout: 20000 });
  }

  function stopPosition() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
  }

  function checked(name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? input.value : "";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var problems = [];
    if (!checked("issue")) problems.push("choisissez un enjeu");
    if (!checked("angle")) problems.push("choisissez un angle d'analyse");
    if (problems.length) {
      errorEl.textContent = "Constat non enregistré : " + problems.join(" et ") + ".";
      errorEl.focus();
      return;
    }
    var entry = {
      client_uuid: editing || newUuid(),
      walk_id: walkId,
      token: root.dataset.participantToken || null,
      created_at: new Date().toISOString(),
      attempts: 0, next_attempt: 0, state: "pending", error: null,
      fields: {
        issue: checked("issue"), angle: checked("angle"), polarity: checked("polarity") || "negative",
        description: form.elements.description.value, street: form.elements.street.value,
        stop_id: form.elements.stop_id.value,
        lat: position ? position.lat : "", lon: position ? position.lon : "",
        accuracy_m: position && position.accuracy !== null ? position.accuracy : "",
        location_source: position ? position.source : "",
        observed_at: new Date().toISOString()
      },
      photos: chosenPhotos
    };
    outbox.put(entry).then(function () {
      resetForm();
      closeForm();
      announce("Constat enregistré sur le téléphone" + (navigator.onLine ? ", envoi en cours." : " : il partira au retour du réseau."));
      return renderOutbox();
    }).then(function () { sendDue(true); }, function () {
      // No IndexedDB (private browsing on some phones): the form keeps everything; say so.
      errorEl.textContent = "Ce navigateur ne peut pas garder le constat hors ligne (navigation privée ?). Réessayez en navigation normale.";
      errorEl.focus();
    });
  });

  function editEntry(uuid) {
    outbox.get(uuid).then(function (entry) {
      if (!entry) return;
      resetForm();
      editing = entry.client_uuid;
      ["issue", "angle", "polarity"].forEach(function (name) {
        var input = form.querySelector('input[name="' + name + '"][value="' + entry.fields[name] + '"]');
        if (input) input.checked = true;
      });
      form.elements.description.value = entry.fields.description || "";
      form.elements.street.value = entry.fields.street || "";
      if (entry.fields.stop_id) form.elements.stop_id.value = entry.fields.stop_id;
      if (entry.fields.lat !== "") position = { lat: Number(entry.fields.lat), lon: Number(entry.fields.lon), accuracy: Number(entry.fields.accuracy_m) || null, source: entry.fields.location_source || "device" };
      chosenPhotos = entry.photos;
      renderPreviews();
      errorEl.textContent = entry.error || "";
      openForm();
      showPosition();
    });
  }

  if (openButton) openButton.addEventListener("click", function () { resetForm(); openForm(); });
  document.getElementById("cancel-constat").addEventListener("click", function () { resetForm(); closeForm(); });

  // ------------------------------------------------------------------ network state

  var network = document.getElementById("network");
  function announce(text) { network.hidden = false; network.textContent = text; }
  function showNetwork() {
    if (navigator.onLine) { network.hidden = true; network.textContent = ""; }
    else announce("Hors ligne : vos constats restent sur le téléphone et partiront au retour du réseau.");
  }
  window.addEventListener("online", function () { showNetwork(); sendDue(true); });
  window.addEventListener("offline", showNetwork);
  showNetwork();

  // ------------------------------------------------------------------ start

  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(function () {});
  if ("serviceWorker" in navigator) {
    // Once the worker controls this page, fetch the page through it once so that its cache holds
    // this walk now, not only after a second visit: the next reload may be the offline one.
    var keepThisPage = function () { fetch(location.href, { credentials: "same-origin", headers: { "X-Walkapp-Keep": "1" } }).catch(function () {}); };
    navigator.serviceWorker.register(SERVICE_WORKER_URL, { scope: "/" }).then(function () {
      if (navigator.serviceWorker.controller) keepThisPage();
      else navigator.serviceWorker.addEventListener("controllerchange", keepThisPage, { once: true });
    }).catch(function () {});
  }
  renderOutbox().then(function () { sendDue(false); });
  setInterval(function () { sendDue(false); }, 5000);
})();
