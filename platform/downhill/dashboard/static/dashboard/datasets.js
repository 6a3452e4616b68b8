/*
 * Datasets: the upload form sends the file to the API with a progress bar (XMLHttpRequest,
 * whose upload reports progress; fetch does not), suggests target columns from the file's
 * header line, and opens the new dataset's page. A dataset page still being read refreshes
 * itself when it is ready.
 */
(function () {
  "use strict";

  const { csrfToken, getJson } = window.Downhill || {};

  // ---- Upload ----

  const form = document.querySelector("[data-upload-form]");
  if (form) {
    const fileInput = form.querySelector("[data-file-input]");
    const fileLabel = form.querySelector("[data-file-label]");
    const dropzone = form.querySelector("[data-dropzone]");
    const options = form.querySelector("[data-target-options]");
    const errors = form.querySelector("[data-upload-errors]");
    const progressBox = form.querySelector("[data-upload-progress]");
    const progress = progressBox.querySelector("progress");
    const status = form.querySelector("[data-upload-status]");
    const submit = form.querySelector("[data-upload-submit]");

    const megabytes = (bytes) => {
      if (bytes < 1024) return `${bytes} bytes`;
      if (bytes < 1048576) return `${(bytes / 1024).toFixed(1)} KB`;
      return `${(bytes / 1048576).toFixed(bytes < 10485760 ? 1 : 0)} MB`;
    };

    function showError(messages) {
      errors.hidden = !messages.length;
      errors.replaceChildren(...messages.map((text) => Object.assign(document.createElement("p"), { textContent: text })));
    }

    /** The header line's column names, for the target's suggestions (the server decides). */
    async function suggestColumns(file) {
      options.replaceChildren();
      const head = await file.slice(0, 65536).text();
      const line = head.replace(/^\uFEFF/, "").split(/\r?\n/)[0] || "";
      const delimiter = [",", "\t", ";", "|"].reduce((best, d) => (line.split(d).length > line.split(best).length ? d : best), ",");
      const names = line.split(delimiter).map((name) => name.trim().replace(/^"(.*)"$/, "$1")).filter(Boolean);
      if (names.length < 2 || names.length > 2000) return;
      options.replaceChildren(...names.map((name) => Object.assign(document.createElement("option"), { value: name })));
      const target = form.elements.namedItem("target");
      if (!target.value) target.placeholder = `the last column (${names[names.length - 1]})`;
    }

    function chosen(file) {
      fileLabel.replaceChildren();
      const name = document.createElement("strong");
      name.textContent = file.name;
      fileLabel.append(name, ` · ${megabytes(file.size)}`);
      dropzone.classList.add("has-file");
      showError([]);
      if (Number(form.dataset.maxBytes) && file.size > Number(form.dataset.maxBytes)) {
        showError([`The file is ${megabytes(file.size)}; the limit is ${megabytes(Number(form.dataset.maxBytes))}.`]);
      }
      if (/\.(csv|tsv|txt)$/i.test(file.name)) suggestColumns(file).catch(() => {});
    }

    fileInput.addEventListener("change", () => {
      if (fileInput.files[0]) chosen(fileInput.files[0]);
    });
    for (const type of ["dragenter", "dragover"]) {
      dropzone.addEventListener(type, (event) => {
        event.preventDefault();
        dropzone.classList.add("is-dragging");
      });
    }
    for (const type of ["dragleave", "drop"]) {
      dropzone.addEventListener(type, () => dropzone.classList.remove("is-dragging"));
    }
    dropzone.addEventListener("drop", (event) => {
      event.preventDefault();
      if (event.dataTransfer.files.length) {
        fileInput.files = event.dataTransfer.files;
        chosen(fileInput.files[0]);
      }
    });

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!fileInput.files.length) {
        showError(["Choose a file to upload."]);
        return;
      }
      const data = new FormData(form);
      data.delete("csrfmiddlewaretoken");
      for (const key of ["name", "target"]) if (!String(data.get(key) || "").trim()) data.delete(key);

      const request = new XMLHttpRequest();
      request.open("POST", form.dataset.apiUrl);
      request.setRequestHeader("X-CSRFToken", csrfToken());
      request.setRequestHeader("Accept", "application/json");
      request.responseType = "json";
      request.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        progress.value = Math.round((e.loaded / e.total) * 100);
        status.textContent = `Uploading… ${megabytes(e.loaded)} of ${megabytes(e.total)}`;
      });
      request.upload.addEventListener("load", () => {
        progress.value = 100;
        progress.removeAttribute("value"); // indeterminate while the server reads the file
        status.textContent = "Reading the file: columns, types and statistics…";
      });
      request.addEventListener("load", () => {
        const body = request.response || {};
        if (request.status === 201) {
          status.textContent = "Done.";
          window.location.href = form.dataset.datasetUrl.replace(/\/0\//, `/${body.id}/`);
          return;
        }
        finish();
        const messages = body.errors ? Object.entries(body.errors).flatMap(([key, list]) => list.map((m) => (key === "file" || key === "non_field_errors" ? m : `${key}: ${m}`))) : [];
        showError(messages.length ? messages : [body.detail || `The upload failed (HTTP ${request.status}).`]);
      });
      request.addEventListener("error", () => {
        finish();
        showError(["The upload was interrupted. Check the connection and try again."]);
      });

      showError([]);
      progress.value = 0;
      progressBox.hidden = false;
      submit.disabled = true;
      status.textContent = "Uploading…";
      request.send(data);
    });

    function finish() {
      progressBox.hidden = true;
      submit.disabled = false;
    }
  }

  // ---- A dataset still being read ----

  const dataset = document.querySelector("[data-dataset-id]");
  if (dataset && dataset.dataset.status === "processing" && getJson) {
    const check = async () => {
      try {
        const current = await getJson(dataset.dataset.detailUrl);
        // Read, or sent to be read (the page said it waited for the broker): show that.
        const sent = current.sent_at ? "yes" : "no";
        if (current.status !== "processing" || sent !== dataset.dataset.sent) {
          window.location.reload();
          return;
        }
      } catch {
        /* try again below */
      }
      setTimeout(check, 2000);
    };
    setTimeout(check, 2000);
  }
})();
