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
  // A text field with a limit says how much is used before the limit cuts ("1234 / 4000"); the
  // counter is the element with data-counter-for="<field id>" (field/_choices.html comment_field).
  function updateCounter(field) {
    var counter = document.querySelector('[data-counter-for="' + field.id + '"]');
    if (!counter || !field.maxLength || field.maxLength < 0) return;
    var used = field.value.length, max = field.maxLength;
    counter.textContent = used + " / " + max + (used >= max ? " : limite atteinte, la suite n'est pas gardée" : "");
    counter.classList.toggle("near", used >= max * 0.9);
  }
  // Inline handlers (onclick, onsubmit) are blocked by the CSP: "Imprimer" buttons and forms that
  // ask before a destructive change say so in data attributes, read here.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) window.print();
  });
  document.addEventListener("submit", function (event) {
    var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  // A key shown once is selected when focused, ready to copy.
  document.addEventListener("focusin", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-select-on-focus")) event.target.select();
  });
  document.addEventListener("input", function (event) {
    if (event.target.id && event.target.maxLength > 0) updateCounter(event.target);
  });
})();
