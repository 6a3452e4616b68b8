/*
 * The playground page: the controls become a POST to /api/v1/lab/playground/, and its answer
 * is drawn as contours of the exact MSE over (w, b) (marching squares over the worker's grid)
 * with each optimizer's path on top, beside the loss per step. A step slider (and Play) draws
 * the paths step by step. Hand-written SVG, no dependencies; the look lives in playground.css.
 */
(function () {
  "use strict";

  const M = { top: 12, right: 14, bottom: 44, left: 56 };
  const LEVELS = 14; // contour lines, geometric in the loss above the minimum
  const FRAMES = 120; // Play draws a path in about this many frames

  const root = document.querySelector("[data-playground]");
  if (!root) return;
  const form = root.querySelector("[data-controls]");
  const contour = root.querySelector("svg.pg-contour");
  const lossChart = root.querySelector("svg.pg-loss");
  const slider = root.querySelector("[data-step]");
  const play = root.querySelector("[data-play]");
  const statusLine = root.querySelector("[data-status]");
  const errorsBox = root.querySelector("[data-errors]");
  let shown = null; // the playground drawn
  let step = 0;
  let timer = null;

  const el = window.Downhill.svgElement;
  const text = window.Downhill.svgText;

  function fmt(v) {
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(1).replace("e+", "e") : String(Number(v.toPrecision(3)));
  }

  /** About `count` round tick values between lo and hi. */
  function ticks(lo, hi, count) {
    const raw = (hi - lo) / Math.max(count, 1);
    const power = 10 ** Math.floor(Math.log10(raw));
    const stepSize = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / stepSize) * stepSize; v <= hi + 1e-9 * stepSize; v += stepSize) out.push(Math.abs(v) < 1e-12 ? 0 : v);
    return out;
  }

  function frame(svg, height) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const width = svg.clientWidth || 600;
    svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    svg.setAttribute("height", height);
    return { width, height, left: M.left, right: width - M.right, top: M.top, bottom: height - M.bottom };
  }

  function axes(svg, box, x, y, xTicks, yTicks, xFmt, yFmt, xTitle, yTitle) {
    const g = el("g", { class: "pg-axes" }, svg);
    el("rect", { x: box.left, y: box.top, width: box.right - box.left, height: box.bottom - box.top, class: "pg-axes__frame" }, g);
    for (const v of xTicks) {
      el("line", { x1: x(v), x2: x(v), y1: box.bottom, y2: box.bottom + 4 }, g);
      text(g, x(v), box.bottom + 16, xFmt(v), "pg-tick");
    }
    for (const v of yTicks) {
      el("line", { x1: box.left - 4, x2: box.left, y1: y(v), y2: y(v) }, g);
      text(g, box.left - 6, y(v) + 4, yFmt(v), "pg-tick", "end");
    }
    text(g, (box.left + box.right) / 2, box.height - 6, xTitle, "pg-axis-title");
    const middle = (box.top + box.bottom) / 2;
    text(g, 14, middle, yTitle, "pg-axis-title").setAttribute("transform", `rotate(-90 14 ${middle})`);
  }

  function clip(svg, box, id) {
    const defs = el("defs", {}, svg);
    const path = el("clipPath", { id }, defs);
    el("rect", { x: box.left, y: box.top, width: box.right - box.left, height: box.bottom - box.top }, path);
    return el("g", { "clip-path": `url(#${id})` }, svg);
  }

  /** Where `level` crosses the edges of each grid cell: one path of segments. */
  function contourPath(grid, level, px, py) {
    const parts = [];
    for (let i = 0; i + 1 < grid.length; i++) {
      for (let j = 0; j + 1 < grid[i].length; j++) {
        const corners = [[i, j], [i, j + 1], [i + 1, j + 1], [i + 1, j]];
        const cut = [];
        for (let e = 0; e < 4; e++) {
          const [ai, aj] = corners[e];
          const [bi, bj] = corners[(e + 1) % 4];
          const va = grid[ai][aj];
          const vb = grid[bi][bj];
          if (va < level !== vb < level) {
            const t = (level - va) / (vb - va);
            cut.push([px(aj + t * (bj - aj)), py(ai + t * (bi - ai))]);
          }
        }
        for (let k = 0; k + 1 < cut.length; k += 2) {
          parts.push(`M${cut[k][0].toFixed(1)},${cut[k][1].toFixed(1)}L${cut[k + 1][0].toFixed(1)},${cut[k + 1][1].toFixed(1)}`);
        }
      }
    }
    return parts.join("");
  }

  /** A marker's label, to its right, or to its left near the right edge. */
  function label(parent, box, at, y, content) {
    const left = at > box.right - 90;
    text(parent, left ? at - 10 : at + 10, y, content, "pg-marker-label", left ? "end" : "start");
  }

  function kindClass(path, i, paths) {
    const repeat = paths.slice(0, i).some((p) => p.kind === path.kind);
    return `pg-kind--${path.kind}${repeat ? " pg-path--repeat" : ""}`;
  }

  function drawContour(result) {
    const s = result.surface;
    const width = contour.clientWidth || 600;
    const box = frame(contour, Math.round(Math.min(Math.max(width * 0.75, 280), 520)));
    const w0 = s.w[0], w1 = s.w[s.w.length - 1], b0 = s.b[0], b1 = s.b[s.b.length - 1];
    const x = (w) => box.left + ((w - w0) / (w1 - w0)) * (box.right - box.left);
    const y = (b) => box.bottom - ((b - b0) / (b1 - b0)) * (box.bottom - box.top);
    const px = (j) => x(w0 + (j / (s.w.length - 1)) * (w1 - w0)); // grid column -> pixels
    const py = (i) => y(b0 + (i / (s.b.length - 1)) * (b1 - b0));
    axes(contour, box, x, y, ticks(w0, w1, Math.max(3, Math.floor((box.right - box.left) / 70))),
      ticks(b0, b1, 6), fmt, fmt, "w (slope)", "b (intercept)");
    const inside = clip(contour, box, "pg-contour-clip");
    const low = result.least_squares.loss;
    const high = Math.max(...s.loss.map((row) => Math.max(...row)));
    const lines = el("g", { class: "pg-contours" }, inside);
    for (let k = 1; k <= LEVELS; k++) {
      const level = low + (high - low) * 10 ** ((-3.5 * k) / LEVELS);
      el("path", { d: contourPath(s.loss, level, px, py), class: k % 3 === 0 ? "pg-contour__major" : "pg-contour__minor" }, lines);
    }
    const paths = result.paths;
    if (paths.length) {
      el("circle", { cx: x(paths[0].w[0]), cy: y(paths[0].b[0]), r: 5, class: "pg-start" }, inside);
      label(inside, box, x(paths[0].w[0]), y(paths[0].b[0]) + 4, "start");
    }
    paths.forEach((path, i) => {
      const n = Math.min(step, path.w.length - 1);
      const d = path.w.slice(0, n + 1).map((w, k) => `${k ? "L" : "M"}${x(w).toFixed(1)},${y(path.b[k]).toFixed(1)}`).join("");
      const cls = kindClass(path, i, paths);
      el("path", { d, class: `pg-path ${cls}`, "data-kind": path.kind }, inside);
      el("circle", { cx: x(path.w[n]), cy: y(path.b[n]), r: 4, class: `pg-ball ${cls}` }, inside);
    });
    const ls = result.least_squares; // the target, on top of the paths
    const target = el("g", { class: "pg-target" }, inside);
    el("path", { d: `M${x(ls.w) - 7},${y(ls.b) - 7}l14,14M${x(ls.w) - 7},${y(ls.b) + 7}l14,-14` }, target);
    label(target, box, x(ls.w), y(ls.b) - 8, "least squares");
  }

  function drawLoss(result) {
    const box = frame(lossChart, 300);
    const paths = result.paths;
    const last = Math.max(1, ...paths.map((p) => p.steps));
    const values = paths.flatMap((p) => p.loss).filter((v) => v > 0);
    const floor = result.least_squares.loss > 0 ? result.least_squares.loss : Math.min(...values);
    const ly0 = Math.floor(Math.log10(Math.min(floor, ...values)) * 4) / 4;
    const ly1 = Math.ceil(Math.log10(Math.max(...values, floor * 10)) * 4) / 4;
    const x = (k) => box.left + (k / last) * (box.right - box.left);
    const y = (v) => box.bottom - ((Math.log10(Math.max(v, 10 ** ly0)) - ly0) / (ly1 - ly0 || 1)) * (box.bottom - box.top);
    const decades = [];
    for (let p = Math.ceil(ly0); p <= Math.floor(ly1); p++) decades.push(10 ** p);
    const yTicks = decades.length >= 2 ? decades : [10 ** ly0, 10 ** ((ly0 + ly1) / 2), 10 ** ly1];
    axes(lossChart, box, x, (v) => y(v), ticks(0, last, Math.max(2, Math.floor((box.right - box.left) / 60))), yTicks,
      (v) => String(v), fmt, "step", "MSE (log scale)");
    const inside = clip(lossChart, box, "pg-loss-clip");
    el("line", { x1: box.left, x2: box.right, y1: y(floor), y2: y(floor), class: "pg-floor" }, inside);
    text(inside, box.right - 4, y(floor) - 5, "least squares", "pg-marker-label", "end");
    el("line", { x1: x(step), x2: x(step), y1: box.top, y2: box.bottom, class: "pg-now" }, inside);
    paths.forEach((path, i) => {
      const d = path.loss.map((v, k) => `${k ? "L" : "M"}${x(k).toFixed(1)},${y(v).toFixed(1)}`).join("");
      el("path", { d, class: `pg-path ${kindClass(path, i, paths)}` }, inside);
    });
  }

  function legend(result) {
    const list = root.querySelector("[data-legend]");
    list.replaceChildren();
    result.paths.forEach((path, i) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = `pg-swatch ${kindClass(path, i, result.paths)}`;
      const name = document.createElement("span");
      const end = path.diverged_at ? `diverged at step ${path.diverged_at}` : `MSE ${fmt(path.loss[path.loss.length - 1])} at step ${path.loss.length - 1}`;
      name.textContent = `${path.label}, lr ${fmt(path.learning_rate)}: ${end}`;
      item.append(swatch, name);
      list.append(item);
    });
  }

  function draw() {
    if (!shown || !shown.result) return;
    drawContour(shown.result);
    drawLoss(shown.result);
    root.querySelector("[data-step-value]").textContent = String(step);
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    play.textContent = "Play";
  }

  function animate() {
    stop();
    const last = Number(slider.max);
    if (step >= last) step = 0;
    const stride = Math.max(1, Math.ceil(last / FRAMES));
    play.textContent = "Pause";
    timer = setInterval(() => {
      step = Math.min(last, step + stride);
      slider.value = String(step);
      draw();
      if (step >= last) stop();
    }, 30);
  }

  function show(playground, animated) {
    shown = playground;
    const result = playground.result;
    statusLine.textContent = playground.error || `#${playground.id} ${playground.status}`;
    if (!result) return;
    const last = Math.max(...result.paths.map((p) => p.loss.length - 1));
    slider.max = String(last);
    slider.disabled = play.disabled = false;
    step = animated ? 0 : last;
    slider.value = String(step);
    legend(result);
    const ls = result.least_squares;
    root.querySelector("[data-facts]").textContent =
      `Least squares: w = ${fmt(ls.w)}, b = ${fmt(ls.b)}, MSE ${fmt(ls.loss)} on ${result.n_points} points. ` +
      `Full-batch gradient descent diverges above lr ${fmt(result.max_stable_lr)} (2 / the Hessian's largest eigenvalue).`;
    draw();
    root.dataset.drawn = String(playground.id);
    if (animated) animate();
  }

  function number(value) {
    const v = Number(value);
    return value.trim() !== "" && Number.isFinite(v) ? v : value; // the server names what is wrong
  }

  function requestBody() {
    const data = new FormData(form);
    const body = {};
    for (const key of ["slope", "intercept", "noise", "seed", "start_w", "start_b"]) body[key] = number(data.get(key));
    if (data.get("dataset")) body.dataset = Number(data.get("dataset"));
    body.optimizers = data.getAll("kind").map((kind) => ({
      kind,
      learning_rate: number(data.get(`lr-${kind}`)),
      steps: number(data.get(`steps-${kind}`)),
    }));
    return body;
  }

  function showErrors(error) {
    const errors = (error.body && error.body.errors) || { request: [error.message] };
    errorsBox.replaceChildren(...Object.entries(errors).map(([field, messages]) => {
      const line = document.createElement("p");
      line.textContent = `${field}: ${messages.join(" ")}`;
      return line;
    }));
    errorsBox.hidden = false;
  }

  async function poll(url) {
    for (;;) {
      const playground = await window.Downhill.getJson(url);
      if (playground.status !== "queued" && playground.status !== "running") return playground;
      statusLine.textContent = `#${playground.id} ${playground.status}…`;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  async function roll(event) {
    event.preventDefault();
    stop();
    errorsBox.hidden = true;
    statusLine.textContent = "Rolling…";
    const button = form.querySelector("[data-roll]");
    button.disabled = true;
    try {
      const response = await fetch(root.dataset.apiUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": window.Downhill.csrfToken() },
        body: JSON.stringify(requestBody()),
      });
      const body = await response.json();
      if (!response.ok) throw new window.Downhill.HttpError(response, body);
      const done = body.status === "queued" || body.status === "running" ? await poll(`${root.dataset.apiUrl}${body.id}/`) : body;
      window.history.replaceState(null, "", `${root.dataset.pageUrl}${done.id}/`);
      show(done, true);
    } catch (error) {
      statusLine.textContent = "";
      showErrors(error);
    } finally {
      button.disabled = false;
    }
  }

  /** A stored playground opened again: its settings back in the controls. */
  function fill(params, datasetId) {
    for (const key of ["slope", "intercept", "noise", "seed", "start_w", "start_b"]) form.elements[key].value = params[key];
    form.elements.dataset.value = datasetId ? String(datasetId) : "";
    const chosen = new Map(params.optimizers.map((o) => [o.kind, o]));
    for (const box of form.querySelectorAll("input[name=kind]")) {
      const o = chosen.get(box.value);
      box.checked = Boolean(o);
      if (o) {
        form.elements[`lr-${o.kind}`].value = o.learning_rate;
        form.elements[`steps-${o.kind}`].value = o.steps;
      }
    }
  }

  form.addEventListener("submit", roll);
  form.elements.dataset.addEventListener("change", () => {
    for (const field of form.querySelectorAll("[data-generated]")) field.hidden = Boolean(form.elements.dataset.value);
  });
  slider.addEventListener("input", () => {
    stop();
    step = Number(slider.value);
    draw();
  });
  play.addEventListener("click", () => (timer ? stop() : animate()));
  window.addEventListener("resize", () => (shown ? draw() : empty()));
  function empty() {
    for (const [svg, height] of [[contour, 300], [lossChart, 300]]) {
      const box = frame(svg, height);
      text(svg, box.width / 2, height / 2, "Choose optimizers and press Roll downhill", "pg-empty");
    }
  }

  if (!root.dataset.detailUrl) empty();
  else {
    poll(root.dataset.detailUrl).then((playground) => {
      fill(playground.params, playground.dataset);
      show(playground, false);
    }, showErrors);
  }
})();
