// The sweep page's other panels: the objective against each parameter (log x for log-scale
// parameters, categorical ones as strips), parameter importance (the API's fANOVA), and every
// trial's objective per epoch overlaid, the pruned ones dashed and ending in a cross at their
// rung. The parallel coordinates' brush (sweep.js, event "sweep:filter") greys the trials it
// leaves out here too.
(function () {
  "use strict";
  var shared = window.DownhillSweep; // the page's data and the SVG helper, from sweep.js
  if (!shared) return;
  var data = shared.data, el = shared.el, trials = data.trials;
  var kept = null; // trial numbers the brush keeps; null: all
  var importanceAnswer = null; // the API's answer, drawn again on resize

  function text(parent, x, y, content, attrs) {
    var t = el("text", Object.assign({ x: x, y: y }, attrs || {}), parent);
    t.textContent = content;
    return t;
  }
  function fmt(v) {
    if (typeof v !== "number") return String(v);
    if (v !== 0 && (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5)) return v.toExponential(1);
    return String(+v.toPrecision(3));
  }
  function finite(v) { return typeof v === "number" && isFinite(v); }
  function clear(svg) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var width = Math.max(svg.clientWidth || 300, 240), height = svg.clientHeight || 200;
    svg.setAttribute("viewBox", "0 0 " + width + " " + height);
    return { width: width, height: height };
  }
  function isKept(t) { return kept === null || kept.indexOf(t.number) >= 0; }
  function trialClass(base, t) {
    return base + " " + (t.state === "pruned" ? "pruned" : "complete") + (isKept(t) ? "" : " off");
  }
  function tip(parent, content) { el("title", {}, parent).textContent = content; }

  // A numeric axis: linear, or log when asked and every value is positive. Maps to 0..1.
  function numericScale(values, log) {
    log = log && values.every(function (v) { return v > 0; });
    var f = log ? Math.log10 : function (v) { return v; };
    var lo = Math.min.apply(null, values.map(f)), hi = Math.max.apply(null, values.map(f));
    if (hi === lo) { hi = lo + 1; lo = lo - 1; }
    return {
      log: log,
      at: function (v) { return (f(v) - lo) / (hi - lo); },
      lo: log ? Math.pow(10, lo) : lo,
      hi: log ? Math.pow(10, hi) : hi,
    };
  }
  // The objective spans decades when a learning rate diverges: log y when it does.
  function objectiveScale(values) {
    var positive = values.length && values.every(function (v) { return v > 0; });
    var spread = positive ? Math.max.apply(null, values) / Math.min.apply(null, values) : 1;
    return numericScale(values, spread > 10);
  }

  var M = { top: 12, right: 12, bottom: 30, left: 52 };

  function yAxis(svg, box, scale) {
    var h = box.height - M.top - M.bottom;
    el("line", { x1: M.left, x2: M.left, y1: M.top, y2: M.top + h, "class": "axis" }, svg);
    el("line", { x1: M.left, x2: box.width - M.right, y1: M.top + h, y2: M.top + h, "class": "axis" }, svg);
    text(svg, M.left - 4, M.top + 8, fmt(scale.hi), { "text-anchor": "end" });
    text(svg, M.left - 4, M.top + h, fmt(scale.lo), { "text-anchor": "end" });
    if (scale.log) text(svg, M.left - 4, M.top + 22, "log", { "text-anchor": "end", "class": "axis-name" });
    return h;
  }

  // --- objective against each parameter -------------------------------------------------
  var scatterGrid = document.querySelector("[data-scatter]");
  function drawScatter() {
    if (!scatterGrid) return;
    scatterGrid.textContent = "";
    var valued = trials.filter(function (t) { return finite(t.value); });
    if (!valued.length) { scatterGrid.textContent = "No trial has a value yet."; return; }
    var ys = objectiveScale(valued.map(function (t) { return t.value; }));
    data.params.forEach(function (param) {
      var figure = document.createElement("figure");
      figure.className = "scatter";
      var caption = document.createElement("figcaption");
      caption.textContent = param;
      figure.appendChild(caption);
      var svg = el("svg", { role: "img", "aria-label": data.objective + " against " + param, "data-param": param }, figure);
      scatterGrid.appendChild(figure);
      drawOneScatter(svg, param, valued, ys);
    });
  }
  function drawOneScatter(svg, param, valued, ys) {
    var box = clear(svg), spec = data.space[param] || {};
    var h = yAxis(svg, box, ys);
    var w = box.width - M.left - M.right;
    var points = valued.filter(function (t) { return t.params[param] !== undefined && t.params[param] !== null; });
    var x;
    if (spec.type === "categorical") {  // a strip per value, points spread inside it
      var cats = spec.values.map(String), band = w / cats.length;
      cats.forEach(function (c, i) {
        text(svg, M.left + band * (i + 0.5), box.height - 12, c, { "text-anchor": "middle" });
      });
      x = function (t) {
        var jitter = ((t.number * 0.618034) % 1 - 0.5) * band * 0.5;
        return M.left + band * (cats.indexOf(String(t.params[param])) + 0.5) + jitter;
      };
    } else {
      var xs = numericScale(points.map(function (t) { return t.params[param]; }).concat([spec.low, spec.high]).filter(finite), !!spec.log);
      text(svg, M.left, box.height - 12, fmt(xs.lo), { "text-anchor": "start" });
      text(svg, M.left + w, box.height - 12, fmt(xs.hi), { "text-anchor": "end" });
      if (xs.log) text(svg, M.left + w / 2, box.height - 12, "log scale", { "text-anchor": "middle", "class": "axis-name" });
      x = function (t) { return M.left + xs.at(t.params[param]) * w; };
    }
    points.forEach(function (t) {
      var dot = el("circle", { cx: x(t), cy: M.top + (1 - ys.at(t.value)) * h, r: 4, "class": trialClass("dot", t), "data-trial": t.number }, svg);
      tip(dot, "#" + t.number + " " + param + " = " + fmt(t.params[param]) + ": " + data.objective + " " + fmt(t.value) + (t.state === "pruned" ? " (pruned)" : ""));
    });
  }

  // --- every trial's objective per epoch --------------------------------------------------
  var curves = document.querySelector("[data-curves]");
  function series(t) {
    return Object.keys(t.intermediate || {})
      .map(function (k) { return [Number(k), t.intermediate[k]]; })
      .filter(function (p) { return finite(p[1]); })
      .sort(function (a, b) { return a[0] - b[0]; });
  }
  function drawCurves() {
    if (!curves) return;
    var box = clear(curves);
    var all = trials.map(function (t) { return { trial: t, points: series(t) }; })
      .filter(function (s) { return s.points.length; });
    if (!all.length) { text(curves, 20, 30, "No epoch has been reported yet."); return; }
    var values = [], last = 1;
    all.forEach(function (s) { s.points.forEach(function (p) { values.push(p[1]); last = Math.max(last, p[0]); }); });
    var ys = objectiveScale(values);
    var h = yAxis(curves, box, ys);
    var w = box.width - M.left - M.right;
    function x(epoch) { return M.left + (last === 1 ? 0.5 : (epoch - 1) / (last - 1)) * w; }
    function y(v) { return M.top + (1 - ys.at(v)) * h; }
    text(curves, M.left, box.height - 12, "epoch 1", { "text-anchor": "start" });
    text(curves, M.left + w, box.height - 12, "epoch " + last, { "text-anchor": "end" });
    all.sort(function (a, b) { return isKept(a.trial) - isKept(b.trial); }); // kept ones on top
    all.forEach(function (s) {
      var t = s.trial, g = el("g", { "class": trialClass("curve", t), "data-trial": t.number }, curves);
      var pts = s.points.map(function (p) { return x(p[0]) + "," + y(p[1]); }).join(" ");
      el("polyline", { points: pts }, g);
      if (last <= 30) s.points.forEach(function (p) { el("circle", { cx: x(p[0]), cy: y(p[1]), r: 2 }, g); });
      var end = s.points[s.points.length - 1], ex = x(end[0]), ey = y(end[1]);
      if (t.state === "pruned") {  // a cross where it stopped: its rung
        el("path", { d: "M" + (ex - 4) + "," + (ey - 4) + "l8,8m0,-8l-8,8", "class": "mark" }, g);
      }
      tip(g, "#" + t.number + " (" + t.state + "): " + data.objective + " " + fmt(end[1]) + " at epoch " + end[0] +
        (t.prune && t.prune.message ? " — " + t.prune.message : ""));
    });
  }

  // --- parameter importance ----------------------------------------------------------------
  var importance = document.querySelector("[data-importance]");
  function drawImportance(answer) {
    var names = Object.keys(answer.importance || {});
    var note = document.querySelector("[data-importance-note]");
    if (!names.length) {
      importance.hidden = true;
      note.textContent = "Importance " + (answer.message || "is not available yet.");
      return;
    }
    note.textContent = "Optuna's " + answer.evaluator + " evaluator over the completed trials; the shares add up to 1.";
    importance.setAttribute("height", String(names.length * 26 + 8));
    var box = clear(importance), label = 120, right = 48;
    var w = Math.max(box.width - label - right, 40);
    names.forEach(function (name, i) {
      var share = answer.importance[name], y = 4 + i * 26;
      text(importance, label - 6, y + 15, name, { "text-anchor": "end" });
      var bar = el("rect", { x: label, y: y + 3, width: Math.max(share * w, 1), height: 16, "class": "bar", "data-param": name }, importance);
      tip(bar, name + ": " + (share * 100).toFixed(1) + " %");
      text(importance, label + share * w + 4, y + 15, (share * 100).toFixed(0) + " %");
    });
  }
  function loadImportance() {
    if (!importance) return;
    var url = importance.getAttribute("data-importance");
    window.Downhill.getJson(url).then(function (answer) {
      importanceAnswer = answer;
      drawImportance(answer);
    }).catch(function (error) {
      document.querySelector("[data-importance-note]").textContent = "Importance could not be loaded: " + error.message;
    });
  }

  function draw() { drawScatter(); drawCurves(); if (importanceAnswer) drawImportance(importanceAnswer); }
  document.addEventListener("sweep:filter", function (event) {
    kept = event.detail.kept;
    drawScatter();
    drawCurves();
  });
  draw();
  loadImportance();
  window.addEventListener("resize", draw);
})();
