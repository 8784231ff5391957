/* An action's "Évaluation de l'action / Évolution" proposed from the re-visits of its constats
 * (walkapp/revisits/services.py, evaluation_proposal): the button puts the proposal into the
 * field, only when the person asks, after what is already written; saving stays the form's. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[data-fill]") : null;
    if (!button) return;
    var field = document.getElementById(button.dataset.fill);
    var text = button.dataset.fillText || "";
    if (!field || !text) return;
    var current = field.value.trim();
    if (current.indexOf(text) === -1) field.value = current ? current + "\n" + text : text;
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  });
})();
