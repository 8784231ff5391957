/* Small behaviours every page shares. */
(function () {
  "use strict";
  // After htmx swaps in a form refused with errors, move focus to its error summary so that
  // keyboard and screen-reader users land on what to fix.
  document.addEventListener("htmx:afterSettle", function () {
    var summary = document.querySelector("form [role=alert][tabindex]");
    if (summary && document.activeElement !== summary) summary.focus();
  });
})();
