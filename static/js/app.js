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
