"""A run's loss landscape on a training worker: the run's data and kept weights read, the
engine's landscape (or one part of its grid) computed coarse sub-grid first, its cells merged
into the job's row as they come (about once a second, and as soon as the coarse grid is
complete), a cancel asked meanwhile honoured at the next block of cells."""

from __future__ import annotations

import logging
import socket
import time

from downhill.lab.landscape_services import (
    landscape_claim,
    landscape_part_finish,
    landscape_progress,
)
from downhill.lab.models import Landscape
from downhill.runs.checkpoints import kept_weights, snapshot_names
from workers.contract.landscape import BATCH_ROWS, part_cells

from .checkpoints import load_stored
from .engine import DataError, pick_device, prepare
from .engine.lab.landscape_job import LandscapeSpec, finite_row, landscape
from .failures import internal_error
from .tables import read_table
from .weights import load_weights

log = logging.getLogger(__name__)
S = Landscape.Status


class Cancelled(Exception):
    """The user cancelled the landscape while it ran (or another of its parts failed)."""


class CellWriter:
    """Hears each finished block of the part's cells; merges the cells heard since the last
    write into the job's grids about once a second, at once when the part's share of the
    coarse sub-grid is complete, and at its end."""

    def __init__(self, landscape: Landscape, part: int, every: float = 1.0):
        self.landscape, self.part, self.every, self.next_write = landscape, part, every, 0.0
        mine = part_cells(landscape.params["grid"], part, _parts(landscape))
        self.cells, self.coarse = len(mine), sum(1 for i, j in mine if i % 2 == 0 == j % 2)
        self.done = 0
        self.pending: tuple[list, dict[str, list]] = ([], {})

    def __call__(self, block: list[tuple[int, int]], values: dict, head: dict) -> None:
        cells, losses = self.pending
        cells.extend(block)
        for name, row in values.items():
            losses.setdefault(name, []).extend(finite_row(row))
        before, self.done = self.done, self.done + len(block)
        milestone = before < self.coarse <= self.done or self.done == self.cells
        if milestone or time.monotonic() >= self.next_write:
            self.next_write = time.monotonic() + self.every
            self.pending = ([], {})
            if landscape_progress(self.landscape.id, self.part, cells, losses, head):
                raise Cancelled


def _parts(landscape: Landscape) -> int:
    return landscape.params.get("parts", 1)


def execute_landscape(landscape_id: int, part: int = 0, worker: str = "") -> None:
    """Compute one part of a queued landscape to its end (a landscape of one part: all of it);
    nothing raises (a failure says why on the row)."""
    if not landscape_claim(landscape_id, part, worker or socket.gethostname()):
        log.info("landscape %s part %s is not queued; skipping", landscape_id, part)
        return
    job = Landscape.objects.select_related("run__experiment__dataset").get(pk=landscape_id)
    try:
        result = _compute(job, part)
    except Cancelled:
        landscape_part_finish(landscape_id, part, S.CANCELLED)
        return
    except Exception as exc:  # noqa: BLE001 (the user sees a sentence; the log has the trace)
        landscape_part_finish(landscape_id, part, S.FAILED, error=_why(landscape_id, exc))
        return
    cells = part_cells(job.params["grid"], part, _parts(job))
    landscape_part_finish(landscape_id, part, S.SUCCEEDED, result=result, cells=cells)


def _why(landscape_id: int, exc: Exception) -> str:
    """The sentence a user reads for a part that failed."""
    if isinstance(exc, DataError):
        return f"The data cannot be evaluated as the run trained: {exc}"
    if isinstance(exc, FileNotFoundError):
        return "The run's kept weights are gone from storage (deleted?); train the run again."
    log.error("landscape %s failed", landscape_id, exc_info=exc)
    return internal_error(exc)


def _compute(job: Landscape, part: int) -> dict:
    run = job.run
    config, dataset = run.experiment.config, run.experiment.dataset
    data = prepare(read_table(dataset), dataset.columns, config)
    p = job.params
    spec = LandscapeSpec(kind=job.kind, grid=p["grid"], rows=p["rows"], range=p["range"],
                         directions=p.get("directions"), seed=p["seed"], batch_rows=BATCH_ROWS,
                         part=part, parts=_parts(job))  # fmt: skip
    kept = kept_weights(run.id)
    snapshots = snapshot_names(kept)
    return landscape(config, data, spec, lambda name: _weights(run, name, kept), snapshots,
                     device=pick_device(), on_block=CellWriter(job, part))  # fmt: skip


def _weights(run, name: str, kept: list[str]) -> dict:
    """A kept state dict; a run of before kept weights has its final model in its "last"
    checkpoint."""
    if name in kept:
        return load_weights(run.id, name)
    if name == "final":
        return load_stored(run.artifacts["checkpoints"]["last"], "cpu")["model"]
    raise FileNotFoundError(name)
