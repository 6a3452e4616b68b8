"""Why a trial was pruned, in the pruner's own terms: the rung (ASHA) or the step (median),
the threshold it had to beat and its own value, recomputed as Optuna's pruners decide."""

from __future__ import annotations

import math
import statistics

from optuna.trial import TrialState


def prune_reason(sweep, study, frozen, epoch: int) -> dict:
    if sweep.pruner.get("type") == "asha":
        return _asha(sweep, study, frozen)
    return _median(sweep, study, frozen, epoch)


def _better(direction: str) -> str:
    return "above" if direction == "maximize" else "below"


def _asha(sweep, study, frozen) -> dict:
    rungs = sorted(
        int(k.rsplit("_", 1)[1]) for k in frozen.system_attrs if k.startswith("completed_rung_")
    )
    rung = rungs[-1] if rungs else 0
    key = f"completed_rung_{rung}"
    competing = [
        t.system_attrs[key] for t in study.get_trials(deepcopy=False) if key in t.system_attrs
    ]
    factor = sweep.pruner.get("reduction_factor", 3)
    maximize = sweep.direction == "maximize"
    competing.sort(reverse=maximize)
    threshold = competing[max(len(competing) // factor - 1, 0)]
    value = frozen.system_attrs.get(key)
    epoch = sweep.pruner.get("min_resource", 1) * factor**rung
    return {
        "pruner": "asha", "rung": rung, "epoch": epoch, "threshold": threshold, "value": value,
        "competing": len(competing),
        "message": f"rung {rung} (epoch {epoch}): {sweep.objective} {value:.4g} is not in the "
        f"top 1/{factor} of {len(competing)} trials; it had to be {_better(sweep.direction)} "
        f"{threshold:.4g}.",
    }  # fmt: skip


def _median(sweep, study, frozen, epoch: int) -> dict:
    step = frozen.last_step
    completed = [t.intermediate_values[step] for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                 if step in t.intermediate_values and math.isfinite(t.intermediate_values[step])]  # fmt: skip
    threshold = statistics.median(completed) if completed else None
    values = [v for v in frozen.intermediate_values.values() if math.isfinite(v)]
    own = (max if sweep.direction == "maximize" else min)(values) if values else None
    message = (
        f"epoch {step}: its best {sweep.objective} so far, {own:.4g}, is worse than the median "
        f"{threshold:.4g} of {len(completed)} completed trials at that epoch."
        if threshold is not None and own is not None
        else f"epoch {step}: pruned by the median rule."
    )
    return {"pruner": "median", "epoch": step, "rung": None, "threshold": threshold,
            "value": own, "competing": len(completed), "message": message}  # fmt: skip
