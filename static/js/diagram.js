// Draws BPMN diagrams with bpmn-js (served from static/vendor) and highlights the
// current activities, which the instance page's live fragment lists in data-activities. On the
// workflow page it draws, on each element, how many instances wait or failed there (the polled
// counts fragment), as links to those instances, and a click on an element lists the instances there.
(function () {
  "use strict";

  function mark(viewer, ids, marker) {
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    registry.getAll().forEach(function (el) { canvas.removeMarker(el.id, marker); });
    ids.forEach(function (id) { if (registry.get(id)) { canvas.addMarker(id, marker); } });
  }

  // The instance's story (Cockpit's history view): where it is now, the elements it passed through,
  // the flows it took and where an operator last moved it from, as the live fragment lists them
  // (the server decides them).
  function highlight(viewer, selector) {
    mark(viewer, listOf(selector, "data-passed"), "passed-element");
    mark(viewer, listOf(selector, "data-flows"), "taken-flow");
    mark(viewer, listOf(selector, "data-moved-from"), "moved-from-element");
    mark(viewer, listOf(selector, "data-activities"), "current-activity");
  }

  function listOf(selector, attribute) {
    var live = selector && document.querySelector(selector);
    var raw = live ? live.getAttribute(attribute) : "";
    return raw ? raw.split(",") : [];
  }

  // The counts fragment (data-counts on the container names it) lists, by element, links to the
  // instances waiting there and to those that failed there: element id -> those links.
  function countLinks(selector) {
    var box = selector && document.querySelector(selector);
    var found = {};
    if (box) {
      box.querySelectorAll("[data-element]").forEach(function (item) {
        var links = item.querySelectorAll("a[data-kind]");
        if (links.length) { found[item.getAttribute("data-element")] = links; }
      });
    }
    return found;
  }

  // Badges on the elements with counts: copies of the fragment's links (real links, built with
  // DOM calls), named with the element. Returns element id -> where a click on the element goes
  // (its waiting instances, else its failed ones).
  function drawCounts(viewer, selector) {
    var overlays = viewer.get("overlays");
    var canvas = viewer.get("canvas");
    var registry = viewer.get("elementRegistry");
    overlays.remove({ type: "instance-counts" });
    registry.getAll().forEach(function (el) { canvas.removeMarker(el.id, "has-counts"); });
    var links = countLinks(selector);
    var targets = {};
    Object.keys(links).forEach(function (id) {
      var element = registry.get(id);
      if (!element || element.waypoints) { return; }
      var name = element.businessObject && element.businessObject.name;
      var box = document.createElement("div");
      box.className = "count-badges";
      Array.prototype.forEach.call(links[id], function (link) {
        var badge = link.cloneNode(true);
        badge.setAttribute("aria-label", link.textContent.trim() + " at " + (name ? name + " (" + id + ")" : id));
        box.appendChild(badge);
      });
      // Above the shape's top-right corner, outside it: a task's label is inside the shape and an
      // event's or gateway's below it, so a badge there covers neither.
      overlays.add(id, "instance-counts", { position: { top: -22, right: 0 }, html: box });
      canvas.addMarker(id, "has-counts");
      targets[id] = links[id][0].href;
    });
    return targets;
  }

  // On a workflow's diagram (data-instances-url: its instance list), a click on a task, event or
  // gateway lists the instances at that element (where they wait, or failed); flows, pools, lanes
  // and the canvas itself lead nowhere.
  function elementList(listUrl, element) {
    var type = element && element.businessObject && element.businessObject.$type || "";
    if (!listUrl || element.waypoints || element.type === "label" || !/(Task|Event|Gateway|SubProcess|Transaction|CallActivity)$/.test(type)) {
      return null;
    }
    var url = new URL(listUrl, window.location.href);
    url.searchParams.set("activity", element.id);
    return url.pathname + url.search;
  }

  var BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI";

  // True when the file draws at least one shape; files without diagram information are laid out here.
  function hasShapes(xml) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    return doc.getElementsByTagNameNS(BPMNDI_NS, "BPMNShape").length > 0;
  }

  // The flow elements of the file that no diagram of the file draws (no BPMNShape or BPMNEdge):
  // counted over every diagram, not only the one on screen.
  function undrawn(viewer) {
    var definitions = viewer.getDefinitions();
    var drawn = {};
    (definitions && definitions.diagrams || []).forEach(function (diagram) {
      ((diagram.plane && diagram.plane.planeElement) || []).forEach(function (di) {
        if (di.bpmnElement) { drawn[di.bpmnElement.id] = true; }
      });
    });
    var missing = [];
    function visit(container) {
      (container.flowElements || []).forEach(function (el) {
        if (el.$type !== "bpmn:DataObject" && !drawn[el.id]) {
          missing.push({ id: el.id, name: el.name || "", type: el.$type.replace("bpmn:", "") });
        }
        if (el.flowElements) { visit(el); }
      });
    }
    (definitions && definitions.rootElements || []).forEach(function (root) {
      if (root.$type === "bpmn:Process") { visit(root); }
    });
    return missing;
  }

  function note(container, id, cls) {
    var existing = document.getElementById(id);
    if (existing) { return existing; }
    var el = document.createElement("div");
    el.id = id;
    el.className = cls;
    container.parentNode.insertBefore(el, container.nextSibling);
    return el;
  }

  function showUndrawn(container, missing) {
    if (!missing.length) { return; }
    var box = note(container, "diagram-missing", "alert warning small");
    box.textContent = missing.length + " element" + (missing.length === 1 ? " has" : "s have") +
      " no shape in this file's diagram and " + (missing.length === 1 ? "is" : "are") + " not drawn:";
    var list = document.createElement("ul");
    missing.slice(0, 50).forEach(function (m) {
      var item = document.createElement("li");
      var code = document.createElement("code");
      code.textContent = m.id;
      item.appendChild(code);
      item.appendChild(document.createTextNode(" " + m.type + (m.name ? " \u201c" + m.name + "\u201d" : "")));
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  var BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL";

  // The layout follows each node's <incoming>/<outgoing>, which hand-written and generated files
  // often leave out (the sequence flows' sourceRef/targetRef say the same): add the missing ones.
  // bpmn-auto-layout lays out the first process: put `processId`'s first when it is given.
  function withFlowRefs(xml, processId) {
    var doc = new DOMParser().parseFromString(xml, "application/xml");
    var processes = doc.getElementsByTagNameNS(BPMN_NS, "process");
    var chosen = Array.prototype.find.call(processes, function (p) { return p.getAttribute("id") === processId; });
    if (chosen && processes[0] !== chosen) { processes[0].parentNode.insertBefore(chosen, processes[0]); }
    var byId = {};
    Array.prototype.forEach.call(doc.getElementsByTagNameNS(BPMN_NS, "*"), function (el) {
      var id = el.getAttribute("id");
      if (id && !byId[id]) { byId[id] = el; }
    });
    function refer(node, tag, flowId) {
      if (!node) { return; }
      var present = Array.prototype.some.call(node.children, function (c) {
        return c.namespaceURI === BPMN_NS && c.localName === tag && c.textContent.trim() === flowId;
      });
      if (present) { return; }
      var ref = doc.createElementNS(BPMN_NS, node.prefix ? node.prefix + ":" + tag : tag);
      ref.textContent = flowId;
      var before = Array.prototype.find.call(node.children, function (c) {
        return !(c.namespaceURI === BPMN_NS && /^(documentation|extensionElements|incoming|outgoing)$/.test(c.localName));
      });
      node.insertBefore(ref, before || null);
    }
    Array.prototype.forEach.call(doc.getElementsByTagNameNS(BPMN_NS, "sequenceFlow"), function (flow) {
      var id = flow.getAttribute("id");
      if (!id) { return; }
      refer(byId[flow.getAttribute("sourceRef")], "outgoing", id);
      refer(byId[flow.getAttribute("targetRef")], "incoming", id);
    });
    return new XMLSerializer().serializeToString(doc);
  }

  function parse(xml) { return new DOMParser().parseFromString(xml, "application/xml"); }

  // Lay out a file without diagram information with bpmn-auto-layout (vendored, no CDN). It lays
  // out a file's first process, so each process is laid out in turn (`processId`'s first, which
  // the viewer opens) and their diagrams are joined into one file: every process can be drawn.
  function prepare(xml, container) {
    if (hasShapes(xml)) { return Promise.resolve(xml); }
    if (!window.BpmnAutoLayout) { return Promise.reject(new Error("the file has no diagram information")); }
    var chosen = container.getAttribute("data-process") || "";
    var ids = Array.prototype.map.call(parse(xml).getElementsByTagNameNS(BPMN_NS, "process"),
      function (p) { return p.getAttribute("id"); }).filter(Boolean);
    ids.sort(function (a, b) { return (b === chosen) - (a === chosen); });
    if (!ids.length) { return Promise.reject(new Error("the file has no process to draw")); }
    var laidOut = [];
    return ids.reduce(function (done, id) {
      return done.then(function () {
        return window.BpmnAutoLayout.layoutProcess(withFlowRefs(xml, id)).then(function (out) { laidOut.push([id, out]); });
      });
    }, Promise.resolve()).then(function () {
      var joined = parse(laidOut[0][1]);
      laidOut.slice(1).forEach(function (entry) {
        var diagrams = parse(entry[1]).getElementsByTagNameNS(BPMNDI_NS, "BPMNDiagram");
        Array.prototype.forEach.call(diagrams, function (diagram, index) {
          // Each layout names its diagram and plane alike: make the ids unique before joining.
          diagram.setAttribute("id", "auto_" + entry[0] + "_diagram_" + index);
          Array.prototype.forEach.call(diagram.getElementsByTagNameNS(BPMNDI_NS, "BPMNPlane"), function (plane) {
            plane.setAttribute("id", "auto_" + entry[0] + "_plane_" + index);
          });
          joined.documentElement.appendChild(joined.importNode(diagram, true));
        });
      });
      container.setAttribute("data-layout", "auto");
      note(container, "diagram-auto-layout", "muted small diagram-note").textContent =
        "This file has no diagram information: laid out automatically.";
      return new XMLSerializer().serializeToString(joined);
    });
  }

  // A file with several processes (or pools drawn apart) has a diagram each: offer a choice.
  function topDiagrams(viewer) {
    return ((viewer.getDefinitions() || {}).diagrams || []).filter(function (d) {
      var element = d.plane && d.plane.bpmnElement;
      return element && (element.$type === "bpmn:Process" || element.$type === "bpmn:Collaboration");
    });
  }

  function offerDiagrams(viewer, container, shown, decorate) {
    var diagrams = topDiagrams(viewer);
    if (diagrams.length < 2 || document.getElementById("diagram-choice")) { return; }
    var label = document.createElement("label");
    label.className = "small diagram-choice";
    label.textContent = "Diagram ";
    var select = document.createElement("select");
    select.id = "diagram-choice";
    diagrams.forEach(function (d) {
      var element = d.plane.bpmnElement;
      var option = document.createElement("option");
      option.value = d.id;
      option.setAttribute("data-process", element.id);
      option.textContent = (element.name || element.id) + (element.name ? " (" + element.id + ")" : "");
      option.selected = d === shown;
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      var diagram = diagrams.filter(function (d) { return d.id === select.value; })[0];
      viewer.open(diagram).then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        container.setAttribute("data-diagram", diagram.plane.bpmnElement.id);
        decorate(true);  // another diagram: draw again
      });
    });
    label.appendChild(select);
    container.parentNode.insertBefore(label, container);
  }

  // Zoom in, zoom out and fit buttons above the diagram (the viewer also zooms with the wheel and
  // pans by dragging); the diagram fits its canvas again when the window changes size.
  function addZoomTools(viewer, container) {
    var canvas = viewer.get("canvas");
    if (container.previousElementSibling && container.previousElementSibling.className === "diagram-tools") { return; }
    var tools = document.createElement("div");
    tools.className = "diagram-tools";
    tools.setAttribute("role", "group");
    tools.setAttribute("aria-label", "Diagram view");
    [["zoom-in", "+", "Zoom in", function () { canvas.zoom(canvas.zoom() * 1.25); }],
     ["zoom-out", "\u2212", "Zoom out", function () { canvas.zoom(canvas.zoom() / 1.25); }],
     ["zoom-fit", "Fit", "Fit the diagram to its frame", function () { canvas.zoom("fit-viewport", "auto"); }]
    ].forEach(function (tool) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button secondary small diagram-" + tool[0];
      button.textContent = tool[1];
      button.title = tool[2];
      button.setAttribute("aria-label", tool[2]);
      button.addEventListener("click", tool[3]);
      tools.appendChild(button);
    });
    var hint = document.createElement("span");
    hint.className = "muted small";
    hint.textContent = "Drag to move it";
    tools.appendChild(hint);
    container.parentNode.insertBefore(tools, container);
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () { canvas.resized(); canvas.zoom("fit-viewport", "auto"); }, 150);
    });
  }

  // The diagram to open first: the one of the chosen process (an instance's own), else the file's first.
  function firstDiagram(viewer, processId) {
    var diagrams = topDiagrams(viewer);
    return diagrams.filter(function (d) { return d.plane.bpmnElement.id === processId; })[0] || diagrams[0];
  }

  function draw(container) {
    if (typeof window.BpmnJS === "undefined") {
      container.textContent = "The diagram viewer could not be loaded.";
      return;
    }
    var viewer = new window.BpmnJS({ container: container });
    var live = container.getAttribute("data-live");
    var counts = container.getAttribute("data-counts");
    var targets = {};
    var drawn = {};  // what each fragment held when last drawn
    // What the page's polled fragments say, drawn on the diagram shown: again when one of them
    // changed (a poll answered 304 reaches htmx as the same body, swapped in again).
    function changed(selector, force) {
      var fragment = selector && document.querySelector(selector);
      var html = fragment ? fragment.innerHTML : "";
      if (!force && drawn[selector] === html) { return false; }
      drawn[selector] = html;
      return Boolean(selector);
    }
    function decorate(force) {
      if (changed(live, force === true)) { highlight(viewer, live); }
      if (changed(counts, force === true)) { targets = drawCounts(viewer, counts); }
    }
    var listUrl = container.getAttribute("data-instances-url");
    viewer.get("eventBus").on("element.click", function (event) {
      var href = targets[event.element.id] || elementList(listUrl, event.element);
      if (href) { window.location.assign(href); }
    });
    fetch(container.getAttribute("data-bpmn-url"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.text(); })
      .then(function (xml) { return prepare(xml, container); })
      .then(function (xml) { return viewer.importXML(xml); })
      .then(function () {
        var shown = firstDiagram(viewer, container.getAttribute("data-process") || "");
        return shown && shown !== topDiagrams(viewer)[0] ? viewer.open(shown).then(function () { return shown; }) : shown;
      })
      .then(function (shown) {
        offerDiagrams(viewer, container, shown, decorate);
        if (shown) { container.setAttribute("data-diagram", shown.plane.bpmnElement.id); }
        viewer.get("canvas").zoom("fit-viewport");
        addZoomTools(viewer, container);
        showUndrawn(container, undrawn(viewer));
        decorate(true);
        container.setAttribute("data-rendered", "true");
        if (live || counts) { document.body.addEventListener("htmx:afterSwap", decorate); }
      })
      .catch(function (err) {
        container.setAttribute("data-rendered", "error");
        container.textContent = "This diagram cannot be drawn: " + err.message;
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-bpmn-url]").forEach(draw);
  });
})();
