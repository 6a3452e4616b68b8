/*
 * A run's loss landscape: a heat map of the loss over the grid with log-spaced contours
 * (marching squares) and the trajectory drawn as the ball's path over them, a colour scale,
 * and a 1-D slice through the final weights (train and validation rows); for a line, the loss
 * from the initial weights (0) to the final ones (1). Polled while it runs: a surface is drawn
 * from its coarse sub-grid first and refined as the rest of its cells come.
 * No libraries (SVG helpers: common.js); the look lives in landscape.css.
 */
(function () {
  "use strict";

  // viridis-like stops, low loss dark
  const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const LEVELS = 12;

  const el = window.Downhill.svgElement;
  const text = window.Downhill.svgText;

  function fmt(v) {
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(1).replace("e+", "e");
    return String(Number(v.toPrecision(3)));
  }

  function colour(t) {
    const x = Math.min(Math.max(t, 0), 1) * (STOPS.length - 1);
    const i = Math.min(Math.floor(x), STOPS.length - 2);
    const f = x - i;
    const c = STOPS[i].map((v, k) => Math.round(v + (STOPS[i + 1][k] - v) * f));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  function clear(svg) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
  }

  /** The log-loss range drawn: from the lowest loss to the 95th percentile, so a few cells
   * far out (where the loss explodes) do not wash out the basin. */
  function logRange(grid) {
    const logs = grid.flat().filter((v) => v !== null && v > 0).map(Math.log).sort((a, b) => a - b);
    if (!logs.length) return null;
    const hi = logs[Math.min(logs.length - 1, Math.floor(logs.length * 0.95))];
    return [logs[0], hi > logs[0] ? hi : logs[0] + 1e-9];
  }

  function ticks(lo, hi, count) {
    return Array.from({ length: count + 1 }, (_, i) => lo + ((hi - lo) * i) / count);
  }

  function frame(svg, width, height, m) {
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    return { left: m.left, right: width - m.right, top: m.top, bottom: height - m.bottom };
  }

  function axes(svg, box, xs, ys, labels, yFmt) {
    const g = el("g", { class: "lab-chart__axes" }, svg);
    el("line", { x1: box.left, x2: box.right, y1: box.bottom, y2: box.bottom }, g);
    el("line", { x1: box.left, x2: box.left, y1: box.top, y2: box.bottom }, g);
    for (const [v, px] of xs) {
      el("line", { x1: px, x2: px, y1: box.bottom, y2: box.bottom + 4 }, g);
      text(g, px, box.bottom + 16, fmt(v), "lab-chart__tick");
    }
    for (const [v, py] of ys) {
      el("line", { x1: box.left - 4, x2: box.left, y1: py, y2: py }, g);
      text(g, box.left - 6, py + 4, (yFmt || fmt)(v), "lab-chart__tick", "end");
    }
    text(g, (box.left + box.right) / 2, box.bottom + 34, labels[0], "lab-chart__label");
    const mid = (box.top + box.bottom) / 2;
    const title = text(g, 13, mid, labels[1], "lab-chart__label");
    title.setAttribute("transform", `rotate(-90 13 ${mid})`);
  }

  /** Segments where the grid crosses `level` (marching squares on the cell centres). */
  function contour(grid, level, px, py) {
    const segments = [];
    const cut = (a, b, va, vb) => (level - va) / (vb - va || 1e-12) * (b - a) + a;
    for (let i = 0; i + 1 < grid.length; i++) {
      for (let j = 0; j + 1 < grid[i].length; j++) {
        const v = [grid[i][j], grid[i][j + 1], grid[i + 1][j + 1], grid[i + 1][j]];
        if (v.some((x) => x === null)) continue;
        const edges = [];
        const corners = [[j, i], [j + 1, i], [j + 1, i + 1], [j, i + 1]];
        for (let k = 0; k < 4; k++) {
          const a = v[k], b = v[(k + 1) % 4];
          if ((a < level) !== (b < level)) {
            const [x0, y0] = corners[k], [x1, y1] = corners[(k + 1) % 4];
            edges.push([px(cut(x0, x1, a, b)), py(cut(y0, y1, a, b))]);
          }
        }
        if (edges.length === 2) segments.push(edges);
        if (edges.length === 4) segments.push([edges[0], edges[1]], [edges[2], edges[3]]);
      }
    }
    return segments.map(([a, b]) => `M${a[0].toFixed(1)},${a[1].toFixed(1)}L${b[0].toFixed(1)},${b[1].toFixed(1)}`).join("");
  }

  function axisLabels(root, result) {
    if (root.dataset.directions === "pca" && result.trajectory) {
      const e = result.trajectory.explained.map((v) => `${Math.round(v * 100)}%`);
      return [`1st principal component (${e[0]})`, `2nd principal component (${e[1]})`];
    }
    return ["direction 1 (filter-normalized)", "direction 2 (filter-normalized)"];
  }

  /** A grid still being computed comes coarse sub-grid first (every other row and column),
   * or in parts: a cell not computed yet is drawn with its nearest computed neighbour's loss
   * (its coarse cell's, once the coarse grid is in), so the coarse surface shows as soon as it
   * is there and refines as the rest comes. */
  function nearest(grid, i, j) {
    for (let r = 1; r <= 2; r++) {
      for (let di = -r; di <= r; di++) {
        for (let dj = -r; dj <= r; dj++) {
          const v = grid[i + di] && grid[i + di][j + dj];
          if (v !== undefined && v !== null) return v;
        }
      }
    }
    return null;
  }

  function filled(grid) {
    return grid.map((row, i) => row.map((v, j) => (v !== null ? v : nearest(grid, i, j))));
  }

  function gridOf(result, set) {
    if (result[set]) return result[set];
    return result.partial && result.partial[set] ? filled(result.partial[set]) : [];
  }

  function drawMap(root, svg, scale, result, set) {
    clear(svg);
    clear(scale);
    const grid = gridOf(result, set);
    const width = svg.clientWidth || 560;
    const height = width;
    const small = width < 420;
    const box = frame(svg, width, height, { top: 10, right: 12, bottom: 44, left: 58 });
    const alphas = result.alphas, betas = result.betas;
    if (!alphas || !grid.length) {
      text(svg, width / 2, height / 2, "No cells yet", "lab-chart__empty");
      return;
    }
    const [a0, a1] = [alphas[0], alphas[alphas.length - 1]];
    const [b0, b1] = [betas[0], betas[betas.length - 1]];
    const x = (v) => box.left + ((v - a0) / (a1 - a0)) * (box.right - box.left);
    const y = (v) => box.bottom - ((v - b0) / (b1 - b0)) * (box.bottom - box.top);
    const range = logRange(grid);
    const t = (v) => (Math.log(Math.max(v, 1e-300)) - range[0]) / (range[1] - range[0]);
    const cw = (box.right - box.left) / (alphas.length - 1);
    const ch = (box.bottom - box.top) / (betas.length - 1);
    const cells = el("g", {}, svg);
    grid.forEach((row, i) => row.forEach((v, j) => {
      const cx = x(alphas[j]), cy = y(betas[i]);
      const left = Math.max(box.left, cx - cw / 2), top = Math.max(box.top, cy - ch / 2);
      const right = Math.min(box.right, cx + cw / 2), bottom = Math.min(box.bottom, cy + ch / 2);
      el("rect", { x: left.toFixed(1), y: top.toFixed(1), width: (right - left + 0.6).toFixed(1),
                   height: (bottom - top + 0.6).toFixed(1), fill: v === null ? "#ddd" : colour(t(v)) }, cells);
    }));
    const logs = grid.map((row) => row.map((v) => (v === null || v <= 0 ? null : Math.log(v))));
    const px = (j) => x(a0 + (j * (a1 - a0)) / (alphas.length - 1));
    const py = (i) => y(b0 + (i * (b1 - b0)) / (betas.length - 1));
    for (let k = 1; k < LEVELS; k++) {
      const level = range[0] + ((range[1] - range[0]) * k) / LEVELS;
      const d = contour(logs, level, px, py);
      if (d) el("path", { d, class: "landscape-contour" }, svg);
    }
    const xt = ticks(a0, a1, small ? 2 : 4).map((v) => [v, x(v)]);
    const yt = ticks(b0, b1, 4).map((v) => [v, y(v)]);
    axes(svg, box, xt, yt, axisLabels(root, result));
    drawPath(svg, result, x, y);
    el("circle", { cx: x(0), cy: y(0), r: 5, class: "landscape-final" }, svg);
    text(svg, x(0) + 8, y(0) - 8, "final", "landscape-mark", "start");
    drawScale(scale, range);
  }

  function drawPath(svg, result, x, y) {
    const path = result.trajectory;
    if (!path) return;
    const d = path.x.map((v, i) => `${i ? "L" : "M"}${x(v).toFixed(1)},${y(path.y[i]).toFixed(1)}`).join("");
    el("path", { d, class: "landscape-path" }, svg);
    el("path", { d, class: "landscape-path__core" }, svg);
    path.x.forEach((v, i) => {
      if (i > 0 && i < path.x.length - 1) el("circle", { cx: x(v), cy: y(path.y[i]), r: 2.6, class: "landscape-path__dot" }, svg);
    });
    el("circle", { cx: x(path.x[0]), cy: y(path.y[0]), r: 5, class: "landscape-path__start" }, svg);
    text(svg, x(path.x[0]) + 8, y(path.y[0]) + 4, "start", "landscape-mark", "start");
  }

  function drawScale(svg, range) {
    const width = svg.clientWidth || 560;
    svg.setAttribute("viewBox", `0 0 ${width} 34`);
    const left = 56, right = width - 12, n = 40;
    for (let k = 0; k < n; k++) {
      el("rect", { x: left + ((right - left) * k) / n, y: 2, width: (right - left) / n + 0.5, height: 12, fill: colour(k / (n - 1)) }, svg);
    }
    text(svg, left - 6, 12, "loss", "lab-chart__tick", "end");
    text(svg, left, 28, fmt(Math.exp(range[0])), "lab-chart__tick", "start");
    text(svg, right, 28, `${fmt(Math.exp(range[1]))} and above`, "lab-chart__tick", "end");
  }

  /** The slice: a line's whole result, or a surface's row through the final weights (b = 0). */
  function sliceOf(result, kind) {
    if (kind === "line") return { xs: result.alphas, train: result.train, validation: result.validation };
    const i = result.betas ? result.betas.reduce((best, b, k, all) => (Math.abs(b) < Math.abs(all[best]) ? k : best), 0) : 0;
    const row = (set) => gridOf(result, set)[i] || null;
    return { xs: result.alphas, train: row("train"), validation: row("validation") };
  }

  function drawSlice(root, svg, result) {
    clear(svg);
    const kind = root.dataset.kind;
    const s = sliceOf(result, kind);
    const width = svg.clientWidth || 480;
    const height = svg.clientHeight || 280;
    const box = frame(svg, width, height, { top: 12, right: 14, bottom: 44, left: 58 });
    const values = [...(s.train || []), ...(s.validation || [])].filter((v) => v !== null);
    if (!s.xs || !values.length) {
      text(svg, width / 2, height / 2, "No points yet", "lab-chart__empty");
      return;
    }
    const lo = Math.min(...values);
    const hi = Math.max(...values, lo + 1e-9);
    const [x0, x1] = [s.xs[0], s.xs[s.xs.length - 1]];
    const x = (v) => box.left + ((v - x0) / (x1 - x0)) * (box.right - box.left);
    const y = (v) => box.bottom - ((Math.min(v, hi) - lo) / (hi - lo)) * (box.bottom - box.top);
    const xLabel = kind === "line" ? "a: initial weights (0) to final weights (1)" : axisLabels(root, result)[0].replace(/ \(.*/, "");
    axes(svg, box, ticks(x0, x1, width < 420 ? 2 : 4).map((v) => [v, x(v)]), ticks(lo, hi, 4).map((v) => [v, y(v)]), [xLabel, "loss"]);
    for (const set of ["train", "validation"]) {
      const vals = s[set];
      if (!vals) continue;
      let d = "";
      vals.forEach((v, i) => { if (v !== null) d += `${d ? "L" : "M"}${x(s.xs[i]).toFixed(1)},${y(v).toFixed(1)}`; });
      el("path", { d, class: `landscape-line--${set}` }, svg);
    }
    const marks = kind === "line" ? [[0, "initial"], [1, "final"]] : [[0, "final"]];
    for (const [at, label] of marks) {
      if (at < x0 || at > x1) continue;
      el("line", { x1: x(at), x2: x(at), y1: box.top, y2: box.bottom, class: "lab-chart__rule lab-chart__rule--1" }, svg);
      text(svg, x(at) + 4, box.top + 12, label, "landscape-mark", "start");
    }
  }

  let last = null;
  let set = "train";

  function draw(root) {
    if (!last) return;
    if (root.dataset.kind !== "line") drawMap(root, root.querySelector("[data-map]"), root.querySelector("[data-scale]"), last.result, set);
    drawSlice(root, root.querySelector("[data-slice]"), last.result);
  }

  async function refresh(root) {
    const landscape = await window.Downhill.getJson(root.dataset.detailUrl);
    last = landscape;
    draw(root);
    root.querySelector("[data-status]").textContent = landscape.status;
    const error = root.querySelector("[data-error]");
    error.hidden = !landscape.error;
    error.textContent = landscape.error || "";
    const active = landscape.status === "queued" || landscape.status === "running";
    const parts = landscape.parts || [];
    const partsIn = parts.length > 1
      ? ` · ${parts.filter((p) => p.status === "succeeded").length} of ${parts.length} parts in`
      : "";
    root.querySelector("[data-progress]").textContent = active
      ? `${landscape.cells_done} of ${landscape.cost.cells} cells done${partsIn}`
      : landscape.status === "succeeded" ? `${landscape.result.forward_passes} forward passes made` : "";
    const cancel = root.querySelector("[data-cancel]");
    if (cancel && !active) cancel.remove();
    return active;
  }

  const root = document.querySelector("[data-landscape]");
  if (!root) return;
  root.querySelectorAll("[data-set]").forEach((button) => {
    button.addEventListener("click", () => {
      set = button.dataset.set;
      root.querySelectorAll("[data-set]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      draw(root);
    });
  });
  window.addEventListener("resize", () => draw(root));
  async function loop() {
    try {
      if (await refresh(root)) setTimeout(loop, 1000);
    } catch (error) {
      root.querySelector("[data-progress]").textContent = `Could not load the landscape: ${error.message}`;
    }
  }
  loop();
})();
