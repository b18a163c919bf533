// Sends the CSRF token with every htmx request, so htmx POSTs pass Flask-WTF's check.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector("meta[name=csrf-token]");
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.getAttribute("content"); }
});

// The one confirmation mechanism: forms that need a second thought carry data-confirm (no
// inline handlers: the CSP forbids them). Caught before the form sees the event, so a
// refusal stops a plain submit and an htmx one alike.
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) { event.preventDefault(); event.stopPropagation(); }
}, true);

// The instance list's "+" beside its variable conditions: a new empty row in place, focused,
// without sending the filter.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("#add-var");
  if (!button) { return; }
  var rows = button.parentNode.querySelectorAll("input[name=var]");
  var max = parseInt(button.getAttribute("data-max"), 10);
  event.preventDefault();
  if (rows.length >= max) { return; }
  var row = rows[rows.length - 1].cloneNode(false);
  row.value = "";
  row.setAttribute("aria-label", "Variable condition " + (rows.length + 1));
  button.parentNode.insertBefore(row, button);
  row.focus();
  if (rows.length + 1 >= max) { button.disabled = true; }
});

// Forms that send variables (templates/_variables.html: launch, task completion; the completion form
// arrives in polled fragments, so these listen on the document). "Add a variable" copies the first
// row, emptied.
document.addEventListener("click", function (event) {
  var add = event.target.closest && event.target.closest(".add-kv");
  if (!add) { return; }
  var rows = document.getElementById(add.getAttribute("data-rows"));
  var row = rows.firstElementChild.cloneNode(true);
  row.querySelectorAll("input").forEach(function (i) { i.value = ""; });
  rows.appendChild(row);
  row.querySelector("input").focus();
});

// The raw JSON is checked before it is sent (the server checks again). In the capture phase, so a
// refusal stops a plain submit and an htmx one alike.
document.addEventListener("submit", function (event) {
  var area = event.target.querySelector && event.target.querySelector("textarea[data-json-object]");
  if (!area || !area.value.trim()) { return; }
  try {
    var parsed = JSON.parse(area.value);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) { throw new Error("it must be an object"); }
    area.setCustomValidity("");
  } catch (e) {
    event.preventDefault();
    event.stopPropagation();
    area.setCustomValidity("Variables are not a JSON object: " + e.message);
    area.reportValidity();
  }
}, true);
document.addEventListener("input", function (event) {
  if (event.target.matches && event.target.matches("textarea[data-json-object]")) { event.target.setCustomValidity(""); }
});

// A refused completion, move or variable change answers 409, 422 (or 501: SHAR lacks the call) with
// its fragment, the reason above the form: shown, not dropped as htmx drops other error answers.
document.addEventListener("htmx:beforeSwap", function (event) {
  var xhr = event.detail.xhr;
  var path = new URL(xhr.responseURL).pathname;
  if ((xhr.status === 409 || xhr.status === 422 || xhr.status === 501) && /\/instances\/[^/]+\/(complete|move\/preview|variables\/preview)$/.test(path)) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// The upload form offers the workflow name the chosen file gives (its process name), unless the
// person has typed one; the server uses the same name when the field is left empty.
document.addEventListener("input", function (event) {
  if (event.target.matches && event.target.matches("form[data-offer-name] input[name=name]")) {
    event.target.setAttribute("data-typed", event.target.value.trim() ? "true" : "");
  }
});
document.addEventListener("change", function (event) {
  var input = event.target;
  var form = input.closest && input.closest("form[data-offer-name]");
  if (!form || input.name !== "file" || !input.files || !input.files.length) { return; }
  var name = form.querySelector("input[name=name]");
  if (name.getAttribute("data-typed") === "true") { return; }
  var body = new FormData();
  body.append("file", input.files[0]);
  var meta = document.querySelector("meta[name=csrf-token]");
  fetch(form.getAttribute("data-offer-name"), {
    method: "POST", body: body, credentials: "same-origin",
    headers: meta ? { "X-CSRFToken": meta.getAttribute("content") } : {},
  })
    .then(function (r) { return r.ok ? r.json() : { name: null }; })
    .then(function (answer) {
      if (answer.name && name.getAttribute("data-typed") !== "true") {
        name.value = answer.name;
        name.setAttribute("data-offered", "true");
      }
    })
    .catch(function () { /* no name offered: the person types one */ });
});

// Narrow screens show each table row as "header: value" lines (app.css); each cell's label is its
// column's header, copied here so no template repeats it. Run on every piece of content htmx brings.
function labelTableCells(root) {
  var tables = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll("table.table") : []);
  var around = root.closest && root.closest("table.table");
  if (around) { tables.push(around); }
  tables.forEach(function (table) {
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (!head) { return; }
    var labels = [];
    Array.prototype.forEach.call(head.cells, function (th) {
      for (var i = 0; i < th.colSpan; i++) { labels.push(th.textContent.trim()); }
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var column = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          if (cell.colSpan === 1 && labels[column] && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", labels[column]); }
          column += cell.colSpan;
        });
      });
    });
  });
}
document.addEventListener("htmx:load", function (event) { labelTableCells(event.target); });
document.addEventListener("DOMContentLoaded", function () { labelTableCells(document); });

// Menus (details.menu) close with Escape and give focus back to their toggle; a click or focus
// elsewhere closes them too, as a person expects of a menu.
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") { return; }
  document.querySelectorAll("details.menu[open]").forEach(function (menu) {
    menu.open = false;
    menu.querySelector("summary").focus();
  });
});
document.addEventListener("click", function (event) {
  document.querySelectorAll("details.menu[open]").forEach(function (menu) {
    if (!menu.contains(event.target)) { menu.open = false; }
  });
});
document.addEventListener("focusout", function (event) {
  var menu = event.target.closest && event.target.closest("details.menu[open]");
  if (menu && event.relatedTarget && !menu.contains(event.relatedTarget)) { menu.open = false; }
});

// Focus moves to what an action changed: after a swap a person asked for (a click or a submit), to the
// element the new content marks with data-focus-after-swap, else to the swapped region itself; after a
// redirect, to the message it flashed. A poll that replaces what had the focus gives it back to the same
// link in the new content, else to the region. So a keyboard or screen reader user is never dropped at
// the top of the page on a button that is gone.
function focusRegion(region) {
  if (!region.matches("a[href], button, input, select, textarea, [tabindex]")) { region.setAttribute("tabindex", "-1"); }
  region.focus();
}
document.addEventListener("htmx:beforeSwap", function (event) {
  var config = event.detail.requestConfig;
  var target = event.detail.target;
  var trigger = config && config.triggeringEvent;
  var active = document.activeElement;
  if (!config || !target.id) { return; }
  if (trigger && (trigger.type === "submit" || trigger.type === "click")) {
    config.focusAfterSwap = { id: target.id };
  } else if (active && active !== document.body && target.contains(active)) {
    config.focusAfterSwap = { id: target.id, ifLost: true, href: active.getAttribute("href") };
  }
});
document.addEventListener("htmx:afterSettle", function (event) {
  var config = event.detail.requestConfig;
  var wanted = config && config.focusAfterSwap;
  if (!wanted) { return; }
  delete config.focusAfterSwap;
  var region = document.getElementById(wanted.id);
  if (!region || (wanted.ifLost && document.activeElement && document.activeElement !== document.body)) { return; }
  var same = wanted.href && Array.prototype.find.call(region.querySelectorAll("a[href]"), function (a) {
    return a.getAttribute("href") === wanted.href;
  });
  focusRegion(same || region.querySelector("[data-focus-after-swap]") || region);
});
document.addEventListener("DOMContentLoaded", function () {
  var flash = document.querySelector("main > .alert.flash");
  if (flash && !document.querySelector("[autofocus]")) { focusRegion(flash); }
});
