"""Reads for sweeps: what the API and the page show."""

from __future__ import annotations

from django.db.models import QuerySet

from . import study as studies
from .models import Sweep, Trial

T = Trial.State


def sweeps_visible_to(user) -> QuerySet[Sweep]:
    return Sweep.objects.filter(owner=user)


def sweep_progress(sweep: Sweep) -> dict:
    trials = list(sweep.trials.all())
    counts = {state: 0 for state in T.values}
    for trial in trials:
        counts[trial.state] += 1
    done = [t for t in trials if t.state != T.RUNNING and t.finished_at]
    eta = None
    if done and sweep.status == Sweep.Status.RUNNING:
        elapsed = (max(t.finished_at for t in done) - sweep.created_at).total_seconds()
        left = sweep.max_trials - len(done)
        eta = round(elapsed / len(done) * left / max(1, min(sweep.max_concurrent, left)) * 1, 1)
    return {**counts, "asked": len(trials), "max_trials": sweep.max_trials, "eta_seconds": eta}


def sweep_best(sweep: Sweep) -> Trial | None:
    order = "-value" if sweep.direction == "maximize" else "value"
    return (
        sweep.trials.filter(state=T.COMPLETE, value__isnull=False).order_by(order, "number").first()
    )


def sweep_best_trials(sweep: Sweep, count: int) -> list[Trial]:
    order = "-value" if sweep.direction == "maximize" else "value"
    rows = sweep.trials.filter(state=T.COMPLETE, value__isnull=False).order_by(order, "number")
    return list(rows[:count])


def sweep_history(sweep: Sweep) -> list[dict]:
    """The best value so far against trial number."""
    best, out = None, []
    for trial in sweep.trials.filter(state=T.COMPLETE, value__isnull=False).order_by("number"):
        better = best is None or (
            trial.value > best if sweep.direction == "maximize" else trial.value < best
        )
        best = trial.value if better else best
        out.append({"number": trial.number, "value": trial.value, "best": best})
    return out


MIN_TRIALS_FOR_IMPORTANCE = 3


def sweep_importance(sweep: Sweep) -> dict:
    """Optuna's fANOVA importance of each parameter over the completed trials."""
    import optuna

    trials = list(sweep.trials.order_by("number"))
    complete = [t for t in trials if t.state == T.COMPLETE]
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE:
        return {"importance": {}, "evaluator": "fanova",
                "message": f"needs {MIN_TRIALS_FOR_IMPORTANCE} completed trials; {len(complete)} so far."}  # fmt: skip
    study = studies.build(sweep, trials)
    try:
        values = optuna.importance.get_param_importances(
            study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=sweep.seed)
        )
    except (RuntimeError, ValueError) as exc:
        return {"importance": {}, "evaluator": "fanova", "message": str(exc)}
    return {"importance": dict(values), "evaluator": "fanova", "message": ""}
