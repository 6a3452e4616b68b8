/*
 * A small SVG line chart for training curves: several series on shared axes, round tick
 * values, a legend and a hover readout. No dependencies; the look lives in style.css
 * (.chart__* classes, series colours .series-0, .series-1, ...).
 *
 *   const chart = new DownhillChart.LineChart(element, {
 *     series: [
 *       { key: "train_loss", label: "train loss" },
 *       { key: "val_loss", label: "validation loss", markers: true },
 *     ],
 *     yMin: 0, yMax: 1,        // optional hard bounds (the axis still fits the data inside them)
 *     format: (v) => "...",    // optional: how a value reads in the readout
 *     empty: "No points yet",  // shown until the first point arrives
 *   });
 *   chart.append("train_loss", [1, 2, 3], [2.3, 2.1, 1.9]);  // redrawn on the next frame
 */
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const MARGIN = { top: 10, right: 18, bottom: 28, left: 58 };
  const HEIGHT = 240;
  const MAX_MARKERS = 120; // past this many points a marker per point is only clutter

  function svgElement(name, attributes, parent) {
    const node = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  function htmlElement(tag, className, parent) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (parent) parent.appendChild(node);
    return node;
  }

  /** A round step (1, 2 or 5 times a power of ten) giving about `count` ticks over `span`. */
  function tickStep(span, count) {
    const raw = span / count;
    const power = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw * 0.999);
  }

  function ticksBetween(lo, hi, step) {
    const values = [];
    const first = Math.ceil(lo / step - 1e-9);
    for (let i = first; i * step <= hi + step * 1e-9; i++) values.push(i * step || 0); // no "-0"
    return values;
  }

  /** Tick labels with just the decimals their step needs; exponents for tiny or huge steps. */
  function tickFormatter(step) {
    if (step < 1e-4 || step >= 1e6) {
      return (v) => (v === 0 ? "0" : v.toExponential(2).replace(/\.?0+e/, "e"));
    }
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    return (v) => v.toLocaleString("en-US", { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  }

  function formatValue(v) {
    const size = Math.abs(v);
    if (v !== 0 && (size < 1e-3 || size >= 1e6)) return v.toExponential(3);
    return String(Number(v.toPrecision(4)));
  }

  function linear(d0, d1, r0, r1) {
    const k = (r1 - r0) / (d1 - d0);
    const scale = (v) => r0 + (v - d0) * k;
    scale.invert = (p) => d0 + (p - r0) / k;
    return scale;
  }

  /** Index of the step nearest to `step` in an ascending list. */
  function nearestIndex(steps, step) {
    let lo = 0;
    let hi = steps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (steps[mid] < step) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && step - steps[lo - 1] < steps[lo] - step ? lo - 1 : lo;
  }

  /**
   * The SVG path through a series. With more points than pixel columns, each column keeps its
   * first, lowest, highest and last point: the line looks the same and no spike is lost.
   */
  function linePath(series, x, y, columns) {
    const { steps, values } = series;
    const n = steps.length;
    const kept = [];
    if (n <= columns * 2) {
      for (let i = 0; i < n; i++) kept.push(i);
    } else {
      let column = null;
      let bucket = null;
      const flush = () => {
        if (bucket) kept.push(...[...new Set([bucket.first, bucket.lo, bucket.hi, bucket.last])].sort((a, b) => a - b));
      };
      for (let i = 0; i < n; i++) {
        const c = Math.floor(x(steps[i]));
        if (c !== column) {
          flush();
          column = c;
          bucket = { first: i, lo: i, hi: i, last: i };
        } else {
          bucket.last = i;
          if (values[i] < values[bucket.lo]) bucket.lo = i;
          if (values[i] > values[bucket.hi]) bucket.hi = i;
        }
      }
      flush();
    }
    let d = "";
    for (let j = 0; j < kept.length; j++) {
      const i = kept[j];
      d += (j ? "L" : "M") + x(steps[i]).toFixed(1) + "," + y(values[i]).toFixed(1);
    }
    return d;
  }

  class LineChart {
    constructor(root, options) {
      this.root = root;
      this.options = options;
      this.series = options.series.map((spec, index) => ({
        ...spec,
        index,
        steps: [],
        values: [],
        min: Infinity,
        max: -Infinity,
      }));
      this.view = null; // the scales of the last drawing, for the hover readout
      this.pointerX = null;
      this.frame = 0;

      root.replaceChildren();
      this.legend = htmlElement("div", "chart__legend", root);
      for (const s of this.series) {
        s.legendKey = htmlElement("span", "chart__key", this.legend);
        htmlElement("span", `chart__swatch series-${s.index}`, s.legendKey);
        s.legendKey.append(s.label);
      }
      this.svg = svgElement("svg", { role: "img", "aria-label": options.label || "" }, root);
      this.tooltip = htmlElement("div", "chart__tooltip", root);
      this.tooltip.hidden = true;

      this.svg.addEventListener("pointermove", (event) => {
        this.pointerX = event.clientX - this.svg.getBoundingClientRect().left;
        this.drawHover();
      });
      this.svg.addEventListener("pointerleave", () => {
        this.pointerX = null;
        this.drawHover();
      });
      new ResizeObserver(() => this.scheduleRender()).observe(root);
      this.scheduleRender();
    }

    /** Add points after the series' last step (older or repeated steps are ignored). */
    append(key, steps, values) {
      const s = this.series.find((candidate) => candidate.key === key);
      if (!s) return;
      const last = this.lastStep(key);
      for (let i = 0; i < steps.length; i++) {
        const value = values[i];
        if (steps[i] <= last || !Number.isFinite(value)) continue;
        s.steps.push(steps[i]);
        s.values.push(value);
        if (value < s.min) s.min = value;
        if (value > s.max) s.max = value;
      }
      this.scheduleRender();
    }

    lastStep(key) {
      const s = this.series.find((candidate) => candidate.key === key);
      return s && s.steps.length ? s.steps[s.steps.length - 1] : 0;
    }

    scheduleRender() {
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }

    render() {
      const width = this.root.clientWidth;
      if (!width) return; // not laid out (hidden); the resize observer calls again
      const svg = this.svg;
      svg.replaceChildren();
      svg.setAttribute("viewBox", `0 0 ${width} ${HEIGHT}`);
      svg.setAttribute("height", HEIGHT);
      const left = MARGIN.left;
      const right = width - MARGIN.right;
      const top = MARGIN.top;
      const bottom = HEIGHT - MARGIN.bottom;

      const drawn = this.series.filter((s) => s.steps.length);
      for (const s of this.series) s.legendKey.hidden = !s.steps.length;
      if (!drawn.length) {
        this.view = null;
        svgElement("line", { class: "chart__axis", x1: left, x2: right, y1: bottom, y2: bottom }, svg);
        const text = svgElement("text", { class: "chart__empty", x: (left + right) / 2, y: HEIGHT / 2, "text-anchor": "middle" }, svg);
        text.textContent = this.options.empty || "No points yet";
        this.drawHover();
        return;
      }

      // x: steps from 0 (or the first step) to the last one.
      let x0 = Math.min(0, ...drawn.map((s) => s.steps[0]));
      let x1 = Math.max(...drawn.map((s) => s.steps[s.steps.length - 1]));
      if (x1 <= x0) x1 = x0 + 1;
      const xStep = Math.max(1, tickStep(x1 - x0, Math.max(2, Math.floor((right - left) / 90))));

      // y: the data's range, widened to round ticks, inside the optional hard bounds.
      let y0 = Math.min(...drawn.map((s) => s.min));
      let y1 = Math.max(...drawn.map((s) => s.max));
      if (y1 - y0 < 1e-12) {
        const pad = Math.abs(y0) * 0.1 || 1;
        y0 -= pad;
        y1 += pad;
      }
      const yStep = tickStep(y1 - y0, 5);
      y0 = Math.floor(y0 / yStep + 1e-9) * yStep;
      y1 = Math.ceil(y1 / yStep - 1e-9) * yStep;
      if (this.options.yMin !== undefined) y0 = Math.max(y0, this.options.yMin);
      if (this.options.yMax !== undefined) y1 = Math.min(y1, this.options.yMax);

      const x = linear(x0, x1, left, right);
      const y = linear(y0, y1, bottom, top);
      this.view = { x, y, left, right, top, bottom, drawn };

      const axes = svgElement("g", {}, svg);
      const yLabel = tickFormatter(yStep);
      for (const v of ticksBetween(y0, y1, yStep)) {
        const py = Math.round(y(v)) + 0.5;
        svgElement("line", { class: "chart__grid", x1: left, x2: right, y1: py, y2: py }, axes);
        const label = svgElement("text", { class: "chart__tick", x: left - 8, y: py, "text-anchor": "end", "dominant-baseline": "middle" }, axes);
        label.textContent = yLabel(v);
      }
      const xLabel = tickFormatter(xStep);
      for (const v of ticksBetween(x0, x1, xStep)) {
        const px = Math.round(x(v)) + 0.5;
        svgElement("line", { class: "chart__axis", x1: px, x2: px, y1: bottom, y2: bottom + 4 }, axes);
        const label = svgElement("text", { class: "chart__tick", x: px, y: bottom + 18, "text-anchor": "middle" }, axes);
        label.textContent = xLabel(v);
      }
      svgElement("line", { class: "chart__axis", x1: left, x2: right, y1: bottom + 0.5, y2: bottom + 0.5 }, axes);

      const lines = svgElement("g", {}, svg);
      for (const s of drawn) {
        svgElement("path", { class: `chart__line series-${s.index}`, d: linePath(s, x, y, right - left) }, lines);
        if ((s.markers && s.steps.length <= MAX_MARKERS) || s.steps.length === 1) {
          for (let i = 0; i < s.steps.length; i++) {
            svgElement("circle", { class: `chart__marker series-${s.index}`, cx: x(s.steps[i]), cy: y(s.values[i]), r: 3 }, lines);
          }
        }
      }
      this.hover = svgElement("g", {}, svg);
      this.drawHover();
    }

    /** The crosshair and readout at the pointer: each series' point nearest to it. */
    drawHover() {
      const view = this.view;
      const px = this.pointerX;
      if (this.hover) this.hover.replaceChildren();
      if (!view || px === null || px < view.left - 4 || px > view.right + 4) {
        this.tooltip.hidden = true;
        return;
      }
      const step = view.x.invert(px);
      const points = view.drawn.map((s) => {
        const i = nearestIndex(s.steps, step);
        return { s, step: s.steps[i], value: s.values[i] };
      });
      const anchor = points.reduce((best, p) => (Math.abs(p.step - step) < Math.abs(best.step - step) ? p : best));
      const cx = Math.round(view.x(anchor.step)) + 0.5;
      svgElement("line", { class: "chart__crosshair", x1: cx, x2: cx, y1: view.top, y2: view.bottom }, this.hover);
      for (const p of points) {
        svgElement("circle", { class: `chart__marker series-${p.s.index}`, cx: view.x(p.step), cy: view.y(p.value), r: 4 }, this.hover);
      }

      const format = this.options.format || formatValue;
      const tooltip = this.tooltip;
      tooltip.replaceChildren();
      htmlElement("div", "subtle", tooltip).textContent = `step ${anchor.step.toLocaleString("en-US")}`;
      for (const p of points) {
        const row = htmlElement("div", "chart__tooltip-row", tooltip);
        htmlElement("span", `chart__swatch series-${p.s.index}`, row);
        row.append(p.s.label + (p.step !== anchor.step ? ` (step ${p.step.toLocaleString("en-US")})` : ""));
        htmlElement("strong", "", row).textContent = format(p.value);
      }
      tooltip.hidden = false;
      const room = this.root.clientWidth;
      const boxWidth = tooltip.offsetWidth;
      const leftSide = cx + 14 + boxWidth > room ? cx - 14 - boxWidth : cx + 14;
      tooltip.style.left = `${Math.max(0, leftSide)}px`;
      tooltip.style.top = `${this.svg.offsetTop + view.top + 4}px`;
    }
  }

  window.DownhillChart = { LineChart, formatValue };
})();
