/*
 * The run page's "Landscape" card: the cost of the landscape the form describes (forward
 * passes = cells x batches), asked of the API's estimate as the form changes, so the user
 * sees it before starting one. A refusal shows the API's words for the field.
 */
(function () {
  "use strict";

  const form = document.querySelector("[data-landscape-form]");
  if (!form) return;
  const out = form.querySelector("[data-cost]");
  let pending = null;

  function body() {
    const data = { run: Number(form.dataset.run), kind: form.elements.kind.value };
    for (const key of ["grid", "rows", "parts"]) {
      const value = form.elements[key].value.trim();
      data[key] = /^\d+$/.test(value) ? Number(value) : value;
    }
    return data;
  }

  async function estimate() {
    if (pending) pending.abort();
    pending = new AbortController();
    try {
      const response = await fetch(form.dataset.estimateUrl, {
        method: "POST", credentials: "same-origin", signal: pending.signal,
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "X-CSRFToken": window.Downhill.csrfToken() },
        body: JSON.stringify(body()),
      });
      const answer = await response.json();
      if (!response.ok) {
        const errors = answer.errors || {};
        out.textContent = Object.entries(errors).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`).join("; ")
          || answer.detail || `HTTP ${response.status}`;
        out.classList.add("landscape-form__cost--bad");
        return;
      }
      const c = answer.cost;
      out.classList.remove("landscape-form__cost--bad");
      out.replaceChildren(`Cost: ${c.cells} cells × ${c.batches} batch${c.batches === 1 ? "" : "es"} = `);
      const strong = document.createElement("strong");
      strong.textContent = String(c.forward_passes);
      out.append(strong, ` forward passes, on ${c.rows.train} training and ${c.rows.validation} validation rows.`);
    } catch (error) {
      if (error.name !== "AbortError") out.textContent = `Could not estimate the cost: ${error.message}`;
    }
  }

  form.addEventListener("input", estimate);
  form.addEventListener("change", estimate);
})();
