/*
 * The comparison page: every run's curves overlaid, one colour per run, the legend naming only
 * the settings that differ (the server writes the labels). Runs still training keep growing.
 */
(function () {
  "use strict";

  const page = document.querySelector("[data-compare]");
  const legend = document.getElementById("compare-runs");
  if (!page || !legend || !window.DownhillChart || !window.Downhill || !window.DownhillAxes) return;

  const { LineChart, bindChartControls } = window.DownhillChart;
  const { getJson } = window.Downhill;
  const runs = JSON.parse(legend.textContent);
  const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
  const POLL_MS = 2000;
  const MAX_POINTS = 1500;
  const ZOOM_POINTS = 1500; // per series in a zoomed range: about one per pixel column
  const percent = (v) => `${(v * 100).toFixed(1)}%`;
  const urlOf = (template, id) => template.replace(/\/0\//, `/${id}/`);

  const chartSpecs = [
    ["chart-train", "train_loss", { smooth: true }, { label: "Training loss", height: 300 }],
    ["chart-val", "val_loss", { markers: true }, { label: "Validation loss" }],
    ["chart-accuracy", "val_accuracy", { markers: true }, { label: "Validation accuracy", yMin: 0, yMax: 1, format: percent }],
    ["chart-r2", "val_r2", { markers: true }, { label: "Validation R²", yMax: 1 }],
    ["chart-lr", "lr", {}, { label: "Learning rate" }],
  ];
  const charts = {}; // metric name -> chart with one series per run
  for (const [id, metric, seriesOptions, options] of chartSpecs) {
    const element = document.getElementById(id);
    if (!element) continue;
    charts[metric] = new LineChart(element, {
      ...options,
      eventLabels: false,
      empty: "No points yet.",
      // The wide chart's legend names what differs; the others say only which run.
      series: runs.map((run, index) => ({
        key: String(run.id),
        label: run.label,
        legend: options.height ? undefined : `#${run.id}`,
        tooltip: `#${run.id}`,
        color: index,
        ...seriesOptions,
      })),
    });
  }
  // Written together by the worker, so each group has one cursor per run (see run.js).
  const groups = [["train_loss", "lr"], ["val_loss", "val_accuracy", "val_r2"]].map((names) => names.filter((n) => charts[n]));

  let axes = null; // bound below, once the charts exist
  let generation = 0; // an axis change makes answers to older requests stale

  async function pull(run, names) {
    const key = String(run.id);
    const asked = generation;
    const present = names.filter((name) => charts[name].count(key));
    const since = present.length ? Math.min(...present.map((name) => charts[name].lastStep(key))) : 0;
    const params = new URLSearchParams();
    for (const name of names) params.append("name", name);
    if (since) params.set("since_step", since);
    else params.set("max_points", MAX_POINTS);
    axes.param(params);
    const data = await getJson(`${urlOf(page.dataset.metricsUrl, run.id)}?${params}`);
    if (asked !== generation) return data.status;
    for (const [name, series] of Object.entries(data.series)) charts[name]?.append(key, series.steps, series.values, series.x);
    return data.status;
  }

  /** A zoomed range read again at finer resolution, per run and metric. */
  async function reread(range) {
    const asked = generation;
    const reads = [];
    for (const run of runs) {
      const key = String(run.id);
      for (const [name, chart] of Object.entries(charts)) {
        const steps = chart.stepRange(key, range);
        if (!steps) continue;
        const params = new URLSearchParams({ name, max_points: ZOOM_POINTS, since_step: steps[0] });
        if (steps[1] !== null) params.set("until_step", steps[1]);
        axes.param(params);
        reads.push(
          getJson(`${urlOf(page.dataset.metricsUrl, run.id)}?${params}`).then((data) => {
            const series = data.series[name];
            if (asked === generation && series) chart.setDetail(key, series.steps, series.values, series.x);
          }),
        );
      }
    }
    await Promise.all(reads);
    page.dataset.reread = String(Number(page.dataset.reread || 0) + 1);
  }

  function reload() {
    generation++;
    return update(runs).catch((error) => note(`Could not load the curves (${error.message}).`));
  }

  function note(message) {
    const element = page.querySelector('[data-field="connection"]');
    element.hidden = !message;
    element.textContent = message;
  }

  /** Each run's new points: a run with none drawn yet is read in one request (every series,
   *  downsampled), later polls per group from each group's last step. */
  async function update(targets) {
    const statuses = await Promise.all(
      targets.map((run) => {
        const drawn = Object.values(charts).some((chart) => chart.count(String(run.id)));
        return drawn ? Promise.all(groups.map((names) => pull(run, names))) : pull(run, groups.flat()).then((status) => [status]);
      }),
    );
    targets.forEach((run, i) => {
      run.status = statuses[i][0];
    });
  }

  async function poll() {
    const active = runs.filter((run) => !FINISHED.has(run.status));
    if (!active.length) return;
    if (document.hidden) {
      document.addEventListener("visibilitychange", poll, { once: true });
      return;
    }
    let delay = POLL_MS;
    try {
      await update(active);
      for (const run of active) {
        for (const badge of page.querySelectorAll(`tr[data-run="${run.id}"] .badge`)) {
          badge.className = `badge badge--${run.status}`;
          badge.textContent = run.status.charAt(0).toUpperCase() + run.status.slice(1);
        }
      }
      note("");
    } catch (error) {
      note(`Live updates paused (${error.message}); retrying…`);
      delay = 5 * POLL_MS;
    }
    setTimeout(poll, delay);
  }


  bindChartControls(page, charts);
  axes = window.DownhillAxes.bind(page, charts, { reload, reread });
  update(runs)
    .then(() => {
      page.dataset.loaded = "true";
      setTimeout(poll, POLL_MS);
    })
    .catch((error) => note(`Could not load the curves (${error.message}).`));
})();
