"""Optuna's study rebuilt from our rows for one decision (ask, prune, importance): an in-memory
storage filled with the sweep's trials in number order, so Optuna's trial i is our trial i.
The samplers are seeded by the sweep's seed and the trial number: the same sweep asks the same
points."""

from __future__ import annotations

import math

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import TrialState, create_trial

from .models import Sweep, Trial
from .space import grid_values, trial_distributions

optuna.logging.set_verbosity(optuna.logging.WARNING)

OPTUNA_STATES = {
    Trial.State.RUNNING: TrialState.RUNNING,
    Trial.State.COMPLETE: TrialState.COMPLETE,
    Trial.State.PRUNED: TrialState.PRUNED,
    Trial.State.FAILED: TrialState.FAIL,
    Trial.State.CANCELLED: TrialState.FAIL,
}


def sampler(sweep: Sweep, number: int) -> optuna.samplers.BaseSampler:
    seed = (sweep.seed * 1_000_003 + number) % 2**32
    if sweep.method == "grid":
        axes = {name: grid_values(spec) for name, spec in sweep.space.items()}
        return optuna.samplers.GridSampler(axes, seed=sweep.seed)
    if sweep.method == "tpe":
        return optuna.samplers.TPESampler(seed=seed, n_startup_trials=5)
    return optuna.samplers.RandomSampler(seed=seed)


def pruner(sweep: Sweep) -> optuna.pruners.BasePruner:
    spec = sweep.pruner or {}
    kind = spec.get("type", "none")
    if kind == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=spec.get("n_startup_trials", 3),
            n_warmup_steps=spec.get("n_warmup_steps", 0),
        )
    if kind == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(
            min_resource=spec.get("min_resource", 1),
            reduction_factor=spec.get("reduction_factor", 3),
        )
    return optuna.pruners.NopPruner()


def build(sweep: Sweep, trials: list[Trial], *, number: int | None = None) -> optuna.Study:
    direction = "maximize" if sweep.direction == "maximize" else "minimize"
    study = optuna.create_study(
        storage=optuna.storages.InMemoryStorage(),
        sampler=sampler(sweep, len(trials) if number is None else number),
        pruner=pruner(sweep),
        direction=direction,
    )
    for trial in trials:
        study.add_trial(_frozen(sweep, trial))
    return study


def _frozen(sweep: Sweep, trial: Trial):
    state = OPTUNA_STATES[trial.state]
    value = trial.value if state == TrialState.COMPLETE else None
    if value is not None and not math.isfinite(value):
        state, value = TrialState.FAIL, None
    return create_trial(
        state=state,
        value=value,
        params=trial.params,
        distributions=_distributions(sweep, trial.params),
        intermediate_values=intermediate(trial),
        system_attrs=trial.system_attrs,
    )


def _distributions(sweep: Sweep, params: dict) -> dict:
    if sweep.method == "grid":
        return {name: CategoricalDistribution(grid_values(sweep.space[name])) for name in params}
    return trial_distributions(sweep.space, params, sweep.method)


def intermediate(trial: Trial) -> dict[int, float]:
    """Epoch -> objective, the finite values only (Optuna refuses nan)."""
    return {int(k): v for k, v in trial.intermediate.items() if v is not None and math.isfinite(v)}
