/* Small behaviours every page shares. */
(function () {
  "use strict";
  // After htmx swaps in a form refused with errors, move focus to its error summary so that
  // keyboard and screen-reader users land on what to fix.
  document.addEventListener("htmx:afterSettle", function () {
    var summary = document.querySelector("form [role=alert][tabindex]");
    if (summary && document.activeElement !== summary) summary.focus();
  });
  // "Ajouter une halte" asks for the row that comes after the ones on screen. Here rather than in
  // an hx-vals='js:…' attribute: the Content-Security-Policy allows no eval.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.hasAttribute("data-next-stop-index")) {
      event.detail.parameters.index = document.querySelectorAll("#stop-rows > li").length + 1;
    }
  });
})();
