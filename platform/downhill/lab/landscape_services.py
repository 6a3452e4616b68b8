"""A run's loss landscapes through their lifecycle: estimated and created by a user (sent to a
training worker after the commit), claimed, fed rows of the grid and finished by the worker,
cancelled by the user."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from downhill.celery import send_by_name
from downhill.runs.checkpoints import kept_weights, snapshot_names
from downhill.runs.models import Run
from downhill.runs.selectors import runs_visible_to
from workers.contract.landscape import (
    DEFAULT_RANGES,
    LANDSCAPE_TASK,
    landscape_cost,
    landscape_params,
)
from workers.contract.splits import held_out_counts, train_rows
from workers.contract.tasks import TRAINING_QUEUE

from .models import Landscape

log = logging.getLogger(__name__)
S = Landscape.Status


def landscape_plan(*, owner, data) -> tuple[Run, dict, dict]:
    """(run, params with every default filled in, cost) of a landscape the owner asks for.
    Raises ValidationError naming the field; creates nothing."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The request body must be a JSON object."]})
    params, errors = landscape_params(data)
    run = _run(owner, data.get("run"), errors)
    if run is not None and not errors:
        _fit_to_run(run, params, errors)
    if errors:
        raise ValidationError(errors)
    config, n_rows = run.experiment.config, run.experiment.dataset.n_rows or 0
    n_val, _ = held_out_counts(n_rows, config["validation_split"], config.get("test_split", 0.0))
    set_rows = (train_rows(n_rows, config), n_val)
    return run, params, landscape_cost(params["kind"], params["grid"], params["rows"], set_rows)


def landscape_create(*, owner, data) -> Landscape:
    """Validate and queue a landscape of one of the owner's finished runs."""
    run, params, cost = landscape_plan(owner=owner, data=data)
    parts = [_part(p) for p in range(params["parts"])]
    landscape = Landscape.objects.create(owner=owner, run=run, kind=params["kind"],
                                         params=params, cost=cost, parts=parts)  # fmt: skip
    transaction.on_commit(lambda: _send(landscape.id, len(parts)))
    return landscape


def _part(part: int) -> dict:
    return {"part": part, "status": S.QUEUED, "worker": "", "cells_done": 0,
            "forward_passes": 0, "error": ""}  # fmt: skip


def _run(owner, value, errors: dict) -> Run | None:
    if isinstance(value, bool) or not isinstance(value, int):
        errors["run"] = ["the id of one of your runs."]
        return None
    run = runs_visible_to(owner).filter(pk=value).first()
    if run is None:
        errors["run"] = [f"no run {value} of yours."]
    elif run.status != Run.Status.SUCCEEDED:
        errors["run"] = [f"run {value} is {run.status}: a landscape needs a run that finished."]
    elif not (run.artifacts or {}).get("checkpoints"):
        errors["run"] = [f"run {value} has no stored model to draw a landscape around."]
    return run


def _fit_to_run(run: Run, params: dict, errors: dict) -> None:
    """What the run's kept weights allow: a line needs its initial weights, a PCA surface
    (the one the trajectory is drawn on) its snapshots. Fills in the directions."""
    kept = kept_weights(run.id)
    snapshots = snapshot_names(kept)
    if params["kind"] == "line":
        if "initial" not in kept:
            errors["run"] = [f"run {run.id} was trained before runs kept their initial weights: "
                             "train it again for a line, or ask for a surface."]  # fmt: skip
        params["range"] = params["range"] or DEFAULT_RANGES["line"]
        return
    if params["directions"] is None:
        params["directions"] = "pca" if len(snapshots) >= 3 else "random"
    elif params["directions"] == "pca" and len(snapshots) < 3:
        errors["directions"] = [f"run {run.id} kept {len(snapshots)} weight snapshots; the "
                                "trajectory's plane needs 3 or more: use random."]  # fmt: skip
    if params["range"] is None and params["directions"] == "random":
        params["range"] = DEFAULT_RANGES["random"]


def _send(landscape_id: int, parts: int) -> None:
    try:
        for part in range(parts):
            send_by_name(LANDSCAPE_TASK, args=[landscape_id, part], queue=TRAINING_QUEUE)
    except Exception:  # noqa: BLE001 (any transport error: the job cannot start)
        log.warning("could not send landscape %s to the broker", landscape_id)
        landscape_finish(
            landscape_id, S.FAILED, error="The broker did not take the job; try again."
        )


def landscape_request_cancel(landscape: Landscape) -> Landscape:
    """Cancel a queued landscape at once; ask a running one's workers (one per part) to stop
    after their current block of cells."""
    if not Landscape.objects.filter(pk=landscape.id, status=S.QUEUED).update(
        status=S.CANCELLED, finished_at=timezone.now()
    ):
        Landscape.objects.filter(pk=landscape.id, status=S.RUNNING).update(cancel_requested=True)
    landscape.refresh_from_db()
    return landscape


# --- the worker's side: each part claims, feeds and finishes its share of the job's row ---
# A part's writes lock the job's row (select_for_update; SQLite's IMMEDIATE transactions do
# the same), so parts on different workers merge their cells without losing one another's.
def _locked(landscape_id: int) -> Landscape:
    return Landscape.objects.select_for_update().get(pk=landscape_id)


def _parts_of(job: Landscape) -> list[dict]:
    return job.parts or [_part(0)]  # a landscape asked for before parts existed


def landscape_claim(landscape_id: int, part: int = 0, worker: str = "") -> bool:
    """The part queued -> running (and the job with it); False when the job is over
    (cancelled, failed) or the part was taken."""
    with transaction.atomic():
        job = _locked(landscape_id)
        parts = _parts_of(job)
        if job.status not in (S.QUEUED, S.RUNNING) or parts[part]["status"] != S.QUEUED:
            return False
        parts[part].update(status=S.RUNNING, worker=worker)
        job.parts, job.status = parts, S.RUNNING
        job.save(update_fields=["parts", "status"])
    return True


def landscape_progress(landscape_id: int, part: int, cells: list, losses: dict, head: dict) -> bool:
    """Merge a part's newly computed cells ([i, j] and {set: loss per cell}) into the job's
    grids so far; returns whether the part should stop (a cancel was asked, or the job ended:
    another part failed)."""
    with transaction.atomic():
        job = _locked(landscape_id)
        if job.status != S.RUNNING:
            return True
        _merge(job, cells, losses, head)
        parts = _parts_of(job)
        parts[part]["cells_done"] += len(cells)
        job.parts, job.cells_done = parts, job.cells_done + len(cells)
        job.save(update_fields=["parts", "result", "cells_done"])
        return job.cancel_requested


def _merge(job: Landscape, cells: list, losses: dict, head: dict) -> None:
    size = job.params["grid"]
    result = {**job.result, **head}
    grids = result.setdefault("partial", {})
    for name, values in losses.items():
        grid = grids.setdefault(name, [[None] * size for _ in range(size)])
        for (i, j), value in zip(cells, values, strict=True):
            grid[i][j] = value
    job.result = result


def landscape_part_finish(landscape_id: int, part: int, status: str, *, result=None,
                          cells=None, error: str = "") -> None:  # fmt: skip
    """The end of one part: its status, and for the job the end it makes: failed (saying which
    part and why), cancelled, or succeeded when this was the last part in; then its result is
    the parts' cells merged (`cells`: this part's [i, j], read from `result`)."""
    with transaction.atomic():
        job = _locked(landscape_id)
        parts = _parts_of(job)
        forward_passes = (result or {}).get("forward_passes", 0)
        parts[part].update(status=status, error=error, forward_passes=forward_passes)
        job.parts, fields = parts, ["parts"]
        if job.status in (S.QUEUED, S.RUNNING):
            fields += _job_end(job, part, status, result, cells, error)
        job.save(update_fields=fields)


def _job_end(job: Landscape, part: int, status: str, result, cells, error: str) -> list[str]:
    """What a part's end makes of the job (still running); the fields it changed."""
    ended = ["status", "finished_at"]
    if status == S.FAILED:
        many = len(job.parts) > 1
        job.status, job.finished_at = S.FAILED, timezone.now()
        job.error = f"Part {part + 1} of {len(job.parts)} failed: {error}" if many else error
        return [*ended, "error"]
    if status == S.CANCELLED:
        job.status, job.finished_at = S.CANCELLED, timezone.now()
        return ended
    if len(job.parts) == 1:
        job.result = result
    else:
        head = {k: v for k, v in result.items() if k not in ("train", "validation")}
        _merge(job, cells, {k: [result[k][i][j] for i, j in cells] for k in ("train", "validation")
                            if k in result}, head)  # fmt: skip
    if any(p["status"] != S.SUCCEEDED for p in job.parts):
        return ["result"]
    if len(job.parts) > 1:
        merged = job.result.pop("partial")
        passes = sum(p["forward_passes"] for p in job.parts)
        job.result = {**job.result, **merged, "forward_passes": passes}
    job.status, job.finished_at, job.cells_done = S.SUCCEEDED, timezone.now(), job.cost["cells"]
    return [*ended, "result", "cells_done"]


def landscape_finish(landscape_id: int, status: str, **fields) -> None:
    """The end of a whole landscape (the broker would not take it)."""
    Landscape.objects.filter(pk=landscape_id, status__in=(S.QUEUED, S.RUNNING)).update(
        status=status, finished_at=timezone.now(), **fields
    )
