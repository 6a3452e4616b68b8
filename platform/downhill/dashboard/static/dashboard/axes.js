/*
 * The x-axis choice and the zoom of a page's charts: one select for every chart of the page
 * (step, fractional epoch, samples seen, seconds since the start; the server answers each),
 * zoom and cursor shared by all of them, and a re-read of a zoomed range at finer resolution.
 *
 *   const axes = DownhillAxes.bind(page, charts, { reload, reread });
 *   axes.current()  // the axis key; axes.param(params) sets `x` on a metrics request
 */
(function () {
  "use strict";

  const { formatDuration } = window.Downhill;
  const number = (v, digits) => v.toLocaleString("en-US", { maximumFractionDigits: digits });
  const AXES = {
    step: { title: "step", unit: "step", format: (x) => `step ${number(x, 0)}` },
    epoch: { title: "epoch", unit: "epoch", format: (x) => `epoch ${number(x, 2)}` },
    samples: { title: "samples", unit: "samples", format: (x) => `${number(Math.round(x), 0)} samples` },
    time: { title: "seconds", unit: "time", format: (x) => `${formatDuration(x)} in` },
  };

  /**
   * Bind the page's axis select and its charts' zoom. `reload(axis)` reads every series again
   * on a new axis; `reread(range)` reads the zoomed x range at finer resolution (null: zoom
   * reset). Both may return promises.
   */
  function bind(page, charts, { reload, reread }) {
    const select = page.querySelector('[data-control="x-axis"]');
    let axis = select && AXES[select.value] ? select.value : "step";
    const noteField = page.querySelector('[data-field="axis-note"]');
    const notesScript = document.getElementById("axis-notes");
    const notes = notesScript ? JSON.parse(notesScript.textContent) : {};
    const list = Object.values(charts).filter((chart, i, all) => all.indexOf(chart) === i);
    const apply = () => list.forEach((chart) => chart.setAxis(AXES[axis]));
    for (const chart of list) {
      chart.options.onZoom = (range, origin) => {
        for (const other of list) if (other !== origin) other.setZoom(range);
        page.dataset.zoomed = range ? "true" : "false";
        if (range) Promise.resolve(reread(range)).catch(() => {});
      };
      chart.options.onCursor = (x, origin) => {
        for (const other of list) if (other !== origin) other.showCursor(x);
      };
      chart.svg.addEventListener("pointerleave", () => list.forEach((other) => other.showCursor(null)));
    }
    apply();
    if (select) {
      select.addEventListener("change", () => {
        axis = AXES[select.value] ? select.value : "step";
        if (noteField && notes[axis]) noteField.textContent = notes[axis]; // never a stale "by default"
        apply();
        page.dataset.zoomed = "false";
        reload(axis);
      });
    }
    return {
      current: () => axis,
      param: (params) => params.set("x", axis),
    };
  }

  window.DownhillAxes = { AXES, bind };
})();
