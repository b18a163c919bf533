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
