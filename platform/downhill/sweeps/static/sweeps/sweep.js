// The sweep page: trials table (sortable), parallel coordinates with brushing that filters the
// table (and greys the other panels' trials: event "sweep:filter"), best value so far against
// trial number. Data from the page's JSON (#sweep-data).
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var node = document.getElementById("sweep-data");
  if (!node) return;
  var data = JSON.parse(node.textContent);
  var trials = data.trials;
  var axes = data.params.concat([data.objective]);
  var brushes = {}; // axis -> [lo, hi] in the axis's value space (numeric) or index space
  var sortKey = "number", sortDir = 1;

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(e);
    return e;
  }
  window.DownhillSweep = { data: data, el: el }; // for the other panels (sweep_panels.js)
  function valueOf(t, axis) {
    return axis === data.objective ? t.value : t.params[axis];
  }
  function fmt(v) {
    if (v === null || v === undefined) return "–";
    if (typeof v === "number") return Math.abs(v) < 1e-3 && v !== 0 ? v.toExponential(2) : String(+v.toPrecision(4));
    return String(v);
  }

  // Each axis maps a value to 0..1 (0 at the bottom): numbers linear or log, others by index.
  function scaleFor(axis) {
    var spec = data.space[axis] || {};
    var values = trials.map(function (t) { return valueOf(t, axis); })
      .filter(function (v) { return v !== null && v !== undefined; });
    var numeric = values.length && values.every(function (v) { return typeof v === "number"; }) && spec.type !== "categorical";
    if (!numeric) {
      var cats = spec.values ? spec.values.slice() : Array.from(new Set(values.map(String)));
      cats = cats.map(String);
      return { cats: cats, at: function (v) { var i = cats.indexOf(String(v)); return cats.length < 2 ? 0.5 : i / (cats.length - 1); } };
    }
    var log = !!spec.log && values.every(function (v) { return v > 0; });
    var f = log ? Math.log : function (v) { return v; };
    var lo = Math.min.apply(null, values.map(f)), hi = Math.max.apply(null, values.map(f));
    if (hi === lo) { hi = lo + 1; lo = lo - 1; }
    return { lo: lo, hi: hi, log: log, at: function (v) { return (f(v) - lo) / (hi - lo); } };
  }

  function passes(t) {
    return axes.every(function (axis) {
      var b = brushes[axis];
      if (!b) return true;
      var v = valueOf(t, axis);
      if (v === null || v === undefined) return false;
      var y = scales[axis].at(v);
      return y >= b[0] - 1e-9 && y <= b[1] + 1e-9;
    });
  }

  var scales = {};
  axes.forEach(function (a) { scales[a] = scaleFor(a); });
  var finiteValues = trials.map(function (t) { return t.value; }).filter(function (v) { return typeof v === "number"; });
  var vmin = Math.min.apply(null, finiteValues), vmax = Math.max.apply(null, finiteValues);
  function colour(t) {
    if (typeof t.value !== "number" || !isFinite(vmin) || vmax === vmin) return "#888";
    var q = (t.value - vmin) / (vmax - vmin);
    if (data.direction === "maximize") q = 1 - q;
    return "hsl(" + Math.round(120 * (1 - q)) + ",70%,42%)";
  }

  var pc = document.querySelector("[data-pc]");
  var M = { top: 24, bottom: 28, left: 40, right: 40 };
  function drawPC() {
    while (pc.firstChild) pc.removeChild(pc.firstChild);
    var width = Math.max(pc.clientWidth || 600, 320), height = pc.clientHeight || 280;
    pc.setAttribute("viewBox", "0 0 " + width + " " + height);
    var step = (width - M.left - M.right) / Math.max(axes.length - 1, 1);
    var h = height - M.top - M.bottom;
    function x(i) { return M.left + i * step; }
    function y(u) { return M.top + (1 - u) * h; }
    trials.forEach(function (t) {
      var pts = [];
      axes.forEach(function (a, i) {
        var v = valueOf(t, a);
        if (v !== null && v !== undefined) pts.push(x(i) + "," + y(scales[a].at(v)));
      });
      if (pts.length < 2) return;
      el("polyline", { points: pts.join(" "), "class": "line" + (passes(t) ? "" : " off"), stroke: colour(t), "data-trial": t.number }, pc);
    });
    axes.forEach(function (a, i) {
      el("line", { x1: x(i), x2: x(i), y1: M.top, y2: M.top + h, "class": "axis" }, pc);
      var label = el("text", { x: x(i), y: 14, "text-anchor": "middle" }, pc);
      label.textContent = a;
      var s = scales[a];
      if (!s.cats) {  // a categorical axis names each of its values below instead
        var lo = el("text", { x: x(i), y: height - 8, "text-anchor": "middle" }, pc);
        lo.textContent = fmt(s.log ? Math.exp(s.lo) : s.lo);
        var hi = el("text", { x: x(i) + 4, y: M.top + 10 }, pc);
        hi.textContent = fmt(s.log ? Math.exp(s.hi) : s.hi);
      }
      if (s.cats) s.cats.forEach(function (c, k) {
        var ct = el("text", { x: x(i) + 4, y: y(s.at(c)) + 4 }, pc);
        ct.textContent = c;
      });
      if (brushes[a]) {
        el("rect", { x: x(i) - 8, width: 16, y: y(brushes[a][1]), height: Math.max(2, (brushes[a][1] - brushes[a][0]) * h), "class": "brush" }, pc);
      }
      var hit = el("rect", { x: x(i) - 12, width: 24, y: M.top, height: h, fill: "transparent", "data-axis": a }, pc);
      hit.style.cursor = "crosshair";
      attachBrush(hit, a, y, h);
    });
  }

  function attachBrush(hit, axis, y, h) {
    hit.addEventListener("pointerdown", function (ev) {
      var box = pc.getBoundingClientRect();
      var scaleY = (pc.viewBox.baseVal.height || box.height) / box.height;
      function u(e) { return Math.min(1, Math.max(0, 1 - ((e.clientY - box.top) * scaleY - M.top) / h)); }
      var start = u(ev), moved = false;
      function move(e) {
        moved = true;
        var now = u(e);
        brushes[axis] = [Math.min(start, now), Math.max(start, now)];
        update();
      }
      function up(e) {
        window.removeEventListener("pointermove", move);
        window.removeEventListener("pointerup", up);
        if (!moved || Math.abs(u(e) - start) < 0.01) delete brushes[axis];
        update();
      }
      window.addEventListener("pointermove", move);
      window.addEventListener("pointerup", up);
      ev.preventDefault();
    });
  }

  var tbody = document.querySelector("[data-trials] tbody");
  function sortValue(t) {
    if (sortKey.indexOf("param:") === 0) return t.params[sortKey.slice(6)];
    return t[sortKey];
  }
  function drawTable() {
    var rows = trials.slice().sort(function (a, b) {
      var x = sortValue(a), y = sortValue(b);
      if (x === y) return a.number - b.number;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * sortDir;
    });
    tbody.textContent = "";
    rows.forEach(function (t) {
      var tr = document.createElement("tr");
      tr.dataset.trial = t.number;
      tr.hidden = !passes(t);
      var cells = [String(t.number), t.state].concat(data.params.map(function (p) { return fmt(t.params[p]); }), [fmt(t.value)]);
      cells.forEach(function (text, i) {
        var td = document.createElement("td");
        td.textContent = text;
        if (i === cells.length - 1) td.className = "num";
        tr.appendChild(td);
      });
      var run = document.createElement("td");
      if (t.run) {
        var a = document.createElement("a");
        a.href = "/runs/" + t.run + "/";
        a.textContent = "#" + t.run;
        run.appendChild(a);
      }
      tr.appendChild(run);
      var why = document.createElement("td");
      why.className = "why";
      why.textContent = (t.prune && t.prune.message) || t.error || "";
      tr.appendChild(why);
      tbody.appendChild(tr);
    });
  }
  document.querySelectorAll("[data-trials] th[data-sort]").forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.getAttribute("data-sort");
      sortDir = key === sortKey ? -sortDir : 1;
      sortKey = key;
      drawTable();
    });
  });

  function drawHistory() {
    var svg = document.querySelector("[data-history]");
    var hist = data.history;
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var width = Math.max(svg.clientWidth || 600, 320), height = svg.clientHeight || 200;
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    if (!hist.length) { var t = el("text", { x: 20, y: 30 }, svg); t.textContent = "No completed trial yet."; return; }
    var n = Math.max.apply(null, hist.map(function (p) { return p.number; })) || 1;
    var vals = hist.map(function (p) { return p.value; });
    var lo = Math.min.apply(null, vals), hi = Math.max.apply(null, vals);
    if (hi === lo) { hi += 1; lo -= 1; }
    function x(k) { return 40 + (k / n) * (width - 60); }
    function y(v) { return 14 + (1 - (v - lo) / (hi - lo)) * (height - 40); }
    hist.forEach(function (p) { el("circle", { cx: x(p.number), cy: y(p.value), r: 3, "class": "dot" }, svg); });
    el("polyline", { points: hist.map(function (p) { return x(p.number) + "," + y(p.best); }).join(" "), "class": "best" }, svg);
    var a = el("text", { x: 4, y: 18 }, svg); a.textContent = fmt(hi);
    var b = el("text", { x: 4, y: height - 22 }, svg); b.textContent = fmt(lo);
    var c = el("text", { x: width - 60, y: height - 6 }, svg); c.textContent = "trial " + n;
  }

  // The other panels (sweep_panels.js) grey what the brush leaves out as well.
  function announce() {
    var kept = Object.keys(brushes).length ? trials.filter(passes).map(function (t) { return t.number; }) : null;
    document.dispatchEvent(new CustomEvent("sweep:filter", { detail: { kept: kept } }));
  }
  function update() { drawPC(); drawTable(); announce(); }
  update();
  drawHistory();
  window.addEventListener("resize", function () { drawPC(); drawHistory(); });
})();
