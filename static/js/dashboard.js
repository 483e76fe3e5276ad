// Dashboard filters: numbers are kept per campaign, persona or rep one at a time, so choosing one clears
// the others; any change shows the new numbers at once. Without JavaScript the "Show" button does the same.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var select = event.target;
    var form = select.closest && select.closest("form[data-exclusive-filters]");
    if (!form) return;
    if (select.hasAttribute("data-scope") && select.value) {
      form.querySelectorAll("select[data-scope]").forEach(function (other) {
        if (other !== select) other.value = "";
      });
    }
    if (select.hasAttribute("data-autosubmit")) form.requestSubmit();
  });
})();
