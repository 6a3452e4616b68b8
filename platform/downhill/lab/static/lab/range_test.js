/*
 * The LR range test page: loss against learning rate on a log-x SVG chart (raw loss faint,
 * smoothed loss bold), each suggestion a labelled vertical line with its "Use this rate" link,
 * polled while the test runs. No dependencies; the look lives in lab.css.
 */
(function () {
  "use strict";

  const M = { top: 14, right: 16, bottom: 42, left: 62 };
  const RULES = [
    ["steepest", "steepest"],
    ["min_div_10", "minimum ÷ 10"],
    ["valley", "valley"],
  ];

  const el = window.Downhill.svgElement;
  const text = window.Downhill.svgText;

  function fmt(v) {
    return v < 1e-3 || v >= 1e4 ? v.toExponential(1).replace("e+", "e") : String(Number(v.toPrecision(3)));
  }

  function finite(values) {
    return values.filter((v) => Number.isFinite(v));
  }

  /** The loss range to draw: up to 4.5x the best smoothed loss (where the test stops), so a
   * diverging last step does not flatten the curve. */
  function lossRange(series) {
    const smooth = finite(series.smoothed);
    const lo = Math.min(...smooth, ...finite(series.loss));
    const hi = Math.min(Math.max(...smooth, ...finite(series.loss)), 4.5 * Math.min(...smooth));
    const pad = (hi - lo) * 0.05 || 1;
    return [lo >= 0 ? Math.max(0, lo - pad) : lo - pad, hi + pad];
  }

  function draw(svg, series, suggestions) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const width = svg.clientWidth || 640;
    const height = 300;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    const box = { left: M.left, right: width - M.right, top: M.top, bottom: height - M.bottom };
    if (series.lr.length < 2) {
      text(svg, width / 2, height / 2, "No points yet", "lab-chart__empty");
      return;
    }
    const lx0 = Math.floor(Math.log10(series.lr[0]));
    const lx1 = Math.ceil(Math.log10(series.lr[series.lr.length - 1]));
    const [y0, y1] = lossRange(series);
    const x = (v) => box.left + ((Math.log10(v) - lx0) / (lx1 - lx0 || 1)) * (box.right - box.left);
    const y = (v) => box.bottom - ((Math.min(Math.max(v, y0), y1) - y0) / (y1 - y0)) * (box.bottom - box.top);
    const axes = el("g", { class: "lab-chart__axes" }, svg);
    el("line", { x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom }, axes);
    el("line", { x1: box.left, x2: box.left, y1: box.top, y2: box.bottom }, axes);
    const every = Math.max(1, Math.ceil((lx1 - lx0) / Math.max(2, Math.floor((box.right - box.left) / 70))));
    for (let p = lx0; p <= lx1; p += every) {
      el("line", { x1: x(10 ** p), x2: x(10 ** p), y1: box.bottom, y2: box.bottom + 4 }, axes);
      text(axes, x(10 ** p), box.bottom + 16, `1e${p}`, "lab-chart__tick");
    }
    for (let i = 0; i <= 4; i++) {
      const v = y0 + ((y1 - y0) * i) / 4;
      text(axes, box.left - 6, y(v) + 4, fmt(v), "lab-chart__tick", "end");
    }
    text(axes, (box.left + box.right) / 2, height - 6, "learning rate (log scale)", "lab-chart__label");
    const yTitle = text(axes, 14, (box.top + box.bottom) / 2, "training loss", "lab-chart__label");
    yTitle.setAttribute("transform", `rotate(-90 14 ${(box.top + box.bottom) / 2})`);
    const path = (values) => values.map((v, i) => `${i ? "L" : "M"}${x(series.lr[i]).toFixed(1)},${y(v).toFixed(1)}`).join("");
    el("path", { d: path(series.loss), class: "lab-chart__raw" }, svg);
    el("path", { d: path(series.smoothed), class: "lab-chart__smooth" }, svg);
    RULES.forEach(([key, label], i) => {
      const lr = suggestions && suggestions[key];
      if (!lr) return;
      el("line", { x1: x(lr), x2: x(lr), y1: box.top, y2: box.bottom, class: `lab-chart__rule lab-chart__rule--${i}` }, svg);
      const right = x(lr) > box.right - 120; // a label near the right edge reads leftwards
      const at = right ? x(lr) - 4 : x(lr) + 4;
      text(svg, at, box.top + 12 + 14 * i, `${label} ${fmt(lr)}`, `lab-chart__rule-label lab-chart__rule-label--${i}`, right ? "end" : "start");
    });
  }

  function showSuggestions(root, test) {
    const list = root.querySelector("[data-suggestions]");
    const s = test.suggestions;
    if (!s) return;
    list.replaceChildren();
    RULES.forEach(([key, label], i) => {
      if (!s[key]) return;
      const item = document.createElement("li");
      item.className = `lab-rule lab-rule--${i}`;
      const name = document.createElement("span");
      name.textContent = `${label}: ${fmt(s[key])}`;
      const use = document.createElement("a");
      use.className = "button";
      use.href = `${root.dataset.formUrl}&learning_rate=${encodeURIComponent(s[key].toPrecision(3))}`;
      use.textContent = "Use this rate";
      use.dataset.rule = key;
      item.append(name, " ", use);
      list.append(item);
    });
    const warning = root.querySelector("[data-warning]");
    warning.hidden = !s.warning;
    warning.textContent = s.warning || "";
  }

  let last = null; // the latest answer, drawn again when the width changes

  async function refresh(root, svg) {
    const test = await window.Downhill.getJson(root.dataset.detailUrl);
    draw(svg, test.series, test.suggestions);
    root.querySelector("[data-status]").textContent = test.status;
    root.querySelector("[data-stop]").textContent = test.error || test.stop_reason || "";
    showSuggestions(root, test);
    const active = test.status === "queued" || test.status === "running";
    const cancel = root.querySelector("[data-cancel]");
    if (cancel && !active) cancel.remove(); // finished: nothing left to cancel
    last = test;
    return active;
  }

  const root = document.querySelector("[data-range-test]");
  if (!root) return;
  const svg = root.querySelector("svg");
  window.addEventListener("resize", () => {
    if (last) draw(svg, last.series, last.suggestions);
  });
  async function loop() {
    try {
      if (await refresh(root, svg)) setTimeout(loop, 1000);
    } catch (error) {
      root.querySelector("[data-stop]").textContent = `Could not load the test: ${error.message}`;
    }
  }
  loop();
})();
