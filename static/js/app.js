// Sends the CSRF token with every htmx request, so htmx POSTs pass Flask-WTF's check.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector("meta[name=csrf-token]");
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.getAttribute("content"); }
});
