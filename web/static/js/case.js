/* graphdetect review UI: case and entity pages — shared helpers, the decision form,
   sortable tables (the network is in network.js, the timeline in timeline.js).
   No inline scripts (the Content-Security-Policy forbids them); data comes from the
   page's JSON twins. */
(function () {
  "use strict";
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
  // Shared with network.js and timeline.js (loaded after this file).
  window.graphdetectUI = {el: el, getJSON: getJSON, plain: plain, cut: cut};

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
