// Live countdowns to hand-off deadlines: any <time data-deadline="ISO 8601"> shows the time left.
(function () {
  "use strict";
  function format(ms) {
    var past = ms < 0;
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    var text = days ? days + "d " + hours + "h" : hours ? hours + "h " + mins + "m" : mins + "m";
    if (!days && !hours) {
      text += " " + (Math.floor(Math.abs(ms) / 1000) % 60) + "s";
    }
    return past ? "overdue by " + text : text + " left";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-deadline]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-deadline"));
      if (isNaN(due)) return;
      if (!el.title) el.title = el.textContent.trim();
      el.textContent = format(due - now);
      el.classList.toggle("is-overdue", due <= now);
      el.classList.toggle("is-soon", due > now && due - now < 4 * 3600 * 1000);
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();

// The queue's "check every hand-off on this page" box (hidden without JavaScript: check rows one by one).
(function () {
  "use strict";
  function wire() {
    document.querySelectorAll("input.select-all").forEach(function (box) {
      box.hidden = false;
      if (box.dataset.wired) return;
      box.dataset.wired = "1";
      box.addEventListener("change", function () {
        var table = box.closest("table");
        table.querySelectorAll('input[type="checkbox"][name="lead"]').forEach(function (row) {
          row.checked = box.checked;
        });
      });
    });
  }
  document.addEventListener("DOMContentLoaded", wire);
  document.addEventListener("htmx:afterSwap", wire);
})();

// The reject picker: the page holds one reject form (<template id="reject-picker">); opening a row's
// "Reject…" copies it into that row, pointed at the row's lead. Without JavaScript the row's picker holds a
// link to the same form on a page of its own, and that link's address is where the copy posts.
(function () {
  "use strict";
  function fill(picker) {
    var source = document.getElementById("reject-picker");
    var fallback = picker.querySelector("a.reject-fallback");
    var row = picker.closest("tr");
    if (!source || !fallback || !row) return;
    var action = fallback.getAttribute("href");
    var lead = row.id.replace("handoff-", "");
    var form = source.content.querySelector("form").cloneNode(true);
    form.setAttribute("action", action);
    form.setAttribute("hx-post", action);
    form.querySelectorAll("[id]").forEach(function (el) {
      el.id = el.id + lead;
    });
    form.querySelectorAll("label[for]").forEach(function (el) {
      el.htmlFor = el.htmlFor + lead;
    });
    fallback.replaceWith(form);
    if (window.htmx) window.htmx.process(form);
  }
  document.addEventListener("click", function (event) {
    var summary = event.target.closest && event.target.closest("details.reject-picker > summary");
    if (summary) fill(summary.parentElement);
  });
})();
