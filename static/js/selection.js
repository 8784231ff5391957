/* The map's selection of constats, to turn them into one action (tableau de suivi, Annexe 2).
 *
 * Popups are fetched when opened and hold a "Sélectionner" checkbox (templates/review/_popup.html);
 * the chosen ids live in sessionStorage, so they survive filter changes (htmx swaps the map) and
 * reloads, and stay private to this tab. The tray (#selection-tray, map.html) shows them and links
 * to the new action's form with ?constats=1,2; sending that form empties the selection.
 */
(function () {
  "use strict";
  var KEY = "walkapp.selection";

  function read() {
    try {
      var value = JSON.parse(sessionStorage.getItem(KEY) || "[]");
      return Array.isArray(value) ? value.filter(function (n) { return Number.isInteger(n) && n > 0; }) : [];
    } catch (e) {
      return [];
    }
  }

  function write(ids) {
    try { sessionStorage.setItem(KEY, JSON.stringify(ids)); } catch (e) { /* private mode: tray only */ }
    render(ids);
  }

  function plural(n, word) { return n + " " + word + (n > 1 ? "s" : ""); }

  function render(ids) {
    ids = ids || read();
    document.querySelectorAll("input.select-constat").forEach(function (box) {
      box.checked = ids.indexOf(parseInt(box.dataset.constat, 10)) !== -1;
    });
    var tray = document.getElementById("selection-tray");
    if (!tray) return;
    tray.hidden = ids.length === 0;
    tray.querySelector("[data-selection-text]").textContent =
      plural(ids.length, "constat") + " sélectionné" + (ids.length > 1 ? "s" : "") + " :";
    tray.querySelector("[data-selection-list]").textContent = ids.map(function (id) { return "n° " + id; }).join(", ");
    var link = document.getElementById("selection-create");
    // The page's link (built from its route name) without the query it had: the new ids go there.
    link.href = link.getAttribute("href").split("?")[0] + "?constats=" + ids.join(",");
    link.textContent = "Créer une action (" + plural(ids.length, "constat") + ")";
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.classList || !box.classList.contains("select-constat")) return;
    var id = parseInt(box.dataset.constat, 10);
    var ids = read().filter(function (n) { return n !== id; });
    if (box.checked) ids.push(id);
    write(ids);
  });

  // The new action's form carries the constats itself (even if it comes back with errors): once it
  // is sent, the map's selection has served.
  document.addEventListener("submit", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-clear-selection")) write([]);
  });

  document.addEventListener("click", function (event) {
    if (event.target && event.target.id === "selection-clear") write([]);
  });

  // A popup's content arrives after it opens: tick its box if that constat is already chosen.
  // Only new checkboxes matter (the tray's own text changes must not wake this up again).
  new MutationObserver(function (records) {
    for (var i = 0; i < records.length; i++) {
      var nodes = records[i].addedNodes;
      for (var j = 0; j < nodes.length; j++) {
        var node = nodes[j];
        if (node.nodeType === 1 && (node.matches(".select-constat") || node.querySelector(".select-constat"))) {
          render();
          return;
        }
      }
    }
  }).observe(document.body, { childList: true, subtree: true });

  render();
})();
