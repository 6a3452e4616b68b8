/*
 * The runs table: filters apply as they change, the table refreshes itself (every few seconds
 * while a run on it is queued or running), and ticked runs are compared. The server renders
 * the rows; a refresh asks for the same URL with partial=1 and swaps the table in.
 */
(function () {
  "use strict";

  const results = document.getElementById("runs-results");
  const compareForm = document.querySelector("[data-compare-form]");
  if (!results || !compareForm) return;

  const ACTIVE_MS = 3000;
  const IDLE_MS = 20000; // new runs started elsewhere (the API, another tab) still show up
  const KEY = "downhill.compare";
  const max = Number(compareForm.dataset.max) || 12;

  // ---- Filters ----

  const filters = document.querySelector("[data-filters]");
  if (filters) {
    filters.querySelector("[data-filters-submit]").hidden = true;
    // Selects apply as they change; the search box on Enter or when it loses focus.
    for (const input of filters.querySelectorAll("select, input")) {
      input.addEventListener("change", () => filters.requestSubmit());
    }
  }

  // ---- Selection, kept across pages and refreshes for this tab ----

  function loadSelection() {
    try {
      return new Set(JSON.parse(sessionStorage.getItem(KEY) || "[]").map(String));
    } catch {
      return new Set();
    }
  }
  const selected = loadSelection();

  function saveSelection() {
    try {
      sessionStorage.setItem(KEY, JSON.stringify([...selected]));
    } catch {
      /* storage off: the selection lasts for this page */
    }
  }

  const bar = compareForm.querySelector("[data-compare-bar]");
  const count = compareForm.querySelector("[data-compare-count]");
  const submit = compareForm.querySelector("[data-compare-submit]");

  function showSelection() {
    for (const box of results.querySelectorAll("input[name=ids]")) {
      box.checked = selected.has(box.value);
      box.closest("tr").classList.toggle("is-selected", box.checked);
    }
    bar.hidden = selected.size === 0;
    count.textContent = `${selected.size} run${selected.size === 1 ? "" : "s"} selected`;
    submit.disabled = selected.size < 2;
    submit.title = selected.size < 2 ? "Tick at least two runs" : "";
  }

  results.addEventListener("change", (event) => {
    const box = event.target;
    if (box.name !== "ids") return;
    if (box.checked && selected.size >= max) {
      box.checked = false;
      window.alert(`Compare at most ${max} runs at a time.`);
      return;
    }
    if (box.checked) selected.add(box.value);
    else selected.delete(box.value);
    saveSelection();
    showSelection();
  });

  compareForm.querySelector("[data-compare-clear]").addEventListener("click", () => {
    selected.clear();
    saveSelection();
    showSelection();
  });

  compareForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (selected.size < 2) return;
    const ids = [...selected].sort((a, b) => Number(a) - Number(b));
    window.location.href = `${compareForm.action}?ids=${ids.join(",")}`;
  });

  // ---- Live refresh ----

  function isActive() {
    const region = results.querySelector("[data-active]");
    return region && region.dataset.active === "true";
  }

  async function refresh() {
    let delay = isActive() ? ACTIVE_MS : IDLE_MS;
    if (document.hidden) {
      document.addEventListener("visibilitychange", refresh, { once: true });
      return;
    }
    try {
      const url = new URL(window.location.href);
      url.searchParams.set("partial", "1");
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.redirected || !response.ok) throw new Error(`HTTP ${response.status}`);
      const html = await response.text();
      const focused = results.contains(document.activeElement) ? document.activeElement : null;
      const focusedRun = focused && focused.name === "ids" ? focused.value : null;
      results.innerHTML = html;
      showSelection();
      if (focusedRun) results.querySelector(`input[name=ids][value="${focusedRun}"]`)?.focus();
      const region = results.querySelector("[data-active]");
      const total = document.querySelector('[data-field="runs-count"]');
      if (region && total) total.textContent = region.dataset.count.trim();
      delay = isActive() ? ACTIVE_MS : IDLE_MS;
    } catch {
      delay = IDLE_MS; // signed out or offline: try again later, quietly
    }
    setTimeout(refresh, delay);
  }

  showSelection();
  setTimeout(refresh, isActive() ? ACTIVE_MS : IDLE_MS);
})();
