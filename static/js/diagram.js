// Draws BPMN diagrams with bpmn-js (served from static/vendor) and highlights the
// current activities, which the instance page's live fragment lists in data-activities.
(function () {
  "use strict";

  function highlight(viewer, ids) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    registry.getAll().forEach(function (el) { canvas.removeMarker(el.id, "current-activity"); });
    ids.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, "current-activity"); } });
  }

  function activitiesOf(selector) {
    var live = selector && document.querySelector(selector);
    var raw = live ? live.getAttribute("data-activities") : "";
    return raw ? raw.split(",") : [];
  }

  function draw(container) {
    if (typeof window.BpmnJS === "undefined") {
      container.textContent = "The diagram viewer could not be loaded.";
      return;
    }
    var viewer = new window.BpmnJS({ container: container });
    fetch(container.getAttribute("data-bpmn-url"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        container.setAttribute("data-rendered", "true");
        var live = container.getAttribute("data-live");
        if (live) {
          highlight(viewer, activitiesOf(live));
          document.body.addEventListener("htmx:afterSwap", function () { highlight(viewer, activitiesOf(live)); });
        }
      })
      .catch(function (err) {
        container.setAttribute("data-rendered", "error");
        container.textContent = "This diagram cannot be drawn: " + err.message;
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-bpmn-url]").forEach(draw);
    var add = document.getElementById("add-kv");
    if (add) {
      add.addEventListener("click", function () {
        var rows = document.getElementById("kv-rows");
        rows.appendChild(rows.firstElementChild.cloneNode(true));
        rows.lastElementChild.querySelectorAll("input").forEach(function (i) { i.value = ""; });
      });
    }
    var form = document.getElementById("launch-form");
    if (form) {
      // Validate the raw JSON before submit; the server checks again.
      form.addEventListener("submit", function (event) {
        var area = form.querySelector("textarea[name=variables_json]");
        if (!area || !area.value.trim()) { return; }
        try {
          var parsed = JSON.parse(area.value);
          if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) { throw new Error("it must be an object"); }
          area.setCustomValidity("");
        } catch (e) {
          event.preventDefault();
          area.setCustomValidity("Variables are not a JSON object: " + e.message);
          area.reportValidity();
        }
      });
      form.querySelector("textarea[name=variables_json]").addEventListener("input", function (e) { e.target.setCustomValidity(""); });
    }
  });
})();
