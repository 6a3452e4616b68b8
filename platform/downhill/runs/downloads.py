"""A run's files to take away: the model as ONNX and TorchScript (exported by the worker at
the end of the run), its "best" and "last" checkpoints, what predicting needs besides the model
(fitted preprocessing, output transform, classes: "inference", JSON), and its config as JSON."""

from __future__ import annotations

import json

from django.core.files.storage import default_storage

from .models import Run

# name in the URL: (where run.artifacts holds its path, file name suffix, content type)
DOWNLOADS = {
    "onnx": (("onnx",), "model.onnx", "application/octet-stream"),
    "torchscript": (("torchscript",), "model.torchscript.pt", "application/octet-stream"),
    "best": (("checkpoints", "best"), "best.pt", "application/octet-stream"),
    "last": (("checkpoints", "last"), "last.pt", "application/octet-stream"),
}
DOWNLOAD_NAMES = (*DOWNLOADS, "inference", "config")


class NotDownloadable(Exception):
    """The run has no such file (not finished, or not kept); the message says which."""


def run_download(run: Run, what: str) -> tuple[str, bytes, str]:
    """(file name, content, content type) of one of `DOWNLOAD_NAMES`."""
    if what == "config":
        body = {"dataset": run.experiment.dataset_id, **run.experiment.config}
        text = json.dumps(body, indent=2, sort_keys=True) + "\n"
        return f"run-{run.id}-config.json", text.encode(), "application/json"
    if what == "inference":  # what the exported models need around them
        if not run.inference:
            raise NotDownloadable(_missing(run, what))
        text = json.dumps(run.inference, indent=2) + "\n"
        return f"run-{run.id}-inference.json", text.encode(), "application/json"
    keys, suffix, content_type = DOWNLOADS[what]
    path = run.artifacts
    for key in keys:
        path = path.get(key) if isinstance(path, dict) else None
    if not path:
        raise NotDownloadable(_missing(run, what))
    with default_storage.open(path, "rb") as stored:
        return f"run-{run.id}-{suffix}", stored.read(), content_type


def _missing(run: Run, what: str) -> str:
    if run.status != "succeeded":
        return f"Run {run.id} has no {what} file ({run.status}); it is written when a run succeeds."
    export_error = run.artifacts.get("export_errors", {}).get(what)
    if export_error:
        return f"Run {run.id}'s model could not be exported as {what}: {export_error}"
    if what == "best":
        return f"Run {run.id} kept no best checkpoint (it had no validation split)."
    return f"Run {run.id} has no {what} file: it finished before this export existed."
