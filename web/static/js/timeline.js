/* graphdetect review UI: the case page's timeline. Loaded after case.js, whose helpers
   (window.graphdetectUI) it uses. No inline scripts; data comes from the claims JSON twin. */
(function () {
  "use strict";
  var ui = window.graphdetectUI, el = ui.el, getJSON = ui.getJSON, plain = ui.plain, cut = ui.cut;

  // ---- timeline --------------------------------------------------------------------
  var tl = document.getElementById("timeline");
  var VCOL = {outpatient: "#2f6fb0", inpatient: "#c0392b", pharmacy: "#2e8b57"};
  function drawTimeline(claims) {
    if (!claims.length) { tl.textContent = "—"; return; }
    var t = function (s) { return new Date(s.replace(" ", "T")).getTime(); };
    var lo = Infinity, hi = -Infinity, rows = {}, order = [];
    claims.forEach(function (c) {
      var s = t(c.start_time), e = c.end_time ? t(c.end_time) : s;
      lo = Math.min(lo, s); hi = Math.max(hi, e);
      if (!(c.patient_id in rows)) { rows[c.patient_id] = order.length; order.push(c.patient_id); }
    });
    var cap = 200, shown = order.slice(0, cap), rowH = 14, left = 130, W = Math.max(600, tl.clientWidth - 10);
    var H = shown.length * rowH + 30, span = Math.max(1, hi - lo);
    var svg = el("svg", {width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img"});
    var x = function (v) { return left + (W - left - 10) * (v - lo) / span; };
    var d0 = new Date(lo); d0.setDate(1);
    for (var d = new Date(d0); d.getTime() <= hi; d.setMonth(d.getMonth() + 1)) {
      if (d.getTime() < lo) continue;
      svg.appendChild(el("line", {svg: 1, x1: x(d.getTime()), x2: x(d.getTime()), y1: 0, y2: H - 18, class: "tick"}));
      svg.appendChild(el("text", {svg: 1, x: x(d.getTime()) + 2, y: H - 5, class: "axis"},
        d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0")));
    }
    shown.forEach(function (p, i) {
      svg.appendChild(el("text", {svg: 1, x: 2, y: i * rowH + 11, class: "row"}, cut(p, 18)));
    });
    claims.forEach(function (c) {
      var i = rows[c.patient_id]; if (i >= cap) return;
      var s = t(c.start_time), y = i * rowH + 3, mark;
      if (c.visit_type === "inpatient" && c.end_time) {
        mark = el("rect", {svg: 1, x: x(s), y: y, width: Math.max(3, x(t(c.end_time)) - x(s)), height: rowH - 5, fill: VCOL.inpatient, opacity: 0.8});
      } else {
        mark = el("circle", {svg: 1, cx: x(s), cy: y + (rowH - 5) / 2, r: 3, fill: VCOL[c.visit_type] || "#555"});
      }
      mark.appendChild(el("title", {svg: 1}, cut(c.claim_id, 80) + " · " + plain(c.start_time) + " · " +
        cut(c.institution_id, 80) + " · ¥" + plain(c.total_amount)));
      svg.appendChild(mark);
    });
    tl.textContent = "";
    tl.appendChild(svg);
    if (order.length > cap) tl.appendChild(el("p", {class: "note"}, "+" + (order.length - cap)));
  }
  if (tl) getJSON(tl.dataset.claims).then(function (d) { drawTimeline(d.claims); });
})();
