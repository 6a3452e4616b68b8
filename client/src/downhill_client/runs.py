"""Runs: list, get, watch, cancel, resume, metrics and predictions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import ApiError
from .metrics import Metrics
from .models import Run
from .transport import Transport
from .watch import Snapshot, follow

# What GET /runs/{id}/download/{what}/ offers, and the file name the CLI saves each under.
DOWNLOADS = {
    "onnx": "model.onnx",
    "torchscript": "model.torchscript.pt",
    "best": "best.pt",
    "last": "last.pt",
    "inference": "inference.json",
    "config": "config.json",
}
MAX_POINTS = 100_000  # the server's bound per series: a metrics read is the whole series
PREDICT_BATCH = 1000  # rows per predict request (the server's limit)


class Runs:
    def __init__(self, transport: Transport):
        self._t = transport

    def list(self, *, status: str | None = None, experiment: int | None = None) -> list[Run]:
        params = {k: v for k, v in {"status": status, "experiment": experiment}.items() if v}
        return [Run.from_api(r) for r in self._t.all_pages("/runs/", **params)]

    def get(self, run_id: int) -> Run:
        return Run.from_api(self._t.get(f"/runs/{run_id}/"))

    def cancel(self, run_id: int) -> Run:
        return Run.from_api(self._t.post(f"/runs/{run_id}/cancel/"))

    def resume(self, run_id: int) -> Run:
        """A cancelled run goes on from its checkpoint, as a new run (returned)."""
        return Run.from_api(self._t.post(f"/runs/{run_id}/resume/"))

    def metrics(
        self,
        run_id: int,
        names: Iterable[str] = (),
        *,
        since_step: int = 0,
        max_points: int = MAX_POINTS,
    ) -> Metrics:
        params = {"name": list(names), "since_step": since_step, "max_points": max_points}
        return Metrics(self._t.get(f"/runs/{run_id}/metrics/", **params)["series"])

    def events(self, run_id: int) -> list[dict]:
        return self._t.get(f"/runs/{run_id}/events/")["events"]

    def predict(self, run_id: int, rows) -> list[dict]:
        """Predictions for rows: a list of {column: value} dicts, or a pandas DataFrame (NaN
        is sent as a missing value). Sent in batches of the server's limit."""
        if hasattr(rows, "to_json"):  # a DataFrame: JSON turns NaN into null, numpy into numbers
            rows = json.loads(rows.to_json(orient="records"))
        rows = list(rows)
        predictions: list[dict] = []
        for start in range(0, len(rows), PREDICT_BATCH):
            batch = rows[start : start + PREDICT_BATCH]
            try:
                answer = self._t.post(f"/runs/{run_id}/predict/", json={"rows": batch})
            except ApiError as exc:
                if start:  # name rows of the whole input, not of this batch
                    exc.message = f"{exc.message} (in the batch from row {start})"
                    exc.args = (exc.message,)
                raise
            predictions.extend(answer["predictions"])
        return predictions

    def download(self, run_id: int, what: str, destination=None) -> Path:
        """Save one of the run's files (a key of DOWNLOADS: the model as ONNX or TorchScript,
        a checkpoint, the preprocessing for inference, the config) to `destination` (default
        run-<id>-<file name> in the current folder); returns where it was saved."""
        if what not in DOWNLOADS:
            raise ValueError(f"{what!r} is not one of: {', '.join(DOWNLOADS)}")
        path = Path(destination or f"run-{run_id}-{DOWNLOADS[what]}")
        self._t.download(f"/runs/{run_id}/download/{what}/", path)
        return path

    def watch(
        self,
        run_id: int,
        on_update: Callable[[Snapshot], None] | None = None,
        interval: float = 1.0,
        timeout: float | None = None,
    ) -> Run:
        """Block until the run ends (TimeoutError after `timeout` seconds, if given);
        `on_update` gets a Snapshot (progress, steps/s, ETA, latest losses) at every poll.
        Returns the finished Run (check `run.status`)."""
        snapshot = None
        for snapshot in follow(self, run_id, interval=interval, timeout=timeout):
            if on_update:
                on_update(snapshot)
        return snapshot.run
