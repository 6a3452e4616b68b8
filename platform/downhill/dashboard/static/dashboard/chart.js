/*
 * Small SVG charts for training curves, with no dependencies; the look lives in style.css
 * (.chart__* classes, series colours .series-0 … .series-9).
 *
 * LineChart: several series on shared axes, round ticks, a legend, a hover readout, an
 * optional log scale, an exponential moving average drawn over a series' raw line
 * (`smooth: true`), and events marked as vertical lines. A series with more points than the
 * plot has pixel columns is drawn as a min/max band per column with a line through each
 * column's last value, so a one-step spike stays visible at every zoom.
 *
 *   const chart = new DownhillChart.LineChart(element, {
 *     series: [
 *       { key: "train_loss", label: "train loss", smooth: true },
 *       { key: "val_loss", label: "validation loss", markers: true, color: 1 },
 *     ],                       // a series may also name a shorter `legend` and `tooltip` label
 *     yMin: 0, yMax: 1,        // optional hard bounds (the axis still fits the data inside them)
 *     format: (v) => "...",    // optional: how a value reads in the readout
 *     empty: "No points yet",  // shown until the first point arrives
 *     height: 240,
 *   });
 *   chart.append("train_loss", [1, 2, 3], [2.3, 2.1, 1.9]);  // redrawn on the next frame
 *   chart.append("train_loss", steps, values, xs);  // drawn at xs (epochs, samples, seconds)
 *   chart.setSmoothing(0.6); chart.setLogScale(true);
 *   chart.setEvents([{ step: 120, label: "decay", detail: "lr 0.001" }]);
 *   chart.setAxis({ title: "epoch", format: (x) => ..., unit: "epoch" });  // clears the series
 *
 * Zoom: drag across the plot to zoom into that x range, double-click to reset;
 * `onZoom(range | null)` tells the page (to zoom its other charts with setZoom and to read
 * the range at finer resolution: setDetail). `onCursor(x | null)` reports the hover position
 * so a page can show the same cursor on its other charts (showCursor).
 *
 * ScatterChart: predicted against actual values, with the diagonal where they agree.
 */
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const MARGIN = { top: 12, right: 18, bottom: 30, left: 60 };
  const HEIGHT = 240;
  const MAX_MARKERS = 120; // past this many points a marker per point is only clutter
  const COLOURS = 10; // .series-0 … .series-9 in style.css

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

  function formatLogTick(v) {
    const size = Math.abs(v);
    if (size < 1e-3 || size >= 1e5) return v.toExponential(0).replace("e+", "e");
    return String(Number(v.toPrecision(3)));
  }

  function linear(d0, d1, r0, r1) {
    const k = (r1 - r0) / (d1 - d0);
    const scale = (v) => r0 + (v - d0) * k;
    scale.invert = (p) => d0 + (p - r0) / k;
    return scale;
  }

  /** A log10 scale over positive values; zero and negatives fall off the bottom. */
  function logarithmic(d0, d1, r0, r1) {
    const inner = linear(Math.log10(d0), Math.log10(d1), r0, r1);
    const scale = (v) => (v > 0 ? inner(Math.log10(v)) : r0 + 1e4);
    scale.invert = (p) => Math.pow(10, inner.invert(p));
    return scale;
  }

  /** Ticks of a log axis: every power of ten, with 2 and 5 between when there are few decades. */
  function logTicks(lo, hi) {
    const first = Math.floor(Math.log10(lo));
    const last = Math.ceil(Math.log10(hi));
    const decades = last - first;
    const multiples = decades <= 2 ? [1, 2, 5] : [1];
    const every = Math.max(1, Math.ceil(decades / 6));
    const ticks = [];
    for (let e = first; e <= last; e += every) {
      for (const m of multiples) {
        const v = m * Math.pow(10, e);
        if (v >= lo * 0.999 && v <= hi * 1.001) ticks.push(v);
      }
    }
    return ticks;
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
   * TensorBoard's smoothing: an exponential moving average with weight w, debiased so the
   * first points are not pulled towards zero. w = 0 returns the values unchanged.
   */
  function smoothed(values, weight) {
    if (!weight) return values;
    const out = new Array(values.length);
    let last = 0;
    let count = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      last = last * weight + (1 - weight) * v;
      count++;
      out[i] = last / (1 - Math.pow(weight, count));
    }
    return out;
  }

  /**
   * A dense series (more points than pixel columns) summarised per column: each
   * column's x pixel and its lowest, highest and last point (indexes). Null when the series is
   * sparse enough to draw point by point.
   */
  function columnsOf(xs, values, x, columns) {
    const n = xs.length;
    if (n <= columns) return null;
    const out = [];
    let bucket = null;
    for (let i = 0; i < n; i++) {
      const c = Math.floor(x(xs[i]));
      if (!bucket || c !== bucket.c) {
        bucket = { c, lo: i, hi: i, last: i };
        out.push(bucket);
        continue;
      }
      bucket.last = i;
      if (values[i] < values[bucket.lo]) bucket.lo = i;
      if (values[i] > values[bucket.hi]) bucket.hi = i;
    }
    return out;
  }

  /** The SVG path through points (indexes `kept`, default all) of xs/values. */
  function linePath(xs, values, x, y, kept) {
    let d = "";
    const n = kept ? kept.length : xs.length;
    for (let j = 0; j < n; j++) {
      const i = kept ? kept[j] : j;
      d += (j ? "L" : "M") + x(xs[i]).toFixed(1) + "," + y(values[i]).toFixed(1);
    }
    return d;
  }

  /** The min/max band of a dense series: along every column's highest point, back along the
   *  lowest. A one-step spike is its column's highest point, so it is never averaged away. */
  function bandPath(columns, values, y) {
    let top = "";
    let bottom = "";
    for (let j = 0; j < columns.length; j++) {
      const { c, hi } = columns[j];
      top += (j ? "L" : "M") + (c + 0.5) + "," + y(values[hi]).toFixed(1);
    }
    for (let j = columns.length - 1; j >= 0; j--) {
      const { c, lo } = columns[j];
      bottom += "L" + (c + 0.5) + "," + y(values[lo]).toFixed(1);
    }
    return top + bottom + "Z";
  }

  /** The y range of some series' values: [min, max] of the finite ones (positive on a log axis). */
  function valueRange(seriesList, positiveOnly) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of seriesList) {
      if (!positiveOnly) {
        lo = Math.min(lo, s.min);
        hi = Math.max(hi, s.max);
        continue;
      }
      for (const v of s.values) {
        if (v > 0) {
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
    }
    return [lo, hi];
  }

  class BaseChart {
    constructor(root, options) {
      this.root = root;
      this.options = options;
      this.height = options.height || HEIGHT;
      this.view = null; // the scales of the last drawing, for the hover readout
      this.pointer = null;
      this.frame = 0;
      root.replaceChildren();
      this.legend = htmlElement("div", "chart__legend", root);
      this.svg = svgElement("svg", { role: "img", "aria-label": options.label || "" }, root);
      this.tooltip = htmlElement("div", "chart__tooltip", root);
      this.tooltip.hidden = true;
      this.svg.addEventListener("pointermove", (event) => {
        const box = this.svg.getBoundingClientRect();
        this.pointer = { x: event.clientX - box.left, y: event.clientY - box.top };
        this.drawHover();
      });
      this.svg.addEventListener("pointerleave", () => {
        this.pointer = null;
        this.drawHover();
      });
      new ResizeObserver(() => this.scheduleRender()).observe(root);
    }

    scheduleRender() {
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.render();
      });
    }

    /** Empty axes with a message; false when the chart has a size and something to draw. */
    prepare(hasData) {
      const width = this.root.clientWidth;
      if (!width) return null; // not laid out (hidden); the resize observer calls again
      const svg = this.svg;
      svg.replaceChildren();
      svg.setAttribute("viewBox", `0 0 ${width} ${this.height}`);
      svg.setAttribute("height", this.height);
      const box = { left: MARGIN.left, right: width - MARGIN.right, top: MARGIN.top, bottom: this.height - MARGIN.bottom };
      if (!hasData) {
        this.view = null;
        svgElement("line", { class: "chart__axis", x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom }, svg);
        const text = svgElement("text", { class: "chart__empty", x: (box.left + box.right) / 2, y: this.height / 2, "text-anchor": "middle" }, svg);
        text.textContent = this.options.empty || "No points yet";
        this.drawHover();
        return null;
      }
      return box;
    }

    drawYAxis(group, box, y, ticks, label) {
      for (const v of ticks) {
        const py = Math.round(y(v)) + 0.5;
        svgElement("line", { class: "chart__grid", x1: box.left, x2: box.right, y1: py, y2: py }, group);
        const text = svgElement("text", { class: "chart__tick", x: box.left - 8, y: py, "text-anchor": "end", "dominant-baseline": "middle" }, group);
        text.textContent = label(v);
      }
    }

    drawXAxis(group, box, x, ticks, label, title) {
      for (const v of ticks) {
        const px = Math.round(x(v)) + 0.5;
        svgElement("line", { class: "chart__axis", x1: px, x2: px, y1: box.bottom, y2: box.bottom + 4 }, group);
        const text = svgElement("text", { class: "chart__tick", x: px, y: box.bottom + 18, "text-anchor": "middle" }, group);
        text.textContent = label(v);
      }
      svgElement("line", { class: "chart__axis", x1: box.left, x2: box.right, y1: box.bottom + 0.5, y2: box.bottom + 0.5 }, group);
      if (title) {
        // Under the y labels, where no tick can collide with it.
        const text = svgElement("text", { class: "chart__axis-title", x: box.left - 8, y: box.bottom + 18, "text-anchor": "end" }, group);
        text.textContent = title;
      }
    }

    placeTooltip(anchorX, top) {
      const tooltip = this.tooltip;
      tooltip.hidden = false;
      const room = this.root.clientWidth;
      const boxWidth = tooltip.offsetWidth;
      const leftSide = anchorX + 14 + boxWidth > room ? anchorX - 14 - boxWidth : anchorX + 14;
      tooltip.style.left = `${Math.max(0, leftSide)}px`;
      tooltip.style.top = `${this.svg.offsetTop + top}px`;
    }
  }

  class LineChart extends BaseChart {
    constructor(root, options) {
      super(root, options);
      this.smoothing = options.smoothing || 0;
      this.logScale = Boolean(options.logScale);
      this.events = [];
      this.series = options.series.map((spec, index) => this.makeSeries(spec, index));
      this.axis = options.axis || null;
      this.zoom = null;
      this.remoteX = null;
      this.bindZoom();
      this.scheduleRender();
    }

    makeSeries(spec, index) {
      const s = { ...spec, index, colour: (spec.color ?? index) % COLOURS, steps: [], xs: [], values: [], min: Infinity, max: -Infinity, detail: null };
      s.legendKey = htmlElement("span", "chart__key", this.legend);
      htmlElement("span", `chart__swatch series-${s.colour}${spec.dashed ? " chart__swatch--dashed" : ""}`, s.legendKey);
      s.legendKey.append(spec.legend || s.label);
      if (spec.legend) s.legendKey.title = s.label;
      return s;
    }

    find(key) {
      return this.series.find((candidate) => candidate.key === key);
    }

    /** Add points after the series' last step (older or repeated steps are ignored), drawn at
     *  `xs` (default: the steps). */
    append(key, steps, values, xs) {
      const s = this.find(key);
      if (!s) return;
      const last = this.lastStep(key);
      const before = s.steps.length;
      for (let i = 0; i < steps.length; i++) {
        const value = values[i];
        if (steps[i] <= last || value === null || !Number.isFinite(value)) continue;
        s.steps.push(steps[i]);
        s.xs.push(xs ? xs[i] : steps[i]);
        s.values.push(value);
        if (value < s.min) s.min = value;
        if (value > s.max) s.max = value;
      }
      // A live poll mostly brings nothing new for most series: no redraw, no re-smoothing.
      if (s.steps.length === before) return;
      s.smoothCache = null;
      this.scheduleRender();
    }

    /** Replace a series' points (a fresh downsampled read of a long run). */
    replace(key, steps, values, xs) {
      const s = this.find(key);
      if (!s) return;
      Object.assign(s, { steps: [], xs: [], values: [], min: Infinity, max: -Infinity, smoothCache: null, detail: null });
      this.append(key, steps, values, xs);
      this.scheduleRender(); // also when it is now empty
    }

    lastStep(key) {
      const s = this.find(key);
      return s && s.steps.length ? s.steps[s.steps.length - 1] : 0;
    }

    count(key) {
      const s = this.find(key);
      return s ? s.steps.length : 0;
    }

    /** Another x axis: {title, format(x) for the readout}; every series starts empty. */
    setAxis(axis) {
      this.axis = axis;
      this.zoom = null;
      for (const s of this.series) this.replace(s.key, [], []);
    }

    /** Show the x range [a, b] (null: everything). */
    setZoom(range) {
      this.zoom = range;
      if (!range) for (const s of this.series) s.detail = null;
      this.scheduleRender();
    }

    /** Finer points of a series inside the zoomed range, drawn there instead of its overview. */
    setDetail(key, steps, values, xs) {
      const s = this.find(key);
      if (!s || !this.zoom) return;
      const keep = values.map((v, i) => i).filter((i) => values[i] !== null && Number.isFinite(values[i]));
      s.detail = { steps: keep.map((i) => steps[i]), xs: keep.map((i) => xs[i]), values: keep.map((i) => values[i]) };
      s.smoothCache = null;
      this.scheduleRender();
    }

    /** The steps that cover the x range [a, b] in a series: (since_step, until_step) of a
     *  read, from the last point before a to the first after b (null: no points). */
    stepRange(key, range) {
      const s = this.find(key);
      if (!s || !s.steps.length) return null;
      const n = s.xs.length;
      let i = nearestIndex(s.xs, range[0]);
      while (i > 0 && s.xs[i] >= range[0]) i--;
      let j = nearestIndex(s.xs, range[1]);
      while (j < n - 1 && s.xs[j] <= range[1]) j++;
      return [i === 0 ? 0 : s.steps[i], j === n - 1 ? null : s.steps[j]];
    }

    /** The cursor of another chart of the page at x (null hides it). */
    showCursor(xValue) {
      this.remoteX = xValue;
      if (!this.pointer) this.drawHover();
    }

    setSmoothing(weight) {
      this.smoothing = weight;
      this.scheduleRender();
    }

    setLogScale(on) {
      this.logScale = Boolean(on);
      this.scheduleRender();
    }

    /** Events to mark: [{step, label, detail?}], drawn as vertical lines across the plot. */
    setEvents(events) {
      this.events = events;
      this.scheduleRender();
    }

    smoothValues(s) {
      if (!s.smooth || !this.smoothing) return null;
      const points = this.pointsOf(s);
      const cache = s.smoothCache;
      if (cache && cache.weight === this.smoothing && cache.points === points && cache.length === points.values.length) return cache.values;
      const values = smoothed(points.values, this.smoothing);
      s.smoothCache = { weight: this.smoothing, points, length: points.values.length, values };
      return values;
    }

    /** What a series draws: its finer points inside a zoomed range when read, else all of it. */
    pointsOf(s) {
      return this.zoom && s.detail && s.detail.xs.length ? s.detail : s;
    }

    /** The x range shown: the zoom, else from 0 (or the first x) to the last x. */
    xRange(drawn) {
      if (this.zoom) return this.zoom;
      const x0 = Math.min(0, ...drawn.map((p) => p.xs[0]));
      const x1 = Math.max(...drawn.map((p) => p.xs[p.xs.length - 1]));
      return [x0, x1 <= x0 ? x0 + 1 : x1];
    }

    /** [min, max] of the values drawn inside [x0, x1] (positive only on a log axis). */
    yRange(drawn, x0, x1, positiveOnly) {
      if (!this.zoom && !positiveOnly) return valueRange(drawn.map((p) => p.s), false);
      let lo = Infinity;
      let hi = -Infinity;
      for (const p of drawn) {
        for (let i = 0; i < p.xs.length; i++) {
          const v = p.values[i];
          if (p.xs[i] < x0 || p.xs[i] > x1 || (positiveOnly && v <= 0)) continue;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
      return lo <= hi ? [lo, hi] : valueRange(drawn.map((p) => p.s), positiveOnly);
    }

    yScale(drawn, x0, x1, box, log) {
      let [y0, y1] = this.yRange(drawn, x0, x1, log);
      if (log) {
        if (y1 / y0 < 1.0001) {
          y0 /= 2;
          y1 *= 2;
        }
        y0 = Math.pow(10, Math.floor(Math.log10(y0) * 4) / 4);
        y1 = Math.pow(10, Math.ceil(Math.log10(y1) * 4) / 4);
        return { y: logarithmic(y0, y1, box.bottom, box.top), ticks: logTicks(y0, y1), label: formatLogTick };
      }
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
      return { y: linear(y0, y1, box.bottom, box.top), ticks: ticksBetween(y0, y1, yStep), label: tickFormatter(yStep) };
    }

    /** Where a step lies on the x axis: read from the first series that has points around it. */
    xOfStep(step) {
      if (!this.axis || this.axis.unit === "step") return step;
      for (const s of this.series) {
        if (!s.steps.length) continue;
        const i = nearestIndex(s.steps, step);
        if (s.steps[i] === step || i === 0 || i === s.steps.length - 1) return s.xs[i];
        const j = s.steps[i] < step ? i + 1 : i - 1;
        const [a, b] = [Math.min(i, j), Math.max(i, j)];
        return s.xs[a] + ((step - s.steps[a]) / (s.steps[b] - s.steps[a])) * (s.xs[b] - s.xs[a]);
      }
      return null;
    }

    render() {
      const drawn = this.series.filter((s) => s.steps.length).map((s) => ({ s, ...this.pointsOf(s) }));
      for (const s of this.series) s.legendKey.hidden = !s.steps.length;
      const log = this.logScale && drawn.some((p) => p.s.max > 0);
      const box = this.prepare(drawn.length > 0);
      if (!box) return;
      const svg = this.svg;
      const [x0, x1] = this.xRange(drawn);
      const wholeSteps = !this.axis || this.axis.unit === "step" || this.axis.unit === "samples";
      const rawStep = tickStep(x1 - x0, Math.max(2, Math.floor((box.right - box.left) / 90)));
      const xStep = wholeSteps ? Math.max(1, rawStep) : rawStep;
      const x = linear(x0, x1, box.left, box.right);
      const { y, ticks: yTicks, label: yLabel } = this.yScale(drawn, x0, x1, box, log);
      this.view = { x, y, ...box, drawn };

      const axes = svgElement("g", {}, svg);
      this.drawYAxis(axes, box, y, yTicks, yLabel);
      this.drawXAxis(axes, box, x, ticksBetween(x0, x1, xStep), tickFormatter(xStep), this.axis ? this.axis.title : "step");

      const clipId = `clip-${Math.random().toString(36).slice(2)}`;
      const clip = svgElement("clipPath", { id: clipId }, svg);
      svgElement("rect", { x: box.left - 4, y: box.top - 4, width: box.right - box.left + 8, height: box.bottom - box.top + 8 }, clip);
      this.drawEvents(box, x, x0, x1);

      const lines = svgElement("g", { "clip-path": `url(#${clipId})` }, svg);
      const columns = box.right - box.left;
      for (const p of drawn) {
        const s = p.s;
        const smooth = this.smoothValues(s);
        const dash = s.dashed ? " chart__line--dashed" : "";
        // Dense (a long run, or a zoom's re-read): the min/max band of each pixel column and the
        // line through each column's last value. Sparse: the raw line under the smoothed one.
        const dense = columnsOf(p.xs, p.values, x, columns);
        if (dense) {
          svgElement("path", { class: `chart__band series-${s.colour}`, d: bandPath(dense, p.values, y) }, lines);
        } else if (smooth) {
          svgElement("path", { class: `chart__line chart__line--raw series-${s.colour}`, d: linePath(p.xs, p.values, x, y) }, lines);
        }
        const kept = dense ? dense.map((column) => column.last) : null;
        svgElement("path", { class: `chart__line series-${s.colour}${dash}`, d: linePath(p.xs, smooth || p.values, x, y, kept) }, lines);
        if ((s.markers && p.xs.length <= MAX_MARKERS) || p.xs.length === 1) {
          for (let i = 0; i < p.xs.length; i++) {
            if (log && p.values[i] <= 0) continue;
            svgElement("circle", { class: `chart__marker series-${s.colour}`, cx: x(p.xs[i]), cy: y(p.values[i]), r: 3 }, lines);
          }
        }
      }
      this.hover = svgElement("g", {}, svg);
      this.selection = svgElement("rect", { class: "chart__selection", x: 0, y: box.top, width: 0, height: box.bottom - box.top, visibility: "hidden" }, svg);
      this.drawHover();
    }

    drawEvents(box, x, x0, x1) {
      const marks = svgElement("g", { class: "chart__events" }, this.svg);
      this.drawnEvents = this.events
        .map((e) => ({ ...e, x: this.xOfStep(e.step) }))
        .filter((e) => e.x !== null && e.x >= x0 && e.x <= x1);
      const labelled = this.drawnEvents.length <= 16;
      for (const event of this.drawnEvents) {
        const px = Math.round(x(event.x)) + 0.5;
        svgElement("line", { class: `chart__event chart__event--${event.kind || "info"}`, x1: px, x2: px, y1: box.top, y2: box.bottom }, marks);
        if (labelled && this.options.eventLabels !== false) {
          const text = svgElement("text", { class: "chart__event-label", x: px + 3, y: box.top + 9 }, marks);
          text.textContent = event.label;
        }
      }
    }

    /** Drag across the plot to zoom into that range; double-click to see everything again. */
    bindZoom() {
      let start = null;
      this.svg.addEventListener("pointerdown", (event) => {
        if (!this.view || event.button !== 0) return;
        start = this.pointer ? this.pointer.x : null;
        if (start !== null) this.svg.setPointerCapture(event.pointerId);
      });
      this.svg.addEventListener("pointermove", () => {
        if (start === null || !this.pointer || !this.selection) return;
        const [a, b] = [Math.min(start, this.pointer.x), Math.max(start, this.pointer.x)];
        const left = Math.max(a, this.view.left);
        const right = Math.min(b, this.view.right);
        this.selection.setAttribute("x", left);
        this.selection.setAttribute("width", Math.max(0, right - left));
        this.selection.setAttribute("visibility", "visible");
      });
      this.svg.addEventListener("pointerup", () => {
        if (start === null) return;
        const end = this.pointer ? this.pointer.x : start;
        const view = this.view;
        start = Math.max(view.left, Math.min(start, view.right));
        const stop = Math.max(view.left, Math.min(end, view.right));
        if (Math.abs(stop - start) >= 6) {
          const range = [view.x.invert(Math.min(start, stop)), view.x.invert(Math.max(start, stop))];
          this.setZoom(range);
          if (this.options.onZoom) this.options.onZoom(range, this);
        } else if (this.selection) {
          this.selection.setAttribute("visibility", "hidden");
        }
        start = null;
      });
      this.svg.addEventListener("dblclick", () => {
        if (!this.zoom) return;
        this.setZoom(null);
        if (this.options.onZoom) this.options.onZoom(null, this);
      });
    }

    /** The crosshair and readout at the pointer: each series' point nearest to it. */
    drawHover() {
      const view = this.view;
      const px = this.pointer ? this.pointer.x : view && this.remoteX != null ? view.x(this.remoteX) : null;
      if (this.hover) this.hover.replaceChildren();
      if (!view || px === null || px < view.left - 4 || px > view.right + 4) {
        this.tooltip.hidden = true;
        return;
      }
      const at = view.x.invert(px);
      if (this.pointer && this.options.onCursor) this.options.onCursor(at, this);
      const points = view.drawn.map((p) => {
        const i = nearestIndex(p.xs, at);
        const smooth = this.smoothValues(p.s);
        return { s: p.s, x: p.xs[i], step: p.steps[i], value: p.values[i], smooth: smooth ? smooth[i] : null };
      });
      const anchor = points.reduce((best, p) => (Math.abs(p.x - at) < Math.abs(best.x - at) ? p : best));
      const cx = Math.round(view.x(this.pointer ? anchor.x : at)) + 0.5;
      svgElement("line", { class: "chart__crosshair", x1: cx, x2: cx, y1: view.top, y2: view.bottom }, this.hover);
      for (const p of points) {
        const shown = p.smooth ?? p.value;
        if (this.logScale && shown <= 0) continue;
        svgElement("circle", { class: `chart__marker series-${p.s.colour}`, cx: view.x(p.x), cy: view.y(shown), r: 4 }, this.hover);
      }
      if (!this.pointer) {
        this.tooltip.hidden = true; // another chart's cursor: the line and the points only
        return;
      }
      this.fillTooltip(points, anchor, px);
      this.placeTooltip(cx, view.top + 4);
    }

    fillTooltip(points, anchor, px) {
      const view = this.view;
      const stepText = (step) => `step ${step.toLocaleString("en-US")}`;
      const where = (p) => (this.axis && this.axis.unit !== "step" ? `${this.axis.format(p.x)} · ${stepText(p.step)}` : stepText(p.step));
      const format = this.options.format || formatValue;
      const tooltip = this.tooltip;
      tooltip.replaceChildren();
      htmlElement("div", "subtle", tooltip).textContent = where(anchor);
      const rows = points.length > 8 ? [...points].sort((a, b) => (a.smooth ?? a.value) - (b.smooth ?? b.value)) : points;
      for (const p of rows) {
        const row = htmlElement("div", "chart__tooltip-row", tooltip);
        htmlElement("span", `chart__swatch series-${p.s.colour}`, row);
        row.append((p.s.tooltip || p.s.label) + (p.step !== anchor.step ? ` (${stepText(p.step)})` : ""));
        const show = p.s.format || format;
        htmlElement("strong", "", row).textContent = show(p.smooth ?? p.value);
        if (p.smooth !== null) htmlElement("span", "chart__tooltip-raw", row).textContent = `raw ${show(p.value)}`;
      }
      const near = (this.drawnEvents || []).filter((e) => Math.abs(view.x(e.x) - px) <= 6);
      for (const event of near) {
        const row = htmlElement("div", "chart__tooltip-row chart__tooltip-event", tooltip);
        row.textContent = `${event.label} at ${stepText(event.step)}${event.detail ? ` · ${event.detail}` : ""}`;
      }
    }
  }

  /** Points (x = actual, y = predicted) with the line where they are equal. */
  class ScatterChart extends BaseChart {
    constructor(root, options) {
      super(root, { ...options, height: options.height || 300 });
      this.points = [];
      this.scheduleRender();
    }

    setPoints(xs, ys) {
      this.points = xs.map((value, i) => [value, ys[i]]).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b));
      this.scheduleRender();
    }

    render() {
      const box = this.prepare(this.points.length > 0);
      if (!box) return;
      // One scale for both axes, so the diagonal is the 45° line.
      let lo = Math.min(...this.points.map(([a, b]) => Math.min(a, b)));
      let hi = Math.max(...this.points.map(([a, b]) => Math.max(a, b)));
      if (hi - lo < 1e-12) {
        lo -= 1;
        hi += 1;
      }
      const step = tickStep(hi - lo, 5);
      lo = Math.floor(lo / step + 1e-9) * step;
      hi = Math.ceil(hi / step - 1e-9) * step;
      const side = Math.min(box.right - box.left, box.bottom - box.top);
      const left = box.left + Math.max(0, (box.right - box.left - side) / 2);
      const plot = { ...box, left, right: left + side, top: box.bottom - side };
      const x = linear(lo, hi, plot.left, plot.right);
      const y = linear(lo, hi, plot.bottom, plot.top);
      this.view = { x, y, ...plot };
      const ticks = ticksBetween(lo, hi, step);
      const label = tickFormatter(step);
      const axes = svgElement("g", {}, this.svg);
      this.drawYAxis(axes, plot, y, ticks, label);
      this.drawXAxis(axes, plot, x, ticks, label, this.options.xLabel || "actual");
      const yTitle = svgElement("text", { class: "chart__axis-title", x: plot.left + 4, y: plot.top + 10 }, axes);
      yTitle.textContent = this.options.yLabel || "predicted";
      svgElement("line", { class: "chart__diagonal", x1: x(lo), y1: y(lo), x2: x(hi), y2: y(hi) }, this.svg);
      const dots = svgElement("g", {}, this.svg);
      for (const [a, b] of this.points) {
        svgElement("circle", { class: "chart__dot series-0", cx: x(a).toFixed(1), cy: y(b).toFixed(1), r: 3 }, dots);
      }
      this.hover = svgElement("g", {}, this.svg);
      this.drawHover();
    }

    drawHover() {
      const view = this.view;
      const p = this.pointer;
      if (this.hover) this.hover.replaceChildren();
      if (!view || !p || p.x < view.left || p.x > view.right || p.y < view.top || p.y > view.bottom) {
        this.tooltip.hidden = true;
        return;
      }
      let best = null;
      let bestDistance = Infinity;
      for (const point of this.points) {
        const d = Math.hypot(view.x(point[0]) - p.x, view.y(point[1]) - p.y);
        if (d < bestDistance) {
          best = point;
          bestDistance = d;
        }
      }
      if (!best || bestDistance > 24) {
        this.tooltip.hidden = true;
        return;
      }
      const cx = view.x(best[0]);
      svgElement("circle", { class: "chart__marker series-1", cx, cy: view.y(best[1]), r: 5 }, this.hover);
      this.tooltip.replaceChildren();
      for (const [label, value] of [
        [this.options.xLabel || "actual", best[0]],
        [this.options.yLabel || "predicted", best[1]],
      ]) {
        const row = htmlElement("div", "chart__tooltip-row", this.tooltip);
        row.append(label);
        htmlElement("strong", "", row).textContent = formatValue(value);
      }
      this.placeTooltip(cx, Math.max(view.top, view.y(best[1]) - 20));
    }
  }

  /** The loss chart's smoothing slider and the log-scale boxes of a page, bound to its charts
   *  (keyed by metric name) and remembered across pages. */
  function bindChartControls(page, charts) {
    const { stored } = window.Downhill;
    const slider = page.querySelector('[data-control="smoothing"]');
    const output = page.querySelector('[data-control="smoothing-value"]');
    if (slider && charts.train_loss) {
      const apply = () => {
        const weight = Number(slider.value);
        output.textContent = weight.toFixed(2);
        charts.train_loss.setSmoothing(weight);
        stored.set("smoothing", weight);
      };
      slider.value = stored.get("smoothing", 0.6);
      slider.addEventListener("input", apply);
      apply();
    }
    for (const [control, metric] of [["log-loss", "train_loss"], ["log-lr", "lr"]]) {
      const box = page.querySelector(`[data-control="${control}"]`);
      if (!box || !charts[metric]) continue;
      box.checked = stored.get(control, false);
      charts[metric].setLogScale(box.checked);
      box.addEventListener("change", () => {
        charts[metric].setLogScale(box.checked);
        stored.set(control, box.checked);
      });
    }
  }

  window.DownhillChart = { LineChart, ScatterChart, formatValue, bindChartControls };
})();
