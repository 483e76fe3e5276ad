// The lead list: "select all" ticks every lead on the page for the managers' bulk actions.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-select-all]")) return;
    var name = box.getAttribute("data-select-all");
    document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (item) {
      item.checked = box.checked;
    });
  });
})();
