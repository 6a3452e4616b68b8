"""Checking a sweep request: every bad field named (400), nothing created on error."""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.core.exceptions import ValidationError

from downhill.datasets.selectors import datasets_visible_to
from downhill.experiments.config import CONFIG_KEYS, normalize_config

from .space import check_space, grid_size

METHODS = ("grid", "random", "tpe")
DIRECTIONS = ("minimize", "maximize")
PRUNERS = ("none", "median", "asha")
MAX_TRIALS = 1000
MAX_CONCURRENT = 50
OBJECTIVE = re.compile(r"^val_[a-z0-9_]{1,58}$")
# The validation metrics a run writes at every epoch end, by task (workers/engine/evaluate.py).
OBJECTIVES = {
    "classification": ("val_loss", "val_accuracy", "val_f1"),
    "regression": ("val_loss", "val_mae", "val_rmse", "val_r2"),
}
FIELDS = ("name", "base", "space", "method", "seed", "objective", "direction",
          "max_trials", "max_concurrent", "pruner")  # fmt: skip


def sweep_fields(owner, data: Any) -> dict:
    """The sweep's row fields from a request body. Raises ValidationError naming each field."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The request body must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    for key in sorted(set(data) - set(FIELDS)):
        errors[key] = [f"unknown field; the fields are: {', '.join(FIELDS)}."]
    base, dataset = _base(owner, data.get("base"), errors)
    fields = _options(data, errors)
    if base is not None:
        errors.update(check_space(data.get("space"), settings=CONFIG_KEYS, method=fields["method"]))
    if base is not None and not errors:
        _check_values(owner, data["base"], data["space"], errors)
    written = OBJECTIVES.get(base["task"], ()) if base is not None else ()
    if written and "objective" not in errors and fields["objective"] not in written:
        errors["objective"] = [
            f"a {base['task']} run writes {', '.join(written)}; not {fields['objective']}."
        ]
    if base is not None and not base.get("validation_split"):
        errors.setdefault("objective", []).append(
            "the base config has no validation split (validation_split 0), so there is no "
            "validation metric to optimize."
        )
    if errors:
        raise ValidationError(errors)
    space = data["space"]
    if fields["method"] == "grid":
        fields["max_trials"] = min(fields["max_trials"], grid_size(space))
    name = data.get("name") or f"sweep of {', '.join(space)}"
    return {**fields, "owner": owner, "dataset": dataset, "name": str(name)[:200],
            "base": data["base"], "space": space}  # fmt: skip


def _base(owner, base: Any, errors: dict):
    if not isinstance(base, dict):
        errors["base"] = ["must be an experiment config (an object with at least `dataset`)."]
        return None, None
    found = []

    def lookup(pk):
        found.append(datasets_visible_to(owner).filter(pk=pk).first())
        return found[-1]

    try:
        config = normalize_config(base, dataset_lookup=lookup)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors[f"base.{key}"] = messages
        return None, None
    return config, found[-1]


def _int(data, key, default, low, high, errors):
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[key] = [f"must be an integer from {low} to {high}."]
        return default
    return value


def _choice(data, key, default, choices, errors):
    value = data.get(key, default)
    if value not in choices:
        errors[key] = [f"must be one of {', '.join(choices)}."]
        return default
    return value


def _options(data: dict, errors: dict) -> dict:
    objective = data.get("objective", "val_loss")
    if not isinstance(objective, str) or not OBJECTIVE.match(objective):
        errors["objective"] = ["must name a validation metric, such as val_loss or val_accuracy."]
    max_trials = _int(data, "max_trials", 20, 1, MAX_TRIALS, errors)
    return {
        "method": _choice(data, "method", "tpe", METHODS, errors),
        "seed": _int(data, "seed", secrets.randbelow(2**31), 0, 2**31 - 1, errors),
        "objective": objective,
        "direction": _choice(data, "direction", "minimize", DIRECTIONS, errors),
        "max_trials": max_trials,
        "max_concurrent": _int(data, "max_concurrent", 2, 1, MAX_CONCURRENT, errors),
        "pruner": _pruner(data.get("pruner", {"type": "none"}), errors),
    }


PRUNER_OPTIONS = {"median": ("n_startup_trials", "n_warmup_steps"),
                  "asha": ("min_resource", "reduction_factor"), "none": ()}  # fmt: skip


def _pruner(spec: Any, errors: dict) -> dict:
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict) or spec.get("type") not in PRUNERS:
        errors["pruner.type"] = [f"must be one of {', '.join(PRUNERS)}."]
        return {"type": "none"}
    for key, value in spec.items():
        if key == "type":
            continue
        if key not in PRUNER_OPTIONS[spec["type"]]:
            errors[f"pruner.{key}"] = ["unknown option for this pruner."]
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            errors[f"pruner.{key}"] = ["must be a non-negative integer."]
    if spec["type"] == "asha" and spec.get("reduction_factor", 3) < 2:
        errors["pruner.reduction_factor"] = ["must be at least 2."]
    if spec["type"] == "asha" and spec.get("min_resource", 1) < 1:
        errors["pruner.min_resource"] = ["must be at least 1 (epochs)."]
    return spec


def _check_values(owner, base: dict, space: dict, errors: dict) -> None:
    """Each listed value and each range end must make a valid config on the base."""
    datasets = datasets_visible_to(owner)
    for name, spec in space.items():
        if spec["type"] == "categorical":
            probes = [(f"space.{name}.values[{i}]", v) for i, v in enumerate(spec["values"])]
        else:
            probes = [(f"space.{name}.low", spec["low"]), (f"space.{name}.high", spec["high"])]
        context = {parent: next(v for v in allowed if v in space[parent]["values"])
                   for parent, allowed in (spec.get("when") or {}).items()}  # fmt: skip
        for field, value in probes:
            try:
                normalize_config({**base, **context, name: value},
                                 dataset_lookup=lambda pk: datasets.filter(pk=pk).first())  # fmt: skip
            except ValidationError as exc:
                messages = exc.message_dict.get(name)
                if messages:
                    errors.setdefault(field, []).extend(messages)
