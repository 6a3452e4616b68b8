/*
 * The experiment form: shows the fields that apply (momentum for sgd and rmsprop, a schedule's
 * own parameters, a switched-on section's settings), and while it is edited asks the server
 * to validate the config and plot its learning rate per step. Launching is a plain form post.
 */
(function () {
  "use strict";

  const form = document.querySelector("[data-experiment-form]");
  if (!form || !window.Downhill) return;

  const { postForm } = window.Downhill;
  const { LineChart, formatValue } = window.DownhillChart;
  const datasets = JSON.parse(document.getElementById("experiment-datasets").textContent);
  const learningRates = JSON.parse(document.getElementById("experiment-learning-rates").textContent);
  const DEBOUNCE_MS = 250;
  // Not form.dataset: a form's named controls shadow its properties, and one is "dataset".
  const previewUrl = form.getAttribute("data-preview-url");

  const control = (name) => form.elements.namedItem(name);

  function value(name) {
    const element = control(name);
    if (!element) return "";
    if (element.type === "checkbox") return element.checked ? "on" : "";
    return element.value.trim();
  }

  /** A condition on a searched choice holds where any value it tries does (momentum shows
   * while sgd is among the searched optimizers); otherwise on the field's own value. */
  function holds(name, allowed) {
    const toggle = control(`search_${name}`);
    if (toggle && toggle.checked && !toggle.disabled) {
      const tried = form.querySelectorAll(`input[name="search_${name}_values"]:checked`);
      return Array.from(tried).some((input) => allowed.includes(input.value));
    }
    return allowed.includes(value(name));
  }

  /** Show the fields whose conditions hold; the others are hidden and not submitted. */
  function applyConditions() {
    for (const field of form.querySelectorAll("[data-when]")) {
      const conditions = JSON.parse(field.dataset.when);
      const applies = conditions.every(([name, allowed]) => holds(name, allowed));
      field.hidden = !applies;
      for (const element of field.querySelectorAll("input, select")) element.disabled = !applies;
    }
  }

  // ---- Dataset: its columns are the target's choices ----

  const datasetSelect = control("dataset");
  const targetSelect = control("target");
  function showColumns() {
    const dataset = datasets[datasetSelect.value];
    if (!dataset || !targetSelect) return;
    const current = targetSelect.value;
    targetSelect.replaceChildren(
      ...dataset.columns.map((name) => {
        const option = document.createElement("option");
        option.value = name;
        option.textContent = name === dataset.target ? `${name} (default)` : name;
        return option;
      }),
    );
    targetSelect.value = dataset.columns.includes(current) ? current : dataset.target;
  }
  datasetSelect.addEventListener("change", () => {
    targetSelect.value = "";
    showColumns();
  });

  // ---- Optimizer: an untouched learning rate follows the optimizer's default ----

  const optimizerSelect = control("optimizer");
  const rateInput = control("learning_rate");
  let previousOptimizer = optimizerSelect.value;
  optimizerSelect.addEventListener("change", () => {
    const old = learningRates[previousOptimizer];
    if (rateInput.value.trim() === "" || Number(rateInput.value) === old) {
      rateInput.value = String(learningRates[optimizerSelect.value]);
    }
    previousOptimizer = optimizerSelect.value;
  });

  // ---- A sweep's objective: accuracy, F1 and R² are maximized, losses and errors minimized ----

  const objectiveSelect = control("sweep_objective");
  const directionSelect = control("sweep_direction");
  objectiveSelect?.addEventListener("change", () => {
    const higherIsBetter = ["val_accuracy", "val_f1", "val_r2"].includes(objectiveSelect.value);
    directionSelect.value = higherIsBetter ? "maximize" : "minimize";
  });

  // ---- Live validation and the schedule's preview ----

  const chart = new LineChart(document.getElementById("chart-schedule"), {
    label: "Learning rate per step",
    series: [{ key: "lr", label: "learning rate", color: 5 }],
    empty: "Fill in the form to see the schedule.",
    height: 200,
  });
  const summary = form.querySelector("[data-preview-summary]");
  const errorBox = form.querySelector("[data-preview-errors]");
  const chartCard = form.querySelector(".preview-card");

  function showErrors(errors) {
    const loose = [];
    for (const slot of form.querySelectorAll("[data-error-for]")) {
      slot.hidden = true;
      slot.textContent = "";
      slot.closest(".field")?.classList.remove("has-error");
    }
    for (const [key, messages] of Object.entries(errors)) {
      const slot = form.querySelector(`[data-error-for="${key}"]`);
      const field = slot && slot.closest(".field");
      if (slot && field && !field.hidden) {
        slot.textContent = messages.join(" ");
        slot.hidden = false;
        field.classList.add("has-error");
      } else {
        loose.push(...messages.map((m) => (key === "non_field_errors" ? m : `${key}: ${m}`)));
      }
    }
    errorBox.hidden = !loose.length;
    errorBox.replaceChildren(...loose.map((text) => Object.assign(document.createElement("p"), { textContent: text })));
  }

  function describe(preview) {
    const { total_steps: total, epoch_steps: perEpoch, lr } = preview;
    const first = perEpoch[0];
    const varies = perEpoch.some((n) => n !== first);
    const low = Math.min(...lr.values);
    const high = Math.max(...lr.values);
    const range = low === high ? `constant at ${formatValue(low)}` : `from ${formatValue(low)} to ${formatValue(high)}`;
    return `${total.toLocaleString("en-US")} steps in ${perEpoch.length} epoch${perEpoch.length === 1 ? "" : "s"}` +
      `${varies ? " (the batch grows)" : ` of ${first.toLocaleString("en-US")}`}; learning rate ${range}.`;
  }

  // A searched setting makes the launch a sweep (CSS swaps the button's words); its size is
  // the server's answer, a grid's number of combinations capped by max trials.
  function showTrials(sweep) {
    const trialCount = form.querySelector("[data-trial-count]");
    if (trialCount) trialCount.textContent = sweep ? ` · up to ${sweep.trials} trial${sweep.trials === 1 ? "" : "s"}` : "";
  }

  let pending = null;
  let timer = 0;
  async function preview() {
    if (pending) pending.abort();
    pending = new AbortController();
    try {
      const result = await postForm(previewUrl, new FormData(form), pending.signal);
      if (result.valid) {
        showTrials(result.sweep);
        chart.replace("lr", result.lr.steps, result.lr.values);
        summary.textContent = describe(result) +
          (result.sweep ? " That is the base config's; each trial applies its searched settings to it." : "");
        chartCard.classList.remove("is-stale");
        showErrors({});
      } else {
        chartCard.classList.add("is-stale");
        showErrors(result.errors);
        summary.textContent = "Fix the highlighted settings to see the schedule.";
      }
    } catch (error) {
      if (error.name === "AbortError") return;
      chartCard.classList.add("is-stale");
      summary.textContent = `Could not check the settings (${error.message}).`;
    }
  }

  function schedulePreview() {
    clearTimeout(timer);
    timer = setTimeout(preview, DEBOUNCE_MS);
  }

  form.addEventListener("input", schedulePreview);
  form.addEventListener("change", () => {
    applyConditions();
    schedulePreview();
  });
  const launchButton = form.querySelector("[data-launch]");
  const launchLabel = launchButton.innerHTML;
  form.addEventListener("submit", () => {
    const button = launchButton;
    // Disabled after this event: a double click must not launch two runs.
    setTimeout(() => {
      button.disabled = true;
      button.textContent = "Launching…";
    });
  });
  window.addEventListener("pageshow", () => {
    launchButton.disabled = false;
    launchButton.innerHTML = launchLabel;
  });

  applyConditions();
  showColumns();
  preview();
})();
