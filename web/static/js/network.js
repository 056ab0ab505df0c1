/* graphdetect review UI: the network of a case or an entity (cytoscape.js), readable at
   20 and at 2,000 nodes. Loaded after case.js, whose helpers (window.graphdetectUI) it
   uses. No inline scripts or styles (the CSP forbids them): cytoscape's own stylesheet is
   web/static/vendor/cytoscape.css, linked under the id cytoscape looks for, so it injects
   no <style>; colours come from the page's data-palette (graphdetect/palette.py, which
   the PDF's figures use too).

   Labels are short (a name, else the id's last 6 characters; the whole on hover and in
   the panel) and never overlap: after every layout each node in order of importance
   (case members first, then by claims) tries its label below, above, right and left of
   itself, and keeps the first place that overlaps no label already placed and no other
   node (a core node, drawn above the rest, may overlap another node); a label with no
   free place is left off (shown on hover). A card whose holder is
   in the graph is folded into the holder (its terminal links drawn from the holder)
   unless "cards apart" is ticked. Above BIG nodes the layout is rings by kind (see
   rings(), institutions in the middle, patients outside) rather than cose, and labels
   hide when zoomed out. */
(function () {
  "use strict";
  var ui = window.graphdetectUI, el = ui.el, getJSON = ui.getJSON, plain = ui.plain, cut = ui.cut;
  var box = document.getElementById("network");
  if (!box || !window.cytoscape) return;
  var BIG = 400, GAP = 3, CELL = 80;
  var ZH = (document.documentElement.lang || "").slice(0, 2) === "zh";
  var WORDS = ZH ? {
    kind: "类型", role: "角色", claims: "结算笔数", left: "未展开", cards: "名下医保卡", id: "编号",
    nodes: "个节点", edges: "条关系", leftOut: "个未展开", folded: "张医保卡并入持卡人",
    central: "案件核心", fresh: "新展开", apart: "医保卡单列", show: "显示",
    kinds: {patient: "参保人", doctor: "医师", institution: "机构", card: "医保卡", terminal: "终端", operator: "操作员"},
    roles: {hub: "核心医师", host: "所在机构", member: "成员", holder: "持卡人", patient: "参保人",
            doctor: "医师", card: "医保卡", terminal: "终端", operator: "操作员", linked: "关联",
            elsewhere: "住院期间他处"}
  } : {
    kind: "kind", role: "role", claims: "claims", left: "left out", cards: "cards held", id: "id",
    nodes: "nodes", edges: "links", leftOut: "left out", folded: "cards folded into holders",
    central: "case core", fresh: "new", apart: "cards apart", show: "show",
    kinds: {patient: "patient", doctor: "doctor", institution: "institution", card: "card", terminal: "terminal", operator: "operator"},
    roles: {hub: "hub", host: "host", member: "member", holder: "holder", patient: "patient",
            doctor: "doctor", card: "card", terminal: "terminal", operator: "operator", linked: "linked",
            elsewhere: "elsewhere during the stay"}
  };
  var PAL = JSON.parse(box.dataset.palette || "{}");
  var KINDS = Object.keys(PAL.kinds || {});
  var CENTRAL = ["hub", "host", "terminal", "operator"];
  var status = document.getElementById("net-status");
  var panel = document.getElementById("node-panel");
  var cy = null, picked = null;
  var show = {terminal: true, operator: true, cards: false};

  function word(table, k) { return Object.prototype.hasOwnProperty.call(table, k) ? table[k] : plain(k); }

  function style(big) {
    var s = [
      {selector: "node", style: {"background-color": PAL.fallback, "label": "data(short)",
        "font-size": 10, "min-zoomed-font-size": big ? 9 : 0, "color": "#1f2a36",
        "text-valign": "bottom", "text-halign": "center", "text-margin-y": 2,
        "text-background-color": "#fbfcfd", "text-background-opacity": 0.85,
        "text-background-padding": 1, "z-index": 1,
        "width": "mapData(claims, 0, 60, 14, 40)", "height": "mapData(claims, 0, 60, 14, 40)",
        "border-width": 0}},
      {selector: "node.lbl-top", style: {"text-valign": "top", "text-margin-y": -2}},
      {selector: "node.lbl-right", style: {"text-valign": "center", "text-halign": "right", "text-margin-y": 0, "text-margin-x": 3}},
      {selector: "node.lbl-left", style: {"text-valign": "center", "text-halign": "left", "text-margin-y": 0, "text-margin-x": -3}},
      {selector: "node.labelled", style: {"z-index": 5}},
      {selector: "node.quiet", style: {"label": ""}},
      {selector: "node.core", style: {"border-width": 3, "border-color": PAL.marks.central, "z-index": 8}},
      {selector: "node[role = 'linked']", style: {"opacity": 0.8}},
      {selector: "node[hidden > 0]", style: {"border-style": "dashed", "border-width": 2, "border-color": "#555"}},
      {selector: "node.new", style: {"border-width": 4, "border-color": PAL.marks["new"], "border-style": "solid"}},
      {selector: "node:selected", style: {"border-width": 4, "border-color": PAL.marks.selected}},
      {selector: "node.hover", style: {"label": "data(full)", "z-index": 20, "font-size": 11}},
      {selector: "edge", style: {"width": "mapData(weight, 1, 20, 1, 6)", "line-color": PAL.marks.edge,
        "curve-style": "haystack", "opacity": 0.8}},
      {selector: "edge.via", style: {"line-style": "dashed", "width": 1}},
      {selector: ".off", style: {"display": "none"}}
    ];
    KINDS.forEach(function (k) {
      s.push({selector: "node[kind = '" + k + "']", style: {"background-color": PAL.kinds[k], "shape": PAL.shapes[k]}});
    });
    return s;
  }

  // A node as drawn: a short label, the whole (plain) one for hover and the panel.
  function shown(n) {
    var d = n.data, id = cut(d.label, 40), name = d.name ? cut(d.name, 40) : "";
    d.label = id;
    d.full = name ? name + " · " + id : id;
    d.short = name ? cut(name, 10) : id.length > 9 ? "\u2026" + id.slice(-6) : id;
    d.base = d.short;
    return n;
  }

  // ---- cards folded into their holders -------------------------------------------
  // A card linked to exactly one patient of the graph is that patient's: folded, it is
  // hidden and its terminal links are drawn (dashed) from the holder.
  function fold() {
    cy.edges(".via").remove();
    cy.nodes("[kind = 'patient']").data("cards", 0);
    var via = [];
    cy.nodes("[kind = 'card']").forEach(function (c) {
      var holders = c.neighborhood("node[kind = 'patient']");
      var holder = holders.length === 1 ? holders[0] : null;
      c.data("holder", holder ? holder.id() : "");
      if (!holder) return;
      holder.data("cards", holder.data("cards") + 1);
      c.connectedEdges().forEach(function (e) {
        var other = e.source().same(c) ? e.target() : e.source();
        if (other.same(holder) || !holder.edgesWith(other).empty()) return;
        via.push({group: "edges", classes: "via", data: {id: "via|" + e.id(), source: holder.id(),
          target: other.id(), weight: e.data("weight"), card: c.id()}});
      });
    });
    cy.add(via);
    cy.nodes("[kind = 'patient']").forEach(function (p) {
      var n = p.data("cards");
      p.data("short", p.data("base") + (n > 1 ? " \u00b7" + n : ""));
    });
  }

  function apply() {
    cy.batch(function () {
      cy.elements().removeClass("off");
      ["terminal", "operator"].forEach(function (k) {
        if (!show[k]) cy.nodes("[kind = '" + k + "']").addClass("off");
      });
      if (show.cards) cy.edges(".via").addClass("off");
      else cy.nodes("[kind = 'card'][holder != '']").addClass("off");
    });
  }

  // ---- layout and labels -----------------------------------------------------------
  // Above BIG nodes: rings by kind, as the PDF draws them (graphdetect/export/_network.py):
  // institutions in the middle, doctors, terminals and operators around them, then cards,
  // patients outside; each group on as many rings as its nodes need, each node at the
  // mean angle of the nodes already placed that it is linked to, so that a doctor's
  // patients gather in front of it. Linear in the links, where cose is quadratic.
  var GROUPS = [["institution"], ["doctor", "terminal", "operator"], ["card"], ["patient"]];
  function rings(nodes) {
    var pos = {}, angle = {}, r = 0, step = 34;
    GROUPS.forEach(function (kinds, g) {
      var group = nodes.filter(function (n) { return kinds.indexOf(n.data("kind")) >= 0; });
      if (!group.length) return;
      var keyed = group.map(function (n) {
        var x = 0, y = 0;
        n.neighborhood("node").forEach(function (m) {
          var a = angle[m.id()];
          if (a !== undefined) { x += Math.cos(a); y += Math.sin(a); }
        });
        return {n: n, a: x || y ? Math.atan2(y, x) : 9};
      }).sort(function (p, q) { return p.a - q.a || (p.n.id() < q.n.id() ? -1 : 1); });
      if (g === 0 && keyed.length === 1) { pos[keyed[0].n.id()] = {x: 0, y: 0}; r = step; return; }
      var caps = [], left = keyed.length;
      for (var k = 0; left > 0; k++) {
        var cap = Math.max(6, Math.floor(2 * Math.PI * (r + step * (k + 1)) / step));
        caps.push(cap); left -= cap;
      }
      // each node to the ring least full for its size, so every ring keeps the angle order
      var members = caps.map(function () { return []; });
      keyed.forEach(function (item) {
        var best = 0;
        members.forEach(function (m, j) { if (m.length / caps[j] < members[best].length / caps[best]) best = j; });
        members[best].push(item.n);
      });
      members.forEach(function (m, j) {
        var radius = r + step * (j + 1);
        m.forEach(function (n, i) {
          var a = 2 * Math.PI * i / m.length + j * 0.37;
          pos[n.id()] = {x: radius * Math.cos(a), y: radius * Math.sin(a)};
          angle[n.id()] = a;
        });
      });
      r += step * (caps.length + 0.5);
    });
    return pos;
  }

  function layoutFor(eles, n, first) {
    if (n > BIG) {
      var pos = rings(eles.nodes());
      return {name: "preset", eles: eles, fit: true, padding: 20,
        positions: function (node) { return pos[node.id()]; }};
    }
    return {name: "cose", eles: eles, animate: false, randomize: !!first, numIter: 800,
      // the busiest nodes push hardest, so that a case's institution, terminal and doctor
      // (who share every patient) do not settle on top of each other
      nodeRepulsion: function (node) { return 8000 + 4000 * Math.min(node.degree(), 60); },
      idealEdgeLength: function () { return 70; }, nodeOverlap: 20,
      nodeDimensionsIncludeLabels: true, componentSpacing: 60, fit: true, padding: 24};
  }

  function importance(a, b) {
    var ca = a.hasClass("core") || a.hasClass("focus") ? 1 : 0, cb = b.hasClass("core") || b.hasClass("focus") ? 1 : 0;
    if (ca !== cb) return cb - ca;
    var ma = a.data("role") !== "linked" ? 1 : 0, mb = b.data("role") !== "linked" ? 1 : 0;
    if (ma !== mb) return mb - ma;
    return (b.data("claims") - a.data("claims")) || (a.id() < b.id() ? -1 : 1);
  }

  // Boxes in a coarse grid, to find what a box overlaps without looking at every box.
  function Grid() { this.cells = {}; }
  Grid.prototype.keys = function (b) {
    var out = [];
    for (var i = Math.floor(b.x1 / CELL); i <= Math.floor(b.x2 / CELL); i++)
      for (var j = Math.floor(b.y1 / CELL); j <= Math.floor(b.y2 / CELL); j++) out.push(i + "," + j);
    return out;
  };
  Grid.prototype.add = function (b) {
    var cells = this.cells;
    this.keys(b).forEach(function (k) { (cells[k] = cells[k] || []).push(b); });
  };
  Grid.prototype.hits = function (b, except) {
    var cells = this.cells;
    return this.keys(b).some(function (k) {
      return (cells[k] || []).some(function (o) {
        return o.node !== except && b.x1 < o.x2 + GAP && o.x1 < b.x2 + GAP && b.y1 < o.y2 + GAP && o.y1 < b.y2 + GAP;
      });
    });
  };

  var PLACES = ["", "lbl-top", "lbl-right", "lbl-left"];
  function declutter() {
    var nodes = cy.nodes().not(".off").sort(importance), labels = new Grid(), bodies = new Grid();
    var places = nodes.length > BIG ? [""] : PLACES;
    cy.batch(function () { nodes.removeClass("quiet labelled " + PLACES.join(" ")); });
    nodes.forEach(function (n) {
      var b = n.boundingBox({includeLabels: false, includeOverlays: false});
      bodies.add({x1: b.x1, x2: b.x2, y1: b.y1, y2: b.y2, node: n});
    });
    nodes.forEach(function (n) {
      var fallback = null;
      for (var i = 0; i < places.length; i++) {
        n.removeClass(PLACES.join(" ")).addClass(places[i]);
        var b = n.boundingBox({includeLabels: true, includeNodes: false, includeOverlays: false});
        var box = {x1: b.x1, x2: b.x2, y1: b.y1, y2: b.y2, node: n};
        if (labels.hits(box)) continue;
        if (!bodies.hits(box, n)) { fallback = null; labels.add(box); n.addClass("labelled"); return; }
        // only the case's core may put a label over another node (which it is drawn above)
        if (!fallback && n.hasClass("core")) fallback = {cls: places[i], box: box};
      }
      n.removeClass(PLACES.join(" "));
      if (fallback) { n.addClass(fallback.cls + " labelled"); labels.add(fallback.box); }
      else n.addClass("quiet");
    });
  }

  function relayout(done, first) {
    var eles = cy.elements().not(".off");
    var run = eles.layout(layoutFor(eles, eles.nodes().length, first));
    run.one("layoutstop", function () { declutter(); if (done) done(); });
    run.run();
  }

  // ---- status, legend, toggles, panel ----------------------------------------------
  function leftOut() { return cy.nodes().reduce(function (s, n) { return s + (n.data("hidden") || 0); }, 0); }

  function report() {
    if (!status) return;
    var visible = cy.nodes().not(".off"), folded = cy.nodes("[kind = 'card'][holder != '']").length;
    var parts = [visible.length + " " + WORDS.nodes, cy.edges().not(".off").length + " " + WORDS.edges];
    var left = leftOut();
    if (left) parts.push(left + " " + WORDS.leftOut);
    if (folded && !show.cards) parts.push(folded + " " + WORDS.folded);
    status.textContent = parts.join(" \u00b7 ");
  }

  function swatch(color, ring) {
    var s = el("span", {"class": "swatch" + (ring ? " ring" : "")});
    if (ring) s.style.borderColor = color; else s.style.backgroundColor = color;  // CSSOM: allowed by the CSP
    return s;
  }

  function legend() {
    var box = document.getElementById("net-legend");
    if (!box) return;
    box.textContent = "";
    KINDS.forEach(function (k) {
      var item = el("span", {"class": "k", "data-kind": k});
      item.appendChild(swatch(PAL.kinds[k])); item.appendChild(document.createTextNode(WORDS.kinds[k]));
      box.appendChild(item);
    });
    [["central", WORDS.central], ["new", WORDS.fresh]].forEach(function (m) {
      var item = el("span", {"class": "k", "data-mark": m[0]});
      item.appendChild(swatch(PAL.marks[m[0]], true)); item.appendChild(document.createTextNode(m[1]));
      box.appendChild(item);
    });
  }

  function toggles() {
    var box = document.getElementById("net-toggles");
    if (!box) return;
    box.textContent = "";
    [["terminal", WORDS.show + " " + WORDS.kinds.terminal], ["operator", WORDS.show + " " + WORDS.kinds.operator],
     ["cards", WORDS.apart]].forEach(function (t) {
      var label = el("label"), input = el("input", {type: "checkbox", name: "show-" + t[0]});
      input.checked = show[t[0]];
      input.addEventListener("change", function () {
        show[t[0]] = input.checked; apply(); relayout(); report();
      });
      label.appendChild(input); label.appendChild(document.createTextNode(" " + t[1]));
      box.appendChild(label);
    });
  }

  function fact(dl, k, v) { dl.appendChild(el("dt", {}, k)); dl.appendChild(el("dd", {}, cut(v, 60))); }

  function showPanel(node) {
    picked = node;
    panel.hidden = false;
    document.getElementById("node-title").textContent = cut(node.data("full"), 200);
    var dl = document.getElementById("node-facts");
    dl.textContent = "";
    fact(dl, WORDS.kind, word(WORDS.kinds, node.data("kind")));
    fact(dl, WORDS.role, word(WORDS.roles, node.data("role")));
    fact(dl, WORDS.claims, node.data("claims"));
    fact(dl, WORDS.left, node.data("hidden") || 0);
    var cards = cy.nodes("[kind = 'card']").filter(function (c) { return c.data("holder") === node.id(); });
    if (cards.length) fact(dl, WORDS.cards, cards.map(function (c) { return c.data("short"); }).join(", "));
    var link = document.getElementById("node-link"), tpl = box.dataset.entity;
    if (tpl) {
      var parts = node.id().split(":");
      link.href = tpl.replace("KIND", encodeURIComponent(parts[0])).replace("ID", encodeURIComponent(parts.slice(1).join(":")));
      link.hidden = false;
    }
    var btn = document.getElementById("expand");
    btn.disabled = !box.dataset.expand;
    btn.onclick = function () { expand(node, btn); };
  }

  function addElements(data) {
    var fresh = data.nodes.filter(function (n) { return cy.getElementById(n.data.id).empty(); }).map(shown);
    var edges = data.edges.filter(function (e) { return cy.getElementById(e.data.id).empty(); });
    return cy.add(fresh.concat(edges));
  }

  // Expand: the node's neighbours in the whole claims graph, marked "new", then the
  // layout runs again over everything (the old nodes start where they were).
  function expand(node, btn) {
    btn.disabled = true;
    getJSON(box.dataset.expand + "?node=" + encodeURIComponent(node.id())).then(function (data) {
      cy.nodes(".new").removeClass("new");
      var added = addElements(data);
      var mine = data.nodes.filter(function (n) { return n.data.id === node.id(); })[0];
      node.data("hidden", mine ? mine.data.hidden || 0 : 0);
      node.data("expanded", 1);
      var c = node.position(), k = 0, nodes = added.nodes(), r = 60 + nodes.length * 2;
      nodes.addClass("new").forEach(function (n) {
        var a = 2 * Math.PI * (k++) / Math.max(1, nodes.length);
        n.position({x: c.x + r * Math.cos(a), y: c.y + r * Math.sin(a)});
      });
      fold(); apply();
      relayout(function () {
        report(); showPanel(node); btn.disabled = false;
        box.dispatchEvent(new CustomEvent("expanded", {detail: {added: added.length}}));
      });
    }).catch(function (e) { status.textContent = cut(e.message, 200); btn.disabled = false; });
  }

  getJSON(box.dataset.network).then(function (data) {
    var n = data.nodes.length, big = n > BIG;
    cy = window.cytoscape({container: box, elements: data.nodes.map(shown).concat(data.edges),
      style: style(big), layout: {name: "preset"}, pixelRatio: 1,
      textureOnViewport: big, hideEdgesOnViewport: big, motionBlur: false});
    cy.nodes().forEach(function (node) {
      if (CENTRAL.indexOf(node.data("role")) >= 0) node.addClass("core");
    });
    if (box.dataset.focus) cy.getElementById(box.dataset.focus).addClass("core focus");
    cy.on("tap", "node", function (evt) { showPanel(evt.target); });
    cy.on("mouseover", "node", function (evt) { evt.target.addClass("hover"); });
    cy.on("mouseout", "node", function (evt) { evt.target.removeClass("hover"); });
    fold(); apply(); legend(); toggles();
    window.graphdetect = {cy: cy, declutter: declutter, picked: function () { return picked; }};
    relayout(function () { report(); box.dataset.ready = "1"; }, true);
  }).catch(function (e) { if (status) status.textContent = cut(e.message, 200); });
})();
