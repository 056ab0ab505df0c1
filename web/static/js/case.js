/* graphdetect review UI: case and entity pages — network, sortable tables
   (the timeline is in timeline.js).
   No inline scripts (the Content-Security-Policy forbids them); data comes from the
   page's JSON twins. */
(function () {
  "use strict";
  var COLORS = {patient: "#2f6fb0", doctor: "#c0392b", institution: "#2e8b57",
                card: "#8e44ad", terminal: "#d35400", operator: "#7f8c8d"};
  var SHAPES = {patient: "ellipse", doctor: "diamond", institution: "round-rectangle",
                card: "tag", terminal: "hexagon", operator: "triangle"};
  var BIG = 400, LABEL = 40;
  // Text from the data is shown as graphdetect.cells.plain shows it: bidi controls
  // removed (so that "\u202egpj.exe" cannot pass for "exe.jpg"), other control
  // characters as U+FFFD; long values cut. It is only ever set as textContent.
  var BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g;
  var CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/g;
  function plain(s) { return String(s === undefined || s === null ? "" : s).replace(BIDI, "").replace(CONTROL, "\ufffd"); }
  function cut(s, n) { s = plain(s); return s.length <= n ? s : s.slice(0, n - 1) + "\u2026"; }

  function el(tag, attrs, text) {
    var e = document.createElementNS(tag === "svg" || attrs && attrs.svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
    Object.keys(attrs || {}).forEach(function (k) { if (k !== "svg") e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status + " " + url); return r.json(); });
  }
  // Shared with timeline.js (loaded after this file).
  window.graphdetectUI = {el: el, getJSON: getJSON, plain: plain, cut: cut};

  // ---- network ---------------------------------------------------------------------
  var box = document.getElementById("network");
  var status = document.getElementById("net-status");
  var cy = null, hidden = 0;

  function style() {
    var s = [
      {selector: "node", style: {"background-color": "#999", "label": "data(label)",
        "font-size": 9, "min-zoomed-font-size": 7, "color": "#222", "text-valign": "bottom",
        "text-margin-y": 2, "width": "mapData(claims, 0, 60, 14, 40)",
        "height": "mapData(claims, 0, 60, 14, 40)", "border-width": 0}},
      {selector: "node[role = 'hub'], node[role = 'host'], node[role = 'terminal'], node[role = 'operator']",
        style: {"border-width": 3, "border-color": "#111"}},
      {selector: "node[role = 'linked']", style: {"opacity": 0.75}},
      {selector: "node[hidden > 0]", style: {"border-style": "dashed", "border-width": 2, "border-color": "#555"}},
      {selector: "node:selected", style: {"border-width": 4, "border-color": "#f1c40f"}},
      {selector: "edge", style: {"width": "mapData(weight, 1, 20, 1, 6)", "line-color": "#b8c2cc",
        "curve-style": "haystack", "opacity": 0.8}}
    ];
    Object.keys(COLORS).forEach(function (k) {
      s.push({selector: "node[kind = '" + k + "']", style: {"background-color": COLORS[k], "shape": SHAPES[k]}});
    });
    return s;
  }

  function layoutFor(n) {
    if (n > BIG) {
      return {name: "concentric", animate: false, minNodeSpacing: 4,
        concentric: function (node) { return {institution: 5, doctor: 4, terminal: 3, operator: 3, card: 1}[node.data("kind")] || 2; },
        levelWidth: function () { return 1; }};
    }
    return {name: "cose", animate: false, randomize: false, numIter: 600, nodeRepulsion: 6000,
      idealEdgeLength: 60, fit: true, padding: 20};
  }

  function report() {
    if (!status) return;
    status.textContent = cy.nodes().length + " / " + cy.edges().length +
      (hidden ? " · " + hidden + " " + (document.body.dataset.lang === "zh" ? "个未展开" : "left out") : "");
  }

  // A node as drawn: its label cut, the whole (plain) label kept for the panel.
  function shown(n) {
    n.data.full = plain(n.data.label);
    n.data.label = cut(n.data.label, LABEL);
    return n;
  }

  function addElements(data, around) {
    var fresh = [];
    data.nodes.forEach(function (n) { if (cy.getElementById(n.data.id).empty()) fresh.push(shown(n)); });
    var edges = data.edges.filter(function (e) { return cy.getElementById(e.data.id).empty(); });
    var added = cy.add(fresh.concat(edges));
    if (around) {
      var c = around.position(), k = 0, nodes = added.nodes(), r = 80 + nodes.length * 2;
      nodes.forEach(function (n) {
        var a = 2 * Math.PI * (k++) / Math.max(1, nodes.length);
        n.position({x: c.x + r * Math.cos(a), y: c.y + r * Math.sin(a)});
      });
    }
    return added;
  }

  function showPanel(node) {
    var panel = document.getElementById("node-panel");
    panel.hidden = false;
    document.getElementById("node-title").textContent = cut(node.data("full"), 200);
    var dl = document.getElementById("node-facts");
    dl.textContent = "";
    [["kind", node.data("kind")], ["role", node.data("role")], ["claims", node.data("claims")],
     ["left out", node.data("hidden")]].forEach(function (kv) {
      dl.appendChild(el("dt", {}, kv[0])); dl.appendChild(el("dd", {}, cut(kv[1], 40)));
    });
    var link = document.getElementById("node-link"), tpl = box.dataset.entity;
    if (tpl) {
      var parts = node.id().split(":");
      link.href = tpl.replace("KIND", encodeURIComponent(parts[0])).replace("ID", encodeURIComponent(parts.slice(1).join(":")));
      link.hidden = false;
    }
    var btn = document.getElementById("expand");
    btn.disabled = !box.dataset.expand;
    btn.onclick = function () {
      btn.disabled = true;
      getJSON(box.dataset.expand + "?node=" + encodeURIComponent(node.id())).then(function (data) {
        var added = addElements(data, node);
        hidden += data.hidden || 0;
        node.data("hidden", data.hidden || 0);
        node.data("expanded", 1);
        report();
        cy.animate({fit: {eles: node.closedNeighborhood(), padding: 30}}, {duration: 200});
        btn.disabled = false;
        box.dispatchEvent(new CustomEvent("expanded", {detail: {added: added.length}}));
      }).catch(function (e) { status.textContent = cut(e.message, 200); btn.disabled = false; });
    };
  }

  if (box && window.cytoscape) {
    getJSON(box.dataset.network).then(function (data) {
      var n = data.nodes.length;
      cy = window.cytoscape({container: box, elements: data.nodes.map(shown).concat(data.edges),
        style: style(), layout: layoutFor(n), pixelRatio: 1, wheelSensitivity: 0.3,
        textureOnViewport: n > BIG, hideEdgesOnViewport: n > BIG, motionBlur: false});
      hidden = data.hidden || 0;
      cy.on("tap", "node", function (evt) { showPanel(evt.target); });
      window.graphdetect = {cy: cy};
      report();
      box.dataset.ready = "1";
    }).catch(function (e) { if (status) status.textContent = cut(e.message, 200); });
  }

  // ---- decision form: "suppress until" goes with a dismissal only -------------------
  var decision = document.getElementById("decision-form");
  var suppress = decision && decision.querySelector("label.suppress");
  var statusSelect = decision && decision.querySelector("select[name=status]");
  if (suppress && statusSelect) {
    var showSuppress = function () {
      var dismissing = statusSelect.value === "dismissed";
      suppress.hidden = !dismissing;
      if (!dismissing) suppress.querySelector("input").value = "";
    };
    statusSelect.addEventListener("change", showSuppress);
    showSuppress();
  }

  // ---- sortable tables ---------------------------------------------------------------
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.addEventListener("click", function () {
        var asc = th.dataset.dir !== "asc"; th.dataset.dir = asc ? "asc" : "desc";
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col], y = b.cells[col];
          var u = x.dataset.sort !== undefined ? parseFloat(x.dataset.sort) : x.textContent;
          var v = y.dataset.sort !== undefined ? parseFloat(y.dataset.sort) : y.textContent;
          return (u < v ? -1 : u > v ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
