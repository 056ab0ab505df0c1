/* graphdetect review UI: the case page's timeline, drawn the way each pattern's evidence
   reads — stays as lanes (overlaps and readmission gaps marked), swipes by hour of day,
   patients as rows with the detector's batches as bands. Loaded after case.js, whose
   helpers (window.graphdetectUI) it uses. No inline scripts or styles (the CSP forbids
   them); data comes from the claims JSON twin. Times are read and shown as written
   (as UTC, so the browser's time zone moves nothing). */
(function () {
  "use strict";
  var ui = window.graphdetectUI, el = ui.el, getJSON = ui.getJSON, plain = ui.plain, cut = ui.cut;
  var tl = document.getElementById("timeline");
  if (!tl) return;
  var ZH = document.body.dataset.lang === "zh";
  var DAY = 864e5, HOUR = 36e5, LEGEND = 22, AXIS = 24, CAP = 200;
  // On a phone the chart takes the card's width, its lane labels a narrower margin.
  var NARROW = tl.clientWidth < 600, LEFT = NARROW ? 96 : 150, LABEL = NARROW ? 13 : 22;
  var VCOL = {outpatient: "#2f6fb0", inpatient: "#c0392b", pharmacy: "#2e8b57"};
  var WORDS = {outpatient: ["门诊", "outpatient"], inpatient: ["住院", "inpatient stay"],
    pharmacy: ["购药", "pharmacy"], overlap: ["住院重叠", "overlapping stays"],
    gap: ["出院至再入院", "discharge to readmission"], batch: ["同批就诊", "detector's batch"],
    other: ["其他结算", "other claims"], days: ["天", "days"], hours: ["小时", "h"],
    gapOf: ["间隔", "gap"]};
  function w(k) { return WORDS[k][ZH ? 0 : 1]; }

  // "YYYY-MM-DD[ HH:MM[:SS]]" as milliseconds, read as UTC.
  function t(s) {
    var m = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d))?)?/.exec(plain(s));
    return m ? Date.UTC(+m[1], m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0)) : NaN;
  }
  function pad(n) { return String(n).padStart(2, "0"); }
  function dayOf(v) { return Math.floor(v / DAY) * DAY; }
  function label(c) { return c.institution_name || c.institution_id || "—"; }

  // The chart: an SVG with a legend on top, `rows` lanes of height `rowH`, a date axis.
  function chart(lo, hi, rows, rowH, legend) {
    var W = Math.max(NARROW ? 320 : 600, tl.clientWidth - 10), plotH = rows * rowH;
    var keys = placeLegend(legend, W), top = keys.height;
    var H = top + plotH + AXIS, span = Math.max(1, hi - lo);
    var svg = el("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img"});
    var c = {svg: svg, W: W, H: H, top: top, bottom: top + plotH, rowH: rowH,
      x: function (v) { return LEFT + (W - LEFT - 12) * (v - lo) / span; }};
    c.back = svg.appendChild(el("g", {svg: 1}));
    axis(c, lo, hi);
    drawLegend(c, keys.items);
    return c;
  }

  // Ticks at a step that fits the span (a day up to three months); every tick labelled,
  // the first and last anchored inside the chart so that neither is clipped.
  function axis(c, lo, hi) {
    var room = (c.W - LEFT) / 80, steps = [1, 2, 7, 14], step = null, ticks = [], i, v;
    for (i = 0; i < steps.length; i++) if ((hi - lo) / (steps[i] * DAY) <= room) { step = steps[i]; break; }
    if (step) {
      for (v = Math.ceil(lo / DAY) * DAY; v <= hi; v += step * DAY) ticks.push(v);
    } else {
      var months = [1, 3, 6, 12, 24, 60].filter(function (m) { return (hi - lo) / (m * 30 * DAY) <= room; })[0] || 120;
      var d = new Date(lo);
      d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
      for (; d.getTime() <= hi; d.setUTCMonth(d.getUTCMonth() + months)) if (d.getTime() >= lo) ticks.push(d.getTime());
    }
    c.svg.appendChild(el("line", {svg: 1, x1: LEFT, x2: c.W - 12, y1: c.bottom, y2: c.bottom, class: "baseline"}));
    ticks.forEach(function (v) {
      var d = new Date(v), x = c.x(v);
      var text = step ? pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) : d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1);
      var half = text.length * 3.2, anchor = x + half > c.W - 2 ? "end" : x - half < LEFT - 40 ? "start" : "middle";
      c.back.appendChild(el("line", {svg: 1, x1: x, x2: x, y1: c.top, y2: c.bottom + 4, class: "tick"}));
      c.svg.appendChild(el("text", {svg: 1, x: x, y: c.bottom + 16, "text-anchor": anchor, class: "axis"}, text));
    });
  }

  // Legend entries laid out in lines that fit the chart's width (a phone wraps them).
  function placeLegend(items, W) {
    var x = NARROW ? 4 : LEFT, y = 0;
    items.forEach(function (it) {
      var w = 24 + it.text.length * (ZH ? 11 : 6);
      if (x + w > W && x > (NARROW ? 4 : LEFT)) { x = NARROW ? 4 : LEFT; y += LEGEND - 4; }
      it.x = x; it.y = y; x += w;
    });
    return {items: items, height: y + LEGEND};
  }

  function drawLegend(c, items) {
    var g = c.svg.appendChild(el("g", {svg: 1, class: "legend"}));
    items.forEach(function (it) {
      var x = it.x, y = it.y;
      g.appendChild(it.circle ? el("circle", {svg: 1, cx: x + 5, cy: y + 10, r: 4, fill: it.color})
        : el("rect", {svg: 1, x: x, y: y + 5, width: 12, height: 10, fill: it.color, class: "key " + (it.cls || "")}));
      g.appendChild(el("text", {svg: 1, x: x + 16, y: y + 14, class: "legend-text"}, it.text));
    });
  }

  function laneLabel(c, i, text, kind) {
    var g = c.svg.appendChild(el("g", {svg: 1, class: "lane", "data-kind": kind}));
    if (i % 2) c.back.appendChild(el("rect", {svg: 1, x: 0, y: c.top + i * c.rowH, width: c.W, height: c.rowH, class: "stripe"}));
    g.appendChild(el("text", {svg: 1, x: 4, y: c.top + i * c.rowH + c.rowH / 2 + 4, class: "row"}, cut(text, LABEL)));
    return g;
  }

  function tip(mark, c) {
    mark.appendChild(el("title", {svg: 1}, cut(c.claim_id, 80) + " · " + plain(c.start_time) +
      (c.end_time ? " → " + plain(c.end_time) : "") + " · " + cut(label(c), 80) + " · ¥" + plain(c.total_amount)));
    return mark;
  }

  // A claim in lane i: a bar from admission to discharge, or a dot.
  function mark(ch, c, i) {
    var s = t(c.start_time), y = ch.top + i * ch.rowH, h = ch.rowH, m;
    if (c.visit_type === "inpatient" && c.end_time) {
      m = el("rect", {svg: 1, x: ch.x(s), y: y + h * 0.2, width: Math.max(3, ch.x(t(c.end_time)) - ch.x(s)),
        height: h * 0.6, fill: VCOL.inpatient, class: "stay"});
    } else {
      m = el("circle", {svg: 1, cx: ch.x(s), cy: y + h / 2, r: 3.5, fill: VCOL[c.visit_type] || "#555", class: "claim"});
    }
    ch.svg.appendChild(tip(m, c));
  }

  function visitLegend(claims) {
    var seen = {};
    claims.forEach(function (c) { seen[c.visit_type] = 1; });
    return Object.keys(VCOL).filter(function (k) { return seen[k]; })
      .map(function (k) { return {color: VCOL[k], text: w(k), circle: k !== "inpatient"}; });
  }

  function span(claims) {
    var lo = Infinity, hi = -Infinity;
    claims.forEach(function (c) {
      var s = t(c.start_time); lo = Math.min(lo, s); hi = Math.max(hi, c.end_time ? t(c.end_time) : s);
    });
    return [dayOf(lo), dayOf(hi) + DAY];
  }

  // Concurrent and split stays: one lane per stay, labelled with its hospital; where two
  // stays of one patient overlap the overlap is a band across both lanes; where a stay
  // follows another at the same hospital the gap from discharge to readmission is marked.
  function drawStays(claims) {
    var stays = claims.filter(function (c) { return c.visit_type === "inpatient" && c.end_time; })
      .sort(function (a, b) { return a.patient_id < b.patient_id ? -1 : a.patient_id > b.patient_id ? 1 : t(a.start_time) - t(b.start_time); });
    var others = claims.filter(function (c) { return stays.indexOf(c) < 0; });
    var patients = {}, legend = [{color: VCOL.inpatient, text: w("inpatient")}], overlaps = [], gaps = [];
    stays.forEach(function (c) { patients[c.patient_id] = 1; });
    var many = Object.keys(patients).length > 1;
    stays.forEach(function (a, i) {
      stays.slice(i + 1).forEach(function (b, k) {
        if (a.patient_id !== b.patient_id) return;
        var s = Math.max(t(a.start_time), t(b.start_time)), e = Math.min(t(a.end_time), t(b.end_time));
        if (s < e) overlaps.push([i, i + 1 + k, s, e]);
        else if (k === 0 && a.institution_id === b.institution_id) gaps.push([i, i + 1, t(a.end_time), t(b.start_time)]);
      });
    });
    if (overlaps.length) legend.push({color: "#f1c40f", text: w("overlap"), cls: "overlap"});
    if (gaps.length) legend.push({color: "#8e44ad", text: w("gap"), cls: "gap"});
    legend = legend.concat(visitLegend(others).filter(function (it) { return it.circle; }));
    var ext = span(claims), ch = chart(ext[0], ext[1], stays.length + (others.length ? 1 : 0), 30, legend);
    overlaps.forEach(function (o) {
      var r = el("rect", {svg: 1, x: ch.x(o[2]), y: ch.top + o[0] * ch.rowH, width: Math.max(2, ch.x(o[3]) - ch.x(o[2])),
        height: (o[1] - o[0] + 1) * ch.rowH, class: "overlap"});
      r.appendChild(el("title", {svg: 1}, w("overlap") + " " + ((o[3] - o[2]) / DAY).toFixed(1) + " " + w("days")));
      ch.back.appendChild(r);
    });
    stays.forEach(function (c, i) { laneLabel(ch, i, (i + 1) + ". " + (many ? cut(c.patient_id, 8) + " · " : "") + label(c), "stay"); mark(ch, c, i); });
    gaps.forEach(function (g) { drawGap(ch, g); });
    if (others.length) {
      laneLabel(ch, stays.length, w("other"), "other");
      others.forEach(function (c) { mark(ch, c, stays.length); });
    }
    return ch;
  }

  function drawGap(ch, g) {
    var x1 = ch.x(g[2]), x2 = Math.max(x1 + 2, ch.x(g[3])), y1 = ch.top + (g[0] + 0.5) * ch.rowH, y2 = ch.top + (g[1] + 0.5) * ch.rowH;
    var len = g[3] - g[2], text = w("gapOf") + " " + (len < 2 * DAY ? (len / HOUR).toFixed(1) + " " + w("hours") : (len / DAY).toFixed(1) + " " + w("days"));
    var grp = ch.svg.appendChild(el("g", {svg: 1, class: "gap"}));
    grp.appendChild(el("rect", {svg: 1, x: x1, y: y1 - 3, width: x2 - x1, height: y2 - y1 + 6, class: "gap-box"}));
    grp.appendChild(el("line", {svg: 1, x1: x1, x2: x1, y1: y1 - 8, y2: y2 + 8, class: "gap-edge"}));
    grp.appendChild(el("line", {svg: 1, x1: x2, x2: x2, y1: y1 - 8, y2: y2 + 8, class: "gap-edge"}));
    var right = x2 + 6 + text.length * 7 < ch.W;
    grp.appendChild(el("text", {svg: 1, x: right ? x2 + 6 : x1 - 6, y: (y1 + y2) / 2 + 4,
      "text-anchor": right ? "start" : "end", class: "gap-text"}, text));
    grp.appendChild(el("title", {svg: 1}, w("gap") + ": " + text));
  }

  // Card pooling and outpatient gathering: each swipe at its day (x) and time of day (y);
  // the detector's occasions shaded from their first to their last swipe.
  function drawSwipes(claims, batches) {
    var ext = span(claims), rowH = 10, ch = chart(ext[0], ext[1], 24, rowH,
      visitLegend(claims).concat(batches.length ? [{color: "#f1c40f", text: w("batch"), cls: "batch"}] : []));
    var y = function (h) { return ch.top + h * rowH; }, half = Math.max(2, (ch.x(DAY) - ch.x(0)) / 2);
    for (var h = 0; h <= 24; h += 3) {
      ch.back.appendChild(el("line", {svg: 1, x1: LEFT, x2: ch.W - 12, y1: y(h), y2: y(h), class: "tick"}));
      ch.svg.appendChild(el("text", {svg: 1, x: LEFT - 6, y: y(h) + 4, "text-anchor": "end", class: "hour"}, pad(h) + ":00"));
    }
    ch.svg.appendChild(el("g", {svg: 1, class: "lane", "data-kind": "hours"}));
    batches.forEach(function (b) {
      if (!b.from || !b.to) return;
      var d = t(b.first_day), f = t(b.first_day + " " + b.from) - d, e = t(b.first_day + " " + b.to) - d;
      // a run past midnight ("24:22") goes on at the top of the next day
      [[d, f, Math.min(e, DAY)], [d + DAY, 0, e - DAY]].forEach(function (p) {
        if (p[2] < p[1] || (p[0] > d && p[2] <= 0)) return;
        ch.back.appendChild(el("rect", {svg: 1, x: ch.x(p[0] + DAY / 2) - half, y: y(p[1] / HOUR) - 3,
          width: 2 * half, height: (p[2] - p[1]) / HOUR * rowH + 6, class: "batch"}));
      });
    });
    claims.forEach(function (c) {
      var s = t(c.start_time), hour = (s - dayOf(s)) / HOUR;
      ch.svg.appendChild(tip(el("circle", {svg: 1, cx: ch.x(dayOf(s) + DAY / 2), cy: y(hour), r: 3,
        fill: VCOL[c.visit_type] || "#555", class: "swipe", "data-hour": (Math.floor(hour * 100) / 100).toFixed(2)}), c));
    });
    return ch;
  }

  // Any other pattern: one row per patient; a ring's batches as bands across every row.
  function drawRows(claims, batches) {
    var rows = {}, order = [];
    claims.forEach(function (c) { if (!(c.patient_id in rows)) { rows[c.patient_id] = order.length; order.push(c.patient_id); } });
    var shown = order.slice(0, CAP), ext = span(claims);
    var ch = chart(ext[0], ext[1], shown.length, 14,
      visitLegend(claims).concat(batches.length ? [{color: "#f1c40f", text: w("batch"), cls: "batch"}] : []));
    batches.forEach(function (b) {
      var s = t(b.first_day), e = t(b.last_day) + DAY;
      var r = el("rect", {svg: 1, x: ch.x(s), y: ch.top, width: Math.max(3, ch.x(e) - ch.x(s)), height: ch.bottom - ch.top, class: "batch"});
      r.appendChild(el("title", {svg: 1}, w("batch") + " " + plain(b.first_day) + (b.last_day !== b.first_day ? " → " + plain(b.last_day) : "")));
      ch.back.appendChild(r);
    });
    shown.forEach(function (p, i) { laneLabel(ch, i, p, "patient"); });
    claims.forEach(function (c) { if (rows[c.patient_id] < CAP) mark(ch, c, rows[c.patient_id]); });
    return {ch: ch, more: order.length - shown.length};
  }

  var DRAW = {concurrent_stay: "stays", split_stay: "stays", card_pooling: "swipes", outpatient_gathering: "swipes"};
  function draw(d) {
    var claims = d.claims.filter(function (c) { return !isNaN(t(c.start_time)); }), kind = DRAW[d.pattern] || "rows";
    tl.textContent = "";
    if (!claims.length) { tl.textContent = "—"; return; }
    if (kind === "stays" && !claims.some(function (c) { return c.visit_type === "inpatient" && c.end_time; })) kind = "rows";
    var out = kind === "stays" ? {ch: drawStays(claims)} : kind === "swipes" ? {ch: drawSwipes(claims, d.batches || [])}
      : drawRows(claims, d.batches || []);
    tl.appendChild(out.ch.svg);
    if (out.more > 0) tl.appendChild(el("p", {class: "note"}, "+" + out.more));
    tl.dataset.kind = kind;
  }
  getJSON(tl.dataset.claims).then(draw).catch(function (e) { tl.textContent = cut(e.message, 200); })
    .then(function () { tl.dataset.ready = "1"; });
})();
