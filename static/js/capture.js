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
  // The walk's map tiles for the service worker to keep (walkapp/tiles.py); null: none.
  var TILES_AREA = root.dataset.tilesArea ? JSON.parse(root.dataset.tilesArea) : null;
  var DB_NAME = "walkapp";
  var STORE = "outbox";
  var DRAFTS = "drafts";  // the open form of each walk, so that a reload loses nothing
  var MAX_BACKOFF_S = 300;

  // ------------------------------------------------------------------ the outbox (IndexedDB)

  var dbPromise = null;
  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, 2);
        request.onupgradeneeded = function () {
          var db = request.result;
          if (!db.objectStoreNames.contains(STORE)) db.createObjectStore(STORE, { keyPath: "client_uuid" });
          if (!db.objectStoreNames.contains(DRAFTS)) db.createObjectStore(DRAFTS, { keyPath: "walk_id" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  function withStore(mode, work, storeName) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(storeName || STORE, mode);
        var result = work(tx.objectStore(storeName || STORE));
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

  var drafts = {
    put: function (draft) { return withStore("readwrite", function (s) { return s.put(draft); }, DRAFTS); },
    remove: function () { return withStore("readwrite", function (s) { return s.delete(walkId); }, DRAFTS); },
    get: function () { return withStore("readonly", function (s) { return s.get(walkId); }, DRAFTS); }
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
            announce(sent > 1 ? sent + " constats envoyés." : "Constat envoyé.", "ok");
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
      pendingHere = entries.length;
      showNetwork();
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
        var what = entry.revisit ? "Revoir " + entry.revisit.label + " · " + outcomeLabel(entry.fields.outcome)
          : issueLabel(entry.fields.issue);
        text.textContent = what + " · " + when + " · " + entry.photos.length + " photo(s) · ";
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

  function outcomeLabel(code) {
    var input = form.querySelector('input[name="outcome"][value="' + code + '"]');
    var strong = input && input.parentNode.querySelector("strong");
    return strong ? strong.textContent : code;
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
  var photoError = document.getElementById("photo-error");
  var previews = document.getElementById("photo-previews");
  var positionStatus = document.getElementById("position-status");
  var positionDetails = document.getElementById("position-details");
  var cancelAsk = document.getElementById("cancel-ask");
  var stopHint = document.getElementById("stop-hint");
  var chosenPhotos = [];  // {name, type, buffer}
  var position = null;    // {lat, lon, accuracy, source}
  var editing = null;     // client_uuid of a refused entry being corrected
  var stopChosen = false; // the person picked the halte: the position no longer suggests one
  var revisit = null;     // a re-visit (follow-up walk): {id, label, text, photo} of the earlier constat
  var watchId = null;
  var map = null, marker = null;

  function openForm() {
    var wasOpen = !form.hidden;
    form.hidden = false;
    if (openButton) openButton.setAttribute("aria-expanded", "true");
    // A second tap on "Nouveau constat" only brings the open form back into view: it never wipes it.
    if (!wasOpen) {
      var live = document.getElementById("live");
      var current = live && live.dataset.currentStop;
      if (current && !editing && !stopChosen) form.elements.stop_id.value = current;
      startPosition();
    }
    form.querySelector("h2").scrollIntoView({ block: "start" });
  }

  function closeForm() {
    form.hidden = true;
    cancelAsk.hidden = true;
    if (openButton) { openButton.setAttribute("aria-expanded", "false"); openButton.focus(); }
    stopPosition();
  }

  function resetForm() {
    form.reset();
    chosenPhotos = [];
    editing = null;
    position = null;
    stopChosen = false;
    setRevisit(null);
    errorEl.textContent = "";
    photoError.textContent = "";
    stopHint.textContent = "";
    form.elements.description.dispatchEvent(new Event("input", { bubbles: true }));  // the counter
    renderPreviews();
  }

  function somethingEntered() {
    if (revisit) return chosenPhotos.length > 0 || form.elements.description.value.trim() !== "" || checked("outcome") !== "";
    return chosenPhotos.length > 0 || form.elements.description.value.trim() !== "" ||
      ["issue", "angle", "polarity"].some(function (name) { return checked(name) !== ""; });
  }

  // ---- the draft: what the form holds, kept in IndexedDB (photos as ArrayBuffers, as the outbox)

  var draftTimer = null;
  function saveDraftSoon() {
    clearTimeout(draftTimer);
    draftTimer = setTimeout(saveDraft, 250);
  }

  function saveDraft() {
    if (form.hidden || !somethingEntered()) return drafts.remove().catch(function () {});
    return drafts.put({
      walk_id: walkId, editing: editing, stop_chosen: stopChosen, revisit: revisit,
      fields: {
        issue: checked("issue"), angle: checked("angle"), polarity: checked("polarity"), outcome: checked("outcome"),
        description: form.elements.description.value, street: form.elements.street.value,
        stop_id: form.elements.stop_id.value
      },
      photos: chosenPhotos
    }).catch(function () { /* no IndexedDB: the form still works, only the reload loses it */ });
  }

  function dropDraft() {
    clearTimeout(draftTimer);
    return drafts.remove().catch(function () {});
  }

  function fillForm(fields) {
    ["issue", "angle", "polarity", "outcome"].forEach(function (name) {
      var input = form.querySelector('input[name="' + name + '"][value="' + fields[name] + '"]');
      if (input) input.checked = true;
    });
    form.elements.description.value = fields.description || "";
    form.elements.description.dispatchEvent(new Event("input", { bubbles: true }));
    form.elements.street.value = fields.street || "";
    if (fields.stop_id) form.elements.stop_id.value = fields.stop_id;
  }

  function restoreDraft() {
    return drafts.get().then(function (draft) {
      if (!draft) return;
      editing = draft.editing || null;
      stopChosen = !!draft.stop_chosen;
      setRevisit(draft.revisit || null);
      fillForm(draft.fields);
      chosenPhotos = draft.photos || [];
      renderPreviews();
      openForm();
    }).catch(function () {});
  }

  form.addEventListener("input", saveDraftSoon);
  form.addEventListener("change", saveDraftSoon);

  // ---- photos

  // Checked by their first bytes, as the server does (walkapp/photos.py: JPEG, PNG, WebP, HEIC), so
  // that a wrong file is refused here and now rather than after it waited in the outbox.
  function photoKind(buffer) {
    var b = new Uint8Array(buffer.slice(0, 12));
    var ascii = function (from, to) { return String.fromCharCode.apply(null, b.slice(from, to)); };
    if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "jpeg";
    if (b[0] === 0x89 && ascii(1, 4) === "PNG") return "png";
    if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
    if (ascii(4, 8) === "ftyp" && /^(heic|heix|hevc|heim|heis|hevm|hevs|mif1|msf1|avif)$/.test(ascii(8, 12))) return "heic";
    return null;
  }

  function renderPreviews() {
    previews.textContent = "";
    chosenPhotos.forEach(function (photo, index) {
      var li = document.createElement("li");
      if (photoKind(photo.buffer) === "heic") {
        // Browsers other than Safari cannot draw HEIC: a chip, not a broken image; the server converts it.
        var chip = document.createElement("span");
        chip.className = "file-chip";
        chip.textContent = "Photo " + (index + 1) + " : photo HEIC — aperçu indisponible";
        li.appendChild(chip);
      } else {
        var img = document.createElement("img");
        var url = URL.createObjectURL(new Blob([photo.buffer], { type: photo.type }));
        img.src = url; img.alt = "Photo " + (index + 1); img.onload = function () { URL.revokeObjectURL(url); };
        li.appendChild(img);
      }
      li.appendChild(button("Retirer", function () { chosenPhotos.splice(index, 1); renderPreviews(); saveDraftSoon(); }));
      previews.appendChild(li);
    });
  }

  function addFiles(fileList) {
    var files = Array.prototype.slice.call(fileList || []);
    return Promise.all(files.map(function (file) {
      return file.arrayBuffer().then(function (buffer) {
        var name = file.name || "photo.jpg";
        if (!photoKind(buffer)) return { refused: name };
        return { name: name, type: file.type || "image/jpeg", buffer: buffer };
      });
    })).then(function (photos) {
      var refused = photos.filter(function (p) { return p.refused; }).map(function (p) { return "« " + p.refused + " »"; });
      photoError.textContent = refused.length ? refused.join(", ") + (refused.length > 1 ? " ne sont pas des photos" : " n'est pas une photo") +
        " : choisissez une image JPEG, PNG, WebP ou HEIC." : "";
      chosenPhotos = chosenPhotos.concat(photos.filter(function (p) { return !p.refused; })).slice(0, 8);
      renderPreviews();
      saveDraftSoon();
    });
  }

  ["photo-camera", "photo-gallery"].forEach(function (id) {
    var input = document.getElementById(id);
    input.addEventListener("change", function (event) {
      event.stopPropagation();  // the draft is saved once the photos are read, not before
      addFiles(input.files).then(function () { input.value = ""; });
    });
  });

  // ---- position, and the halte nearest to it

  function showPosition() {
    if (!position) return;
    var text = position.source === "manual" ? "Position corrigée à la main"
      : "Position du téléphone : précision ± " + Math.round(position.accuracy) + " m";
    positionStatus.textContent = text;
    suggestStop();
    if (!window.L) return;
    if (!map) {
      // At the highest zoom the phone keeps offline (18 unless the area's cap dropped it).
      var zoom = TILES_AREA ? TILES_AREA.zoom : 18;
      map = L.map("mini-map", { zoomControl: true, attributionControl: true }).setView([position.lat, position.lon], zoom);
      // r: "" as walkapp/tiles.py writes the URLs the worker keeps (no "@2x" on a {r} server).
      var tiles = L.tileLayer(root.dataset.tilesUrl, { maxZoom: 19, r: "", attribution: root.dataset.tilesAttribution });
      tiles.on("tileerror", function () { positionStatus.dataset.noTiles = "1"; });
      tiles.addTo(map);
      if (window.walkappOutline) walkappOutline.attach(map, root); // the quartier's perimeter (data-outline)
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

  // The map sits folded: Leaflet measures it again when it is shown.
  positionDetails.addEventListener("toggle", function () {
    if (positionDetails.open && map) { map.invalidateSize(); if (position) map.setView([position.lat, position.lon]); }
  });

  function metresBetween(lat1, lon1, lat2, lon2) {
    var rad = Math.PI / 180, x = (lon2 - lon1) * rad * Math.cos((lat1 + lat2) / 2 * rad), y = (lat2 - lat1) * rad;
    return Math.sqrt(x * x + y * y) * 6371000;
  }

  function suggestStop() {
    if (stopChosen || editing || !position) return;
    var best = null;
    Array.prototype.forEach.call(form.elements.stop_id.options, function (option) {
      var lat = parseFloat(option.dataset.lat), lon = parseFloat(option.dataset.lon);
      if (isNaN(lat) || isNaN(lon)) return;
      var d = metresBetween(position.lat, position.lon, lat, lon);
      if (!best || d < best.d) best = { option: option, d: d };
    });
    if (!best) return;
    form.elements.stop_id.value = best.option.value;
    stopHint.textContent = "La plus proche (" + Math.round(best.d) + " m)";
  }

  form.elements.stop_id.addEventListener("change", function () { stopChosen = true; stopHint.textContent = ""; });

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

  // ---- sending to the outbox

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var problems = [];
    if (revisit && !checked("outcome")) problems.push("dites ce que vous constatez : Résolu, Amélioré, Inchangé ou Dégradé");
    if (!checked("issue")) problems.push("choisissez un enjeu");
    if (!checked("angle")) problems.push("choisissez un angle d'analyse");
    // The API still defaults to "negative" (its contract); a person always chooses.
    if (!checked("polarity")) problems.push("dites s'il s'agit d'un point faible ou point fort");
    if (problems.length) {
      errorEl.textContent = "Constat non enregistré : " + problems.join(", ") + ".";
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
        issue: checked("issue"), angle: checked("angle"), polarity: checked("polarity"),
        description: form.elements.description.value, street: form.elements.street.value,
        stop_id: form.elements.stop_id.value,
        lat: position ? position.lat : "", lon: position ? position.lon : "",
        accuracy_m: position && position.accuracy !== null ? position.accuracy : "",
        location_source: position ? position.source : "",
        observed_at: new Date().toISOString(),
        revisit_of: revisit ? revisit.id : "", outcome: revisit ? checked("outcome") : ""
      },
      revisit: revisit,
      photos: chosenPhotos
    };
    outbox.put(entry).then(function () {
      return dropDraft();
    }).then(function () {
      resetForm();
      closeForm();
      announce((entry.revisit ? "Constat revu, enregistré sur le téléphone" : "Constat enregistré sur le téléphone") +
        (navigator.onLine ? ", envoi en cours." : " : il partira au retour du réseau."), "ok");
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
      setRevisit(entry.revisit || null);
      fillForm(entry.fields);
      if (entry.fields.lat !== "") position = { lat: Number(entry.fields.lat), lon: Number(entry.fields.lon), accuracy: Number(entry.fields.accuracy_m) || null, source: entry.fields.location_source || "device" };
      chosenPhotos = entry.photos;
      renderPreviews();
      errorEl.textContent = entry.error || "";
      openForm();
      showPosition();
    });
  }

  if (openButton) openButton.addEventListener("click", function () {
    if (revisit && !somethingEntered()) resetForm();  // "Revoir" opened, nothing typed: a plain constat now
    openForm();
  });

  // "Annuler" asks, in the page, when something would be lost; an empty form just closes.
  function abandon() { dropDraft(); resetForm(); closeForm(); }
  document.getElementById("cancel-constat").addEventListener("click", function () {
    if (!somethingEntered()) { abandon(); return; }
    cancelAsk.hidden = false;
    document.getElementById("cancel-no").focus();
  });
  document.getElementById("cancel-yes").addEventListener("click", abandon);
  document.getElementById("cancel-no").addEventListener("click", function () {
    cancelAsk.hidden = true;
    form.querySelector('button[type="submit"]').focus();
  });

  // ------------------------------------------------------------------ follow-up walk: re-visits

  // A re-visit is a constat like the others (same outbox, same client_uuid), with revisit_of and
  // an outcome; its issue, angle and polarity start as the earlier constat's (changeable).
  var revisitPanel = document.getElementById("revisit-panel");
  var choicesBlock = document.getElementById("constat-choices");
  var formTitle = document.getElementById("constat-form-title");

  function setRevisit(value) {
    revisit = value;
    if (!revisitPanel) return;
    revisitPanel.hidden = !revisit;
    choicesBlock.hidden = !!revisit;
    document.getElementById("revisit-choices-line").hidden = false;
    form.elements.revisit_of.value = revisit ? revisit.id : "";
    formTitle.textContent = revisit ? "Revoir le constat n° " + revisit.id : "Nouveau constat";
    if (!revisit) {
      form.querySelectorAll('input[name="outcome"]').forEach(function (input) { input.checked = false; });
      return;
    }
    document.getElementById("revisit-title").textContent = revisit.label;
    document.getElementById("revisit-text").textContent = revisit.text || "";
    var img = document.getElementById("revisit-photo");
    img.hidden = !revisit.photo;
    if (revisit.photo) { img.src = revisit.photo; img.alt = "Photo d'avant du constat n° " + revisit.id; }
    document.getElementById("revisit-choices-text").textContent = "Enjeu et angle repris du constat : " +
      [issueLabel(revisit.issue), angleLabel(revisit.angle)].join(" · ") + ". ";
  }

  function angleLabel(code) {
    var input = form.querySelector('input[name="angle"][value="' + code + '"]');
    var strong = input && input.parentNode.querySelector("strong");
    return strong ? strong.textContent : code;
  }

  function startRevisit(button) {
    if (!form.hidden && somethingEntered() && !(revisit && revisit.id === button.dataset.revisitId)) {
      errorEl.textContent = "Un constat est en cours : enregistrez-le ou annulez-le avant d'en revoir un autre.";
      form.querySelector("h2").scrollIntoView({ block: "start" });
      errorEl.focus();
      return;
    }
    if (!(revisit && revisit.id === button.dataset.revisitId)) {
      resetForm();
      var d = button.dataset;
      setRevisit({ id: d.revisitId, label: d.label, text: d.text, photo: d.photo,
                   issue: d.issue, angle: d.angle, polarity: d.polarity });
      fillForm({ issue: d.issue, angle: d.angle, polarity: d.polarity });
    }
    openForm();
    var first = form.querySelector('input[name="outcome"]');
    if (first) first.focus({ preventScroll: true });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest(".revisit-button") : null;
    if (button) startRevisit(button);
  });
  var changeChoices = document.getElementById("revisit-change-choices");
  if (changeChoices) changeChoices.addEventListener("click", function () {
    choicesBlock.hidden = false;
    document.getElementById("revisit-choices-line").hidden = true;
    choicesBlock.querySelector("input").focus();
  });

  // "À revoir", nearest to the phone first (the server ordered it from the current halte).
  var fix = null, revisitWatch = null;
  function sortToRevisit() {
    var list = document.getElementById("to-revisit");
    if (!list || !fix) return;
    var items = Array.prototype.slice.call(list.querySelectorAll("li[data-revisit-id]"));
    items.forEach(function (li) {
      var lat = parseFloat(li.dataset.lat), lon = parseFloat(li.dataset.lon);
      li.dataset.distance = isNaN(lat) || isNaN(lon) ? "" : String(metresBetween(fix.lat, fix.lon, lat, lon));
      var span = li.querySelector(".distance");
      if (!span) return;
      var before = span.parentNode.textContent.replace(span.textContent, "").trim();
      span.textContent = li.dataset.distance ? (before ? " · " : "") + "à " + Math.round(Number(li.dataset.distance)) + " m de vous" : "";
    });
    items.sort(function (a, b) {
      var da = a.dataset.distance === "" ? Infinity : Number(a.dataset.distance);
      var db = b.dataset.distance === "" ? Infinity : Number(b.dataset.distance);
      return da - db || Number(a.dataset.order) - Number(b.dataset.order);
    });
    if (list.contains(document.activeElement)) return;  // never move what a person is on
    items.forEach(function (li) { list.appendChild(li); });
  }
  if (document.getElementById("to-revisit") && navigator.geolocation) {
    revisitWatch = navigator.geolocation.watchPosition(function (p) {
      fix = { lat: p.coords.latitude, lon: p.coords.longitude };
      sortToRevisit();
    }, function () {}, { enableHighAccuracy: true, maximumAge: 30000, timeout: 30000 });
  }
  document.body.addEventListener("htmx:afterSettle", sortToRevisit);

  // ------------------------------------------------------------------ the route: the current halte in view

  var shownStop = null;
  function showCurrentStop() {
    var live = document.getElementById("live");
    var chip = document.querySelector(".stops-chips li.current");
    var current = live && live.dataset.currentStop;
    if (!chip || current === shownStop) return;  // only when it changes: never fight the person's scrolling
    shownStop = current;
    var list = chip.parentNode;
    list.scrollLeft = chip.offsetLeft - Math.max(0, (list.clientWidth - chip.offsetWidth) / 2);
  }
  document.body.addEventListener("htmx:afterSettle", function () { showCurrentStop(); markStale(); });

  // ------------------------------------------------------------------ network state

  var network = document.getElementById("network");
  var pendingHere = 0;
  // navigator.onLine is not enough: a page reloaded offline from the service worker may claim to be
  // online. A request that cannot reach the server (the feed's poll, a probe at start) says so.
  var unreachable = false;
  function isOffline() { return !navigator.onLine || unreachable; }
  function reached(ok) {
    if (unreachable === !ok) return;
    unreachable = !ok;
    showNetwork();
    if (ok) { sendDue(true); refreshFeed(); }
  }
  document.body.addEventListener("htmx:sendError", function () { reached(false); });
  document.body.addEventListener("htmx:afterRequest", function (event) { if (event.detail.successful) reached(true); });
  function probe() {
    fetch(CSRF_URL, { credentials: "same-origin", cache: "no-store" })
      .then(function () { reached(true); }, function () { reached(false); });
  }
  function announce(text, kind) {
    network.hidden = false; network.textContent = text;
    network.className = "network" + (kind ? " " + kind : "");
    network.dataset.kind = kind || "";
  }
  // Offline, the group's counts and feed are those of the last visit online: say so, with what
  // this phone knows (its own constats waiting), rather than a bare, stale "0 constat".
  function markStale() {
    var live = document.getElementById("live");
    var title = document.getElementById("counts-title");
    if (!live || !title) return;
    var note = title.querySelector(".stale-note");
    if (!isOffline()) {
      live.removeAttribute("data-stale");
      if (note) note.remove();
      return;
    }
    live.setAttribute("data-stale", "1");
    if (!note) {
      note = document.createElement("small");
      note.className = "stale-note muted";
      note.textContent = " (au dernier passage en ligne)";
      title.appendChild(note);
    }
  }
  function showNetwork() {
    markStale();
    if (!isOffline()) {
      if (network.dataset.kind === "offline") { network.hidden = true; network.textContent = ""; network.dataset.kind = ""; }
      return;
    }
    var waiting = pendingHere ? " " + pendingHere + (pendingHere > 1 ? " constats sur ce téléphone attendent." : " constat sur ce téléphone attend.") : "";
    announce("Hors ligne : les constats partiront au retour du réseau." + waiting, "offline");
  }
  window.addEventListener("online", function () { showNetwork(); sendDue(true); refreshFeed(); });
  window.addEventListener("offline", showNetwork);
  showNetwork();
  probe();
  showCurrentStop();

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
    // The map tiles of this walk's area: the worker keeps them (static/js/sw.js). With the phone's
    // data saver on, nothing is fetched in advance: only the tiles the map shows are kept.
    if (TILES_AREA) {
      var area = TILES_AREA;
      if (area.mode === "area" && navigator.connection && navigator.connection.saveData) {
        area = Object.assign({}, area, { mode: "viewed" });
      }
      navigator.serviceWorker.addEventListener("message", function (event) {
        if (event.data && event.data.type === "tiles-kept") root.dataset.tilesKept = event.data.kept + "/" + event.data.wanted;
      });
      navigator.serviceWorker.startMessages();
      navigator.serviceWorker.ready.then(function (registration) {
        if (registration.active) registration.active.postMessage({ type: "tiles", area: area });
      }).catch(function () {});
    }
  }
  if (openButton) restoreDraft();
  renderOutbox().then(function () { sendDue(false); });
  setInterval(function () { sendDue(false); }, 5000);
})();
