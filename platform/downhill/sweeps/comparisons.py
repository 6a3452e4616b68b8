""" "Compare optimizers" in one click: SGD, SGD + momentum, Nesterov, RMSprop, Adam and AdamW
on one dataset, each at its best learning rate from a short log-scale search.

One grid sweep per optimizer, not one sweep with the optimizer as a choice: SGD, SGD +
momentum and Nesterov are one optimizer with different momentum and nesterov settings, which
a sweep's space cannot name as one choice, and a conditional momentum cannot sit in a grid.
A grid of the same rates (decades, log-spaced) gives every optimizer the same tries, so the
comparison owes nothing to a sampler's luck at five trials; each optimizer's winner is its
sweep's best trial, and each sweep keeps its own page. Every trial shares the base seed: the
same split and the same initial weights for all.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from downhill.experiments.services import experiment_preview
from workers.contract.spec.lr_schedules import MAX_LR

from .create import MAX_CONCURRENT, sweep_fields
from .models import Comparison, Sweep
from .selectors import sweep_best, sweep_progress
from .services import sweep_advance, sweep_cancel


@dataclass(frozen=True)
class Variant:
    key: str
    label: str
    settings: dict


# 0.9: the momentum of Sutskever et al. 2013 and of PyTorch's ImageNet example.
MOMENTUM = 0.9
VARIANTS = (
    Variant("sgd", "SGD", {"optimizer": "sgd", "momentum": 0.0}),
    Variant("sgd_momentum", "SGD + momentum", {"optimizer": "sgd", "momentum": MOMENTUM}),
    Variant("nesterov", "Nesterov", {"optimizer": "sgd", "momentum": MOMENTUM, "nesterov": True}),
    Variant("rmsprop", "RMSprop", {"optimizer": "rmsprop"}),
    Variant("adam", "Adam", {"optimizer": "adam"}),
    Variant("adamw", "AdamW", {"optimizer": "adamw"}),
)
LABELS = {v.key: v.label for v in VARIANTS}
# Five decades hold every optimizer's default rate (1e-3 to 1e-2) with room on both sides.
LEARNING_RATES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
EPOCHS = 10  # short: the rates are told apart long before the default 20 epochs
MAX_EPOCHS = 200
MAX_RATES = 12
FIELDS = ("dataset", "epochs", "learning_rates", "max_concurrent", "seed", "dry_run")


def _int(data: dict, key: str, default: int, low: int, high: int, errors: dict) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[key] = [f"must be an integer from {low} to {high}."]
        return default
    return value


def _rates(value: Any, errors: dict) -> list[float]:
    ok = (
        isinstance(value, list)
        and 2 <= len(value) <= MAX_RATES
        and all(not isinstance(v, bool) and isinstance(v, (int, float)) for v in value)
    )
    if not ok:
        errors["learning_rates"] = [f"must be a list of 2 to {MAX_RATES} numbers."]
    elif not all(math.isfinite(v) and 0 < v <= MAX_LR for v in value):
        errors["learning_rates"] = [f"each rate must be above 0 and at most {MAX_LR:g}."]
    elif len(set(value)) != len(value):
        errors["learning_rates"] = ["lists a rate twice."]
    else:
        return sorted(float(v) for v in value)
    return list(LEARNING_RATES)


def _options(data: Any, errors: dict) -> dict:
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The request body must be a JSON object."]})
    for key in sorted(set(data) - set(FIELDS)):
        errors[key] = [f"unknown field; the fields are: {', '.join(FIELDS)}."]
    if not isinstance(data.get("dry_run", False), bool):
        errors["dry_run"] = ["must be true or false."]
    return {
        "epochs": _int(data, "epochs", EPOCHS, 1, MAX_EPOCHS, errors),
        "learning_rates": _rates(data.get("learning_rates", list(LEARNING_RATES)), errors),
        "max_concurrent": _int(data, "max_concurrent", 1, 1, MAX_CONCURRENT, errors),
        "seed": _int(data, "seed", secrets.randbelow(2**31), 0, 2**31 - 1, errors),
    }


def _sweep_body(variant: Variant, dataset: Any, options: dict) -> dict:
    base = {"dataset": dataset, "epochs": options["epochs"], "seed": options["seed"],
            **variant.settings}  # fmt: skip
    return {
        "name": f"{variant.label}: learning rate",
        "base": base,
        "space": {"learning_rate": {"type": "categorical", "values": options["learning_rates"]}},
        "method": "grid",
        "seed": options["seed"],
        "objective": "val_loss",
        "direction": "minimize",
        "max_trials": len(options["learning_rates"]),
        "max_concurrent": options["max_concurrent"],
    }


def _form_key(key: str) -> str:
    """A sweep's error key as the comparison's field: base.epochs -> epochs."""
    head, _, rest = key.partition(".")
    if head == "base" and rest:
        return rest.split(".")[0]
    return "learning_rates" if head == "space" else key


def comparison_plan(owner, data: Any) -> dict:
    """The comparison a request asks for, checked, creating nothing: its sweeps' fields, its
    number of trials and steps. Raises ValidationError naming each bad field."""
    errors: dict[str, list[str]] = {}
    options = _options(data, errors)
    sweeps = []
    for variant in VARIANTS:
        try:
            fields = sweep_fields(owner, _sweep_body(variant, data.get("dataset"), options))
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors.setdefault(_form_key(key), messages)
            break
        sweeps.append((variant, fields))
    if errors:
        raise ValidationError(errors)
    steps = experiment_preview(owner=owner, data=sweeps[0][1]["base"])["total_steps"]
    trials = len(VARIANTS) * len(options["learning_rates"])
    return {**options, "dataset": sweeps[0][1]["dataset"], "sweeps": sweeps,
            "trials": trials, "steps_per_trial": steps, "steps": trials * steps}  # fmt: skip


def plan_summary(plan: dict) -> dict:
    """What a plan shows before it is launched (the API's dry run, the confirmation page)."""
    return {
        "dataset": plan["dataset"].id,
        "epochs": plan["epochs"],
        "learning_rates": plan["learning_rates"],
        "optimizers": [
            {"key": v.key, "label": v.label, "settings": v.settings} for v, _ in plan["sweeps"]
        ],  # fmt: skip
        "trials": plan["trials"],
        "steps_per_trial": plan["steps_per_trial"],
        "steps": plan["steps"],
        "max_concurrent": plan["max_concurrent"],
        "seed": plan["seed"],
    }


def comparison_create(*, owner, data: Any) -> Comparison:
    """Create the comparison and its sweeps, and queue their first trials; all or nothing."""
    plan = comparison_plan(owner, data)
    with transaction.atomic():
        comparison = Comparison.objects.create(
            owner=owner, dataset=plan["dataset"], epochs=plan["epochs"],
            learning_rates=plan["learning_rates"],
            name=f"Optimizers on {plan['dataset'].name}",
        )  # fmt: skip
        for variant, fields in plan["sweeps"]:
            sweep = Sweep.objects.create(**fields, comparison=comparison, variant=variant.key)
            sweep_advance(sweep.id)
    return comparison


def comparisons_visible_to(user):
    return Comparison.objects.filter(owner=user)


def comparison_rows(comparison: Comparison) -> list[dict]:
    """Each optimizer's sweep, progress and winner (its best trial), in the comparison's order."""
    order = [v.key for v in VARIANTS]
    sweeps = sorted(comparison.sweeps.all(), key=lambda s: order.index(s.variant))
    rows = []
    for sweep in sweeps:
        best = sweep_best(sweep)
        rows.append(
            {
                "key": sweep.variant,
                "label": LABELS.get(sweep.variant, sweep.variant),
                "sweep": sweep,
                "progress": sweep_progress(sweep),
                "best": best,
                "learning_rate": best.params.get("learning_rate") if best else None,
            }
        )
    return rows


def comparison_status(rows: list[dict]) -> str:
    statuses = {row["sweep"].status for row in rows}
    if Sweep.Status.RUNNING in statuses:
        return "running"
    return "cancelled" if Sweep.Status.CANCELLED in statuses else "finished"


def comparison_cancel(comparison: Comparison) -> Comparison:
    for sweep in comparison.sweeps.all():
        sweep_cancel(sweep)
    return comparison


def winners_run_ids(rows: list[dict]) -> list[int]:
    return [row["best"].run_id for row in rows if row["best"] and row["best"].run_id]
