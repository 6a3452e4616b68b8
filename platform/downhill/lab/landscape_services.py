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
    landscape = Landscape.objects.create(owner=owner, run=run, kind=params["kind"],
                                         params=params, cost=cost)  # fmt: skip
    transaction.on_commit(lambda: _send(landscape.id))
    return landscape


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


def _send(landscape_id: int) -> None:
    try:
        send_by_name(LANDSCAPE_TASK, args=[landscape_id], queue=TRAINING_QUEUE)
    except Exception:  # noqa: BLE001 (any transport error: the job cannot start)
        log.warning("could not send landscape %s to the broker", landscape_id)
        landscape_finish(
            landscape_id, S.FAILED, error="The broker did not take the job; try again."
        )


def landscape_request_cancel(landscape: Landscape) -> Landscape:
    """Cancel a queued landscape at once; ask a running one's worker to stop after its row."""
    if not Landscape.objects.filter(pk=landscape.id, status=S.QUEUED).update(
        status=S.CANCELLED, finished_at=timezone.now()
    ):
        Landscape.objects.filter(pk=landscape.id, status=S.RUNNING).update(cancel_requested=True)
    landscape.refresh_from_db()
    return landscape


# --- the worker's side ---
def landscape_claim(landscape_id: int) -> bool:
    """Queued -> running; False when it is not queued (cancelled, or taken)."""
    return bool(Landscape.objects.filter(pk=landscape_id, status=S.QUEUED).update(status=S.RUNNING))


def landscape_progress(landscape_id: int, cells_done: int, result: dict) -> bool:
    """Store the cells so far; returns whether a cancel was asked."""
    Landscape.objects.filter(pk=landscape_id, status=S.RUNNING).update(
        cells_done=cells_done, result=result
    )
    return Landscape.objects.filter(pk=landscape_id, cancel_requested=True).exists()


def landscape_finish(landscape_id: int, status: str, **fields) -> None:
    """The end of a landscape: its status, and its result or error."""
    Landscape.objects.filter(pk=landscape_id, status__in=(S.QUEUED, S.RUNNING)).update(
        status=status, finished_at=timezone.now(), **fields
    )
