/*
 * The run page: draws the run's curves and, while it is queued or running, polls the REST API
 * about once a second for its progress and the points written since the last poll. When the
 * run finishes the page reloads once, so the server renders its summary or error.
 */
(function () {
  "use strict";

  const page = document.querySelector("[data-run-id]");
  if (!page || !window.DownhillAxes || !window.DownhillChart || !window.Downhill) return;

  const { LineChart, ScatterChart, formatValue, bindChartControls } = window.DownhillChart;
  const { getJson, formatDuration, count } = window.Downhill;
  const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
  const POLL_MS = 1000;
  const RETRY_MS = 5000;
  const EVENTS_EVERY = 4; // polls between two reads of the events
  const MAX_POINTS = 2000; // per series on a first read: about one per pixel column
  const RELOAD_AFTER = 20000; // live points kept before a series is read downsampled again
  const percent = (v) => `${(v * 100).toFixed(1)}%`;
  // As the server writes it ("Nov 21, 12:33:28"), in the server's time zone (UTC).
  const STARTED_FORMAT = new Intl.DateTimeFormat("en-US", {
    month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZone: "UTC",
  });

  const charts = [
    [
      "chart-loss",
      {
        label: "Training and validation loss",
        series: [
          { key: "train_loss", label: "train loss", smooth: true },
          { key: "val_loss", label: "validation loss", markers: true, color: 1 },
        ],
        empty: "The loss appears here once the first steps are trained.",
        height: 280,
      },
    ],
    [
      "chart-accuracy",
      {
        label: "Validation accuracy and macro F1",
        series: [
          { key: "val_accuracy", label: "accuracy", markers: true, color: 2, format: percent },
          { key: "val_f1", label: "F1 (macro)", markers: true, color: 4, dashed: true },
        ],
        yMin: 0,
        yMax: 1,
        empty: "Accuracy appears after the first epoch.",
      },
    ],
    [
      "chart-error",
      {
        label: "Validation MAE and RMSE",
        series: [
          { key: "val_mae", label: "MAE", markers: true, color: 2 },
          { key: "val_rmse", label: "RMSE", markers: true, color: 4 },
        ],
        empty: "The validation error appears after the first epoch.",
      },
    ],
    [
      "chart-r2",
      {
        label: "Validation R²",
        series: [{ key: "val_r2", label: "R²", markers: true, color: 3 }],
        yMax: 1,
        empty: "R² appears after the first epoch.",
      },
    ],
    [
      "chart-lr",
      {
        label: "Learning rate",
        series: [{ key: "lr", label: "learning rate", color: 5 }],
        empty: "The learning rate appears once the first steps are trained.",
      },
    ],
    [
      "chart-batch",
      {
        label: "Batch size",
        series: [{ key: "batch_size", label: "batch size", color: 6 }],
        yMin: 0,
        empty: "The batch size appears once the first steps are trained.",
      },
    ],
  ];
  const chartOf = {}; // series name -> the chart that draws it
  const allCharts = [];
  for (const [id, options] of charts) {
    const element = document.getElementById(id);
    if (!element) continue; // each task draws its own metrics
    const chart = new LineChart(element, options);
    allCharts.push(chart);
    for (const s of options.series) chartOf[s.key] = chart;
  }

  // Series are fetched in the groups the worker writes together, each with its own cursor: an
  // epoch's val_loss can land in a later batch than the train_loss of the same step.
  const groups = [["train_loss", "lr"], ["val_loss", "val_accuracy", "val_f1", "val_mae", "val_rmse", "val_r2"]]
    .map((names) => names.filter((name) => chartOf[name]))
    .filter((names) => names.length);

  /** Where a group's next read starts: its series that have points, at the oldest last step. */
  function cursor(names) {
    const present = names.filter((name) => chartOf[name].count(name));
    return present.length ? Math.min(...present.map((name) => chartOf[name].lastStep(name))) : 0;
  }

  let axes = null; // bound below, once the charts exist
  let generation = 0; // an axis change makes answers to older requests stale

  async function pullGroup(names, fresh) {
    const asked = generation;
    const params = new URLSearchParams();
    for (const name of names) params.append("name", name);
    const since = fresh ? 0 : cursor(names);
    if (since > 0) params.set("since_step", since);
    else params.set("max_points", MAX_POINTS);
    axes.param(params);
    const data = await getJson(`${page.dataset.metricsUrl}?${params}`);
    if (asked !== generation) return;
    for (const [name, series] of Object.entries(data.series)) {
      const chart = chartOf[name];
      if (!chart) continue;
      if (since > 0) chart.append(name, series.steps, series.values, series.x);
      else chart.replace(name, series.steps, series.values, series.x);
    }
  }

  async function pullMetrics(reload) {
    await Promise.all(
      groups.map((names) => {
        // A live page keeps every new point; past RELOAD_AFTER it reads the whole series
        // downsampled again, so a long run does not grow the page without bound.
        const fresh = reload || names.some((name) => chartOf[name].count(name) > RELOAD_AFTER);
        return pullGroup(names, fresh);
      }),
    );
    await pullBatchSize();
  }

  /** A zoomed range read again at finer resolution, per series. */
  async function reread(range) {
    const asked = generation;
    const names = groups.flat();
    await Promise.all(
      names.map(async (name) => {
        const steps = chartOf[name].stepRange(name, range);
        if (!steps) return;
        const params = new URLSearchParams({ name, max_points: MAX_POINTS, since_step: steps[0] });
        if (steps[1] !== null) params.set("until_step", steps[1]);
        axes.param(params);
        const data = await getJson(`${page.dataset.metricsUrl}?${params}`);
        const series = data.series[name];
        if (asked === generation && series) chartOf[name].setDetail(name, series.steps, series.values, series.x);
      }),
    );
    page.dataset.reread = String(Number(page.dataset.reread || 0) + 1);
  }

  function reload() {
    generation++;
    batchChanges.steps = [];
    batchChanges.values = [];
    return pullMetrics(true).catch((error) => showNote(`Could not load the curves (${error.message}).`));
  }

  // The batch size is written where it changes: drawn as steps up to the last step trained.
  const batchChanges = { steps: [], values: [] };

  async function pullBatchSize() {
    if (!chartOf.batch_size) return;
    const last = batchChanges.steps.length ? batchChanges.steps[batchChanges.steps.length - 1] : 0;
    const params = new URLSearchParams({ name: "batch_size" });
    if (last) params.set("since_step", last);
    const data = await getJson(`${page.dataset.metricsUrl}?${params}`);
    const series = data.series.batch_size || { steps: [], values: [] };
    series.steps.forEach((step, i) => {
      if (step > last) {
        batchChanges.steps.push(step);
        batchChanges.values.push(series.values[i]);
      }
    });
    const { steps: at, values: sizes } = batchChanges;
    const steps = [];
    const values = [];
    at.forEach((step, i) => {
      if (i && step - 1 > steps[steps.length - 1]) {
        steps.push(step - 1);
        values.push(sizes[i - 1]);
      }
      steps.push(step);
      values.push(sizes[i]);
    });
    const end = chartOf.train_loss ? chartOf.train_loss.lastStep("train_loss") : 0;
    if (steps.length && end > steps[steps.length - 1]) {
      steps.push(end);
      values.push(values[values.length - 1]);
    }
    // Drawn where the loss's steps are on the page's axis.
    const xs = steps.map((step) => (chartOf.train_loss ? chartOf.train_loss.xOfStep(step) : step));
    chartOf.batch_size.replace("batch_size", steps, values, xs.some((x) => x === null) ? undefined : xs);
  }

  // ---- Events: marked on the curves and listed in words ----

  const n = (v) => (typeof v === "number" ? formatValue(v) : v);
  const EVENT_TEXT = {
    warmup_end: (e) => ["warmup ends", "Warmup ended", `the rate reached ${n(e.lr)}`],
    restart: (e) => ["restart", "Warm restart", `cycle ${e.cycle ?? ""}, the rate back to ${n(e.lr)}`],
    decay: (e) => ["lr decay", "Learning rate decayed", `to ${n(e.lr)}`],
    optimizer_switch: (e) => [`→ ${e.optimizer}`, `Switched to ${e.optimizer}`, `at learning rate ${n(e.learning_rate)}`],
    swa_start: (e) => ["SWA", "Weight averaging started", `at rate ${n(e.lr)}`],
    swa_final: (e) => ["SWA average", "The averaged weights became the final model", `${e.epochs_averaged} epochs averaged`],
    early_stop: (e) => ["early stop", "Early stopping", `no improvement of ${e.monitor}; best epoch ${e.best_epoch}`],
    restore_best: (e) => ["best restored", "Restored the best epoch's weights", `epoch ${e.best_epoch}`],
    stop: (e) => ["stop", "Stopped", e.reason || ""],
    precision: (e) => ["precision", "Precision", e.message || ""],
    best_checkpoint: (e) => ["best", "New best model", `${e.monitor} ${n(e.value)}`],
    resumed: () => ["resumed", "Resumed from its checkpoint", "after its worker stopped"],
    resumed_from: (e) => ["resumed", `Went on from run #${e.run}`, "from its checkpoint"],
    requeued: () => ["requeued", "Requeued", "its worker was lost"],
  };
  const EVENT_KIND = { warmup_end: "schedule", restart: "schedule", decay: "schedule", optimizer_switch: "optimizer",
    swa_start: "optimizer", swa_final: "optimizer", early_stop: "stop", restore_best: "stop", stop: "stop" };

  function describe(event) {
    const text = (EVENT_TEXT[event.type] || ((e) => [e.type, e.type.replace(/_/g, " "), ""]))(event);
    return { step: event.step, epoch: event.epoch, type: event.type, label: text[0], title: text[1], detail: text[2], kind: EVENT_KIND[event.type] };
  }

  let eventCount = -1;
  async function pullEvents() {
    const data = await getJson(page.dataset.eventsUrl);
    if (data.events.length === eventCount) return;
    eventCount = data.events.length;
    // A resume from another run's checkpoint is one event, not also its worker's "resumed".
    const goesOn = new Set(data.events.filter((e) => e.type === "resumed_from").map((e) => e.step));
    const events = data.events.filter((e) => !(e.type === "resumed" && goesOn.has(e.step))).map(describe);
    // Every improvement is a "best" event: on the curves they would be a fence, so none is
    // drawn; the list shows every event (it scrolls inside its card).
    const marked = events.filter((e) => e.type !== "best_checkpoint" && e.type !== "precision");
    for (const chart of allCharts) chart.setEvents(marked);
    showEvents(events);
  }

  function showEvents(events) {
    const card = page.querySelector("[data-events]");
    const list = page.querySelector("[data-events-list]");
    if (!card || !list) return;
    card.hidden = !events.length;
    list.replaceChildren(
      ...events.map((e) => {
        const item = document.createElement("li");
        item.className = `events__item events__item--${e.kind || "info"}`;
        const where = document.createElement("span");
        where.className = "events__where";
        where.textContent = `step ${count(e.step)} · epoch ${count(e.epoch)}`;
        const what = document.createElement("strong");
        what.textContent = e.title;
        item.append(where, what, e.detail ? ` ${e.detail}` : "");
        return item;
      }),
    );
  }

  // ---- Progress ----

  function field(name) {
    return page.querySelector(`[data-field="${name}"]`);
  }

  function showRun(run) {
    const badge = field("status");
    badge.className = `badge badge--${run.status}`;
    badge.textContent = run.status.charAt(0).toUpperCase() + run.status.slice(1);

    const { epoch, epochs, step, steps } = run.progress;
    const bar = field("progress");
    if (steps) {
      bar.max = steps;
      bar.value = step;
      field("progress-text").textContent = `Epoch ${count(epoch)} of ${count(epochs)} · step ${count(step)} of ${count(steps)}`;
    }
    // At the pace so far: what is left over the steps per second since the start.
    const eta = run.status === "running" && step && steps && run.duration_seconds ? ((steps - step) * run.duration_seconds) / step : null;
    field("eta").textContent = eta === null ? "" : `about ${formatDuration(Math.max(1, eta))} left`;
    field("device").textContent = run.device || "—";
    field("worker").textContent = run.worker || "—";
    field("duration").textContent = formatDuration(run.duration_seconds);
    const started = field("started");
    if (run.started_at && !started.querySelector("time")) {
      const time = document.createElement("time");
      time.dateTime = run.started_at;
      time.textContent = STARTED_FORMAT.format(new Date(run.started_at));
      started.replaceChildren(time);
    }

    const cancel = field("cancel");
    if (cancel && run.cancel_requested) {
      const button = cancel.querySelector("button");
      button.disabled = true;
      button.className = "button";
      button.textContent = "Stopping…";
    }
  }

  function showNote(message) {
    const note = field("connection");
    note.hidden = !message;
    note.textContent = message;
  }

  let polls = 0;
  async function poll() {
    if (document.hidden) {
      // Nobody is looking: wait for the tab to come back instead of polling in the background.
      document.addEventListener("visibilitychange", poll, { once: true });
      return;
    }
    let delay = POLL_MS;
    try {
      const run = await getJson(page.dataset.detailUrl);
      if (FINISHED.has(run.status)) {
        window.location.reload();
        return;
      }
      showRun(run);
      await pullMetrics();
      if (polls++ % EVENTS_EVERY === 0) await pullEvents();
      showNote("");
    } catch (error) {
      showNote(`Live updates paused (${error.message}); retrying…`);
      delay = RETRY_MS;
    }
    setTimeout(poll, delay);
  }


  function drawPredictions() {
    const data = document.getElementById("val-predictions");
    const element = document.getElementById("chart-predictions");
    if (!data || !element) return;
    const { actual, predicted } = JSON.parse(data.textContent);
    new ScatterChart(element, { label: "Predicted against actual validation values", xLabel: "actual", yLabel: "predicted" }).setPoints(actual, predicted);
  }

  const cancelForm = field("cancel");
  if (cancelForm) {
    cancelForm.addEventListener("submit", (event) => {
      if (!window.confirm("Cancel this run? It stops after the current step and keeps a checkpoint: Resume goes on from there.")) event.preventDefault();
    });
  }

  bindChartControls(page, chartOf);
  axes = window.DownhillAxes.bind(page, chartOf, { reload, reread });
  drawPredictions();
  /** A finished run's charts with nothing to draw (a run that failed before its first epoch
   *  has no accuracy) are left out rather than shown empty. */
  function hideEmptyCharts() {
    for (const chart of allCharts) {
      const empty = chart.series.every((s) => !chart.count(s.key));
      const card = chart.root.closest(".chart-card");
      if (card) card.hidden = empty;
    }
  }

  if (FINISHED.has(page.dataset.status)) {
    Promise.all([pullMetrics(), pullEvents()])
      .then(hideEmptyCharts)
      .catch((error) => showNote(`Could not load the curves (${error.message}).`));
  } else {
    poll();
  }
})();
