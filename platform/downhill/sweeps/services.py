"""Writes for sweeps: create, advance (settle finished trials, ask for the next ones), the
per-epoch report that decides pruning, cancel. Every decision holds the sweep's row locked, so
two processes never ask for the same trial (a 3x3 grid gives exactly 9 distinct trials)."""

from __future__ import annotations

import logging
import math

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from downhill.experiments.services import experiment_create
from downhill.runs.metric_chunks import series_points
from downhill.runs.models import Run
from downhill.runs.services import QuotaExceeded, run_request_cancel

from . import study as studies
from .create import sweep_fields
from .models import Sweep, Trial
from .pruning import prune_reason
from .space import suggest

log = logging.getLogger(__name__)
T = Trial.State


def sweep_create(*, owner, data) -> Sweep:
    """Create a sweep from a request body and queue its first trials. Raises ValidationError
    naming every bad field; on error nothing is created."""
    fields = sweep_fields(owner, data)
    with transaction.atomic():
        sweep = Sweep.objects.create(**fields)
        sweep_advance(sweep.id)
    sweep.refresh_from_db()
    return sweep


@transaction.atomic
def sweep_advance(sweep_id: int) -> None:
    """Tell the study the trials whose runs ended, then ask for trials until max_concurrent are
    queued or running or the budget is asked for; the sweep finishes with its last trial."""
    sweep = Sweep.objects.select_for_update().get(pk=sweep_id)
    trials = list(sweep.trials.select_related("run").order_by("number"))
    for trial in trials:
        _settle(sweep, trial)
    if sweep.status != Sweep.Status.RUNNING:
        return
    active = sum(trial.state == T.RUNNING for trial in trials)
    while len(trials) < sweep.max_trials and active < sweep.max_concurrent:
        trial = _ask(sweep, trials)
        if trial is None:  # the owner's quota is full: asked again when a run ends
            break
        trials.append(trial)
        active += trial.state == T.RUNNING
    if active == 0 and len(trials) >= sweep.max_trials:
        sweep.status, sweep.finished_at = Sweep.Status.FINISHED, timezone.now()
        sweep.save(update_fields=["status", "finished_at"])


def _ask(sweep: Sweep, trials: list[Trial]) -> Trial | None:
    study = studies.build(sweep, trials)
    asked = study.ask()
    params = suggest(asked, sweep.space, sweep.method)
    attrs = study._storage.get_trial(asked._trial_id).system_attrs
    trial = Trial(sweep=sweep, number=len(trials), params=params, system_attrs=attrs)
    data = {**sweep.base, **params, "name": f"{sweep.name} #{trial.number}"}
    try:
        with transaction.atomic():
            experiment = experiment_create(owner=sweep.owner, data=data)
    except QuotaExceeded:
        return None
    except ValidationError as exc:  # a combination the spec refuses: told as failed
        trial.state, trial.finished_at = T.FAILED, timezone.now()
        trial.error = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    else:
        trial.run = experiment.runs.first()
    trial.save()
    return trial


def _settle(sweep: Sweep, trial: Trial) -> None:
    """A running trial whose run ended gets its state and value."""
    run = trial.run
    if trial.state != T.RUNNING or (run is not None and not run.is_finished):
        return
    _refresh_intermediate(sweep, trial)
    values = [v for _, v in sorted(studies.intermediate(trial).items())]
    if run is None or run.status == Run.Status.FAILED:
        trial.state, trial.error = T.FAILED, (run.error if run else "its run was deleted")
    elif run.status == Run.Status.CANCELLED and not trial.prune:
        trial.state = T.CANCELLED
    elif trial.prune:
        trial.state, trial.value = T.PRUNED, (values[-1] if values else None)
    elif values:
        trial.state, trial.value = T.COMPLETE, values[-1]
    else:
        trial.state, trial.error = T.FAILED, f"its run reported no {sweep.objective}."
    trial.finished_at = timezone.now()
    trial.save()


def _refresh_intermediate(sweep: Sweep, trial: Trial) -> None:
    """The objective per epoch, from the run's points (one per validated epoch)."""
    if trial.run_id is None:
        return
    points = series_points(trial.run_id, sweep.objective, walls=False)
    steps = list(zip(points.steps.tolist(), points.values.tolist(), strict=True))
    run_epochs = trial.run.epochs or len(steps)
    if steps and len(steps) <= run_epochs:
        trial.intermediate = {
            str(epoch): _finite(value) for epoch, (_, value) in enumerate(steps, start=1)
        }


def _finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def trial_report(run_id: int, epoch: int, metrics: dict[str, float]) -> bool:
    """A trial's run finished `epoch`: record its objective and decide, with the sweep's
    pruner, whether it stops here. Returns True to prune. Runs of no sweep: False."""
    with transaction.atomic():
        trial = (
            Trial.objects.select_for_update().select_related("sweep").filter(run_id=run_id).first()
        )
        if trial is None or trial.state != T.RUNNING:
            return False
        sweep = trial.sweep
        value = metrics.get(sweep.objective)
        if value is None:
            return False
        trial.intermediate = {**trial.intermediate, str(epoch): _finite(value)}
        if sweep.pruner.get("type", "none") != "none" and not trial.prune:
            trial.prune = _decide(sweep, trial, epoch, value)
        trial.save(update_fields=["intermediate", "prune", "system_attrs"])
        return bool(trial.prune)


def _decide(sweep: Sweep, trial: Trial, epoch: int, value: float) -> dict:
    if not math.isfinite(value):
        return {"pruner": sweep.pruner["type"], "epoch": epoch, "value": None, "threshold": None,
                "message": f"{sweep.objective} is not a finite number at epoch {epoch}: "
                "the run diverged."}  # fmt: skip
    trials = list(sweep.trials.order_by("number"))
    index = next(i for i, t in enumerate(trials) if t.pk == trial.pk)
    trials[index] = trial
    study = studies.build(sweep, trials)
    frozen = study.get_trials(deepcopy=False)[index]
    pruned = study.pruner.prune(study, frozen)
    frozen = study.get_trials(deepcopy=False)[index]
    trial.system_attrs = dict(frozen.system_attrs)  # ASHA's rung values
    return prune_reason(sweep, study, frozen, epoch) if pruned else {}


def is_trial(run_id: int) -> bool:
    return Trial.objects.filter(run_id=run_id).exists()


def trial_run_ended(run_id: int) -> None:
    """The run-finish hook: advance the run's sweep, if it has one."""
    sweep_id = Trial.objects.filter(run_id=run_id).values_list("sweep_id", flat=True).first()
    if sweep_id is not None:
        sweep_advance(sweep_id)


def sweeps_advance_all() -> int:
    """The periodic catch-up (a trial asked for while the quota was full, a hook missed)."""
    ids = list(Sweep.objects.filter(status=Sweep.Status.RUNNING).values_list("pk", flat=True))
    for sweep_id in ids:
        sweep_advance(sweep_id)
    return len(ids)


def sweep_cancel(sweep: Sweep) -> Sweep:
    """Stop asking, cancel the queued trials' runs and ask the running ones to stop."""
    with transaction.atomic():
        sweep = Sweep.objects.select_for_update().get(pk=sweep.pk)
        if sweep.status == Sweep.Status.RUNNING:
            sweep.status, sweep.finished_at = Sweep.Status.CANCELLED, timezone.now()
            sweep.save(update_fields=["status", "finished_at"])
    for trial in sweep.trials.filter(state=T.RUNNING).select_related("run"):
        if trial.run is not None:
            run_request_cancel(trial.run)
    sweep_advance(sweep.pk)
    sweep.refresh_from_db()
    return sweep
