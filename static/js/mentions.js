// @mention completion for note forms: <form data-mentions="URL"> with a <textarea>. Typing "@sa" lists the
// team members whose username or name starts with "sa"; arrows choose, Enter or Tab inserts, Escape closes.
// Without JavaScript the form still works: writing @username by hand mentions that user.
(function () {
  "use strict";
  var TOKEN = /(^|[^\w@.+-])@([\w.+-]{0,150})$/;

  function setup(form) {
    var area = form.querySelector("textarea");
    var url = form.getAttribute("data-mentions");
    if (!area || !url) return;
    var list = document.createElement("ul");
    list.className = "mention-list";
    list.id = area.id + "-mentions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "People to mention");
    list.hidden = true;
    area.insertAdjacentElement("afterend", list);
    area.setAttribute("aria-autocomplete", "list");
    area.setAttribute("aria-controls", list.id);
    var active = -1;
    var pending = null;

    function close() {
      list.hidden = true;
      list.textContent = "";
      active = -1;
      area.removeAttribute("aria-activedescendant");
    }

    function mark(index) {
      var items = list.querySelectorAll("li");
      if (!items.length) return;
      active = (index + items.length) % items.length;
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      area.setAttribute("aria-activedescendant", items[active].id);
    }

    function insert(username) {
      var before = area.value.slice(0, area.selectionStart);
      var after = area.value.slice(area.selectionEnd);
      var match = TOKEN.exec(before);
      if (!match) return close();
      var start = before.length - match[2].length;
      area.value = before.slice(0, start) + username + " " + after;
      var caret = start + username.length + 1;
      area.setSelectionRange(caret, caret);
      close();
      area.focus();
    }

    function show(users) {
      list.textContent = "";
      users.forEach(function (user, i) {
        var item = document.createElement("li");
        item.id = list.id + "-" + i;
        item.setAttribute("role", "option");
        item.setAttribute("data-username", user.username);
        item.textContent = user.name + " (@" + user.username + ")";
        item.addEventListener("mousedown", function (event) {
          event.preventDefault();
          insert(user.username);
        });
        list.appendChild(item);
      });
      list.hidden = !users.length;
      if (users.length) mark(0);
    }

    area.addEventListener("input", function () {
      var match = TOKEN.exec(area.value.slice(0, area.selectionStart));
      if (!match) return close();
      if (pending) pending.abort();
      pending = new AbortController();
      fetch(url + "?q=" + encodeURIComponent(match[2]), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: pending.signal,
      })
        .then(function (response) { return response.ok ? response.json() : { users: [] }; })
        .then(function (data) { show(data.users || []); })
        .catch(function () {});
    });

    area.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        mark(active + (event.key === "ArrowDown" ? 1 : -1));
      } else if (event.key === "Enter" || event.key === "Tab") {
        var chosen = list.querySelectorAll("li")[active];
        if (chosen) {
          event.preventDefault();
          insert(chosen.getAttribute("data-username"));
        }
      } else if (event.key === "Escape") {
        close();
      }
    });
    area.addEventListener("blur", close);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-mentions]").forEach(setup);
  });
})();
