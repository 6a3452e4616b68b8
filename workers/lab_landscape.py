"""A run's loss landscape on a training worker: the run's data and kept weights read, the
engine's landscape computed, its grid rows stored as they come (about once a second), a cancel
asked meanwhile honoured at the next row."""

from __future__ import annotations

import logging
import time

from downhill.lab.landscape_services import (
    landscape_claim,
    landscape_finish,
    landscape_progress,
)
from downhill.lab.models import Landscape
from downhill.runs.checkpoints import kept_weights, snapshot_names
from workers.contract.landscape import BATCH_ROWS

from .checkpoints import _load
from .engine import DataError, pick_device, prepare
from .engine.lab.landscape_job import LandscapeSpec, finite_row, landscape
from .tables import read_table
from .weights import load_weights

log = logging.getLogger(__name__)
S = Landscape.Status


class Cancelled(Exception):
    """The user cancelled the landscape while it ran."""


class RowWriter:
    """Hears each finished grid row; stores the rows so far about once a second."""

    def __init__(self, landscape: Landscape, every: float = 1.0):
        self.landscape, self.every, self.next_write = landscape, every, 0.0
        self.rows: dict[str, list] = {}

    def __call__(self, i: int, rows: dict) -> None:
        for name, values in rows.items():
            self.rows.setdefault(name, []).append(finite_row(values))
        grid = self.landscape.params["grid"]
        last = i + 1 == grid
        if last or time.monotonic() >= self.next_write:
            self.next_write = time.monotonic() + self.every
            if landscape_progress(self.landscape.id, (i + 1) * grid, {"partial": self.rows}):
                raise Cancelled


def execute_landscape(landscape_id: int) -> None:
    """Compute a queued landscape to its end; nothing raises (a failure says why on the row)."""
    if not landscape_claim(landscape_id):
        log.info("landscape %s is not queued; skipping", landscape_id)
        return
    job = Landscape.objects.select_related("run__experiment__dataset").get(pk=landscape_id)
    try:
        result = _compute(job)
    except Cancelled:
        landscape_finish(landscape_id, S.CANCELLED)
        return
    except DataError as exc:
        landscape_finish(landscape_id, S.FAILED,
                         error=f"The data cannot be evaluated as the run trained: {exc}")  # fmt: skip
        return
    except FileNotFoundError:
        landscape_finish(landscape_id, S.FAILED, error="The run's kept weights are gone from "
                         "storage (deleted?); train the run again.")  # fmt: skip
        return
    except Exception as exc:  # noqa: BLE001 (the user sees a sentence; the log has the trace)
        log.exception("landscape %s failed", landscape_id)
        error = (
            f"The worker hit an internal error ({exc.__class__.__name__}); its log has the details."
        )
        landscape_finish(landscape_id, S.FAILED, error=error)
        return
    landscape_finish(landscape_id, S.SUCCEEDED, result=result, cells_done=job.cost["cells"])


def _compute(job: Landscape) -> dict:
    run = job.run
    config, dataset = run.experiment.config, run.experiment.dataset
    data = prepare(read_table(dataset), dataset.columns, config)
    p = job.params
    spec = LandscapeSpec(kind=job.kind, grid=p["grid"], rows=p["rows"], range=p["range"],
                         directions=p.get("directions"), seed=p["seed"], batch_rows=BATCH_ROWS)  # fmt: skip
    kept = kept_weights(run.id)
    snapshots = snapshot_names(kept)
    return landscape(config, data, spec, lambda name: _weights(run, name, kept), snapshots,
                     device=pick_device(), on_row=RowWriter(job))  # fmt: skip


def _weights(run, name: str, kept: list[str]) -> dict:
    """A kept state dict; a run of before kept weights has its final model in its "last"
    checkpoint."""
    if name in kept:
        return load_weights(run.id, name)
    if name == "final":
        return _load(run.artifacts["checkpoints"]["last"], "cpu")["model"]
    raise FileNotFoundError(name)
