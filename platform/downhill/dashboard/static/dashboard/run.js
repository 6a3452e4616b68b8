/*
 * The run page: draws the run's curves and, while it is queued or running, polls the REST API
 * about once a second for its progress and the points written since the last poll. When the
 * run finishes the page reloads once, so the server renders its summary or error.
 */
(function () {
  "use strict";

  const page = document.querySelector("[data-run-id]");
  if (!page || !window.DownhillChart) return;

  const FINISHED = new Set(["succeeded", "failed", "cancelled"]);
  const POLL_MS = 1000;
  const RETRY_MS = 5000;
  const { LineChart } = window.DownhillChart;
  const percent = (v) => `${(v * 100).toFixed(1)}%`;

  const charts = [
    [
      "chart-loss",
      {
        label: "Training and validation loss by step",
        series: [
          { key: "train_loss", label: "train loss" },
          { key: "val_loss", label: "validation loss", markers: true },
        ],
        empty: "The loss appears here once the first steps are trained.",
      },
    ],
    [
      "chart-accuracy",
      {
        label: "Validation accuracy by step",
        series: [{ key: "val_accuracy", label: "validation accuracy", markers: true }],
        yMin: 0,
        yMax: 1,
        format: percent,
        empty: "Accuracy appears after the first epoch.",
      },
    ],
    [
      "chart-lr",
      {
        label: "Learning rate by step",
        series: [{ key: "lr", label: "learning rate" }],
        empty: "The learning rate appears once the first steps are trained.",
      },
    ],
  ];
  const chartOf = {}; // series name -> the chart that draws it
  for (const [id, options] of charts) {
    const element = document.getElementById(id);
    if (!element) continue; // accuracy exists for classification only
    const chart = new LineChart(element, options);
    for (const s of options.series) chartOf[s.key] = chart;
  }

  // Series are fetched in the groups the worker writes together, each group with its own
  // cursor: an epoch's val_loss can land in a later batch than the train_loss of the same
  // step, so a single cursor over all series could skip it.
  const groups = [["train_loss", "lr"], ["val_loss", "val_accuracy"]]
    .map((names) => names.filter((name) => chartOf[name]))
    .filter((names) => names.length);

  async function getJson(url) {
    const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (!response.ok) {
      const reason = response.status === 401 || response.status === 403 ? "you are signed out" : `HTTP ${response.status}`;
      throw new Error(reason);
    }
    return response.json();
  }

  async function pullMetrics() {
    await Promise.all(
      groups.map(async (names) => {
        const params = new URLSearchParams();
        for (const name of names) params.append("name", name);
        const since = Math.min(...names.map((name) => chartOf[name].lastStep(name)));
        if (since > 0) params.set("since_step", since);
        const data = await getJson(`${page.dataset.metricsUrl}?${params}`);
        for (const [name, series] of Object.entries(data.series)) {
          chartOf[name]?.append(name, series.steps, series.values);
        }
      }),
    );
  }

  function field(name) {
    return page.querySelector(`[data-field="${name}"]`);
  }

  function formatDuration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.floor(seconds);
    if (s < 60) return `${s}s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
    return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
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
      field("progress-text").textContent = `Epoch ${epoch} of ${epochs} · step ${step.toLocaleString("en-US")} of ${steps.toLocaleString("en-US")}`;
    }
    field("device").textContent = run.device || "—";
    field("worker").textContent = run.worker || "—";
    field("duration").textContent = formatDuration(run.duration_seconds);

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
      showNote("");
    } catch (error) {
      showNote(`Live updates paused (${error.message}); retrying…`);
      delay = RETRY_MS;
    }
    setTimeout(poll, delay);
  }

  const cancelForm = field("cancel");
  if (cancelForm) {
    cancelForm.addEventListener("submit", (event) => {
      if (!window.confirm("Cancel this run? Training stops and the run cannot be resumed.")) event.preventDefault();
    });
  }

  if (FINISHED.has(page.dataset.status)) {
    pullMetrics().catch((error) => showNote(`Could not load the curves (${error.message}).`));
  } else {
    poll();
  }
})();
