/* Redaction by hand on a constat's page (staff): draw rectangles on a photo to blur them.
 *
 * The photo's zones (automatic faces and plates, and those drawn by hand) are drawn over it; a
 * drag with the mouse, a finger or a pen adds a zone, shown at once and sent with the form
 * beside the photo ("Enregistrer le floutage"), which also takes the ticked "Retirer"/"Rétablir"
 * boxes and the zone typed in percent (the keyboard way, which works without this script).
 * Coordinates are fractions of the photo (0..1), as walkapp/privacy stores them.
 */
(function () {
  "use strict";

  function clamp(v) { return Math.max(0, Math.min(1, v)); }

  function drawBox(canvas, box, extra) {
    var el = document.createElement("div");
    el.className = "redact-box " + (box.removed ? "removed" : box.kind) + (extra ? " " + extra : "");
    el.style.left = (box.x * 100) + "%";
    el.style.top = (box.y * 100) + "%";
    el.style.width = (box.w * 100) + "%";
    el.style.height = (box.h * 100) + "%";
    el.setAttribute("aria-hidden", "true");
    canvas.appendChild(el);
    return el;
  }

  function setUp(canvas) {
    var boxes;
    try { boxes = JSON.parse(canvas.getAttribute("data-boxes") || "[]"); } catch (e) { boxes = []; }
    var figure = canvas.closest("figure");
    var form = figure && figure.querySelector("form.redact-form");
    if (!form) return;
    var field = form.querySelector("input[name=boxes]");
    var drawn = [];
    boxes.forEach(function (b) { drawBox(canvas, b); });
    canvas.classList.add("drawable");

    var start = null, ghost = null;
    function point(event) {
      var r = canvas.getBoundingClientRect();
      return { x: clamp((event.clientX - r.left) / r.width), y: clamp((event.clientY - r.top) / r.height) };
    }
    function rect(a, b) {
      return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(a.x - b.x), h: Math.abs(a.y - b.y),
               kind: "manual" };
    }
    canvas.addEventListener("pointerdown", function (event) {
      if (event.button !== undefined && event.button > 0) return;
      start = point(event);
      canvas.setPointerCapture(event.pointerId);
      ghost = drawBox(canvas, rect(start, start), "drawing");
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!start) return;
      var b = rect(start, point(event));
      ghost.style.left = (b.x * 100) + "%"; ghost.style.top = (b.y * 100) + "%";
      ghost.style.width = (b.w * 100) + "%"; ghost.style.height = (b.h * 100) + "%";
    });
    function finish(event) {
      if (!start) return;
      var b = rect(start, point(event));
      start = null;
      if (b.w < 0.01 || b.h < 0.01) { ghost.remove(); return; }
      ghost.className = "redact-box manual new";
      drawn.push(b);
      field.value = JSON.stringify(boxes.concat(drawn));
      var help = form.querySelector(".redact-help");
      if (help) help.textContent = drawn.length + " zone(s) tracée(s) : « Enregistrer le floutage » pour les appliquer.";
    }
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", function () { if (ghost && start) ghost.remove(); start = null; });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll(".redact-canvas[data-photo]"), setUp);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
