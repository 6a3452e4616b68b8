"""The search space: validated once at creation (every problem named by its field), then turned
into Optuna distributions and sampled define-by-run, conditions first.

    {"optimizer": {"type": "categorical", "values": ["sgd", "adam"]},
     "learning_rate": {"type": "float", "low": 1e-5, "high": 1, "log": true},
     "batch_size": {"type": "int", "low": 16, "high": 128, "step": 16},
     "momentum": {"type": "float", "low": 0, "high": 0.99, "when": {"optimizer": ["sgd"]}}}
"""

from __future__ import annotations

import math
from typing import Any

from optuna.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

TYPES = ("categorical", "float", "int")
MAX_GRID_POINTS = 1000
MAX_PARAMS = 20


class SpaceErrors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)


def check_space(space: Any, *, settings: tuple[str, ...], method: str) -> dict[str, list[str]]:
    """Every problem of `space`, keyed by field ("space.learning_rate.low")."""
    errors = SpaceErrors()
    if not isinstance(space, dict) or not space:
        errors.add("space", "must be an object naming at least one setting to search.")
        return errors.errors
    if len(space) > MAX_PARAMS:
        errors.add("space", f"at most {MAX_PARAMS} settings may be searched.")
    for name, spec in space.items():
        _check_param(errors, name, spec, settings)
    if not errors.errors:
        _check_conditions(errors, space)
    if not errors.errors and method == "grid":
        _check_grid(errors, space)
    return errors.errors


def _check_param(errors: SpaceErrors, name: str, spec: Any, settings: tuple[str, ...]) -> None:
    field = f"space.{name}"
    if name not in settings or name == "dataset":
        errors.add(field, "unknown setting; a sweep may search: " + ", ".join(settings[1:]) + ".")
        return
    if not isinstance(spec, dict) or spec.get("type") not in TYPES:
        errors.add(f"{field}.type", f"must be one of {', '.join(TYPES)}.")
        return
    unknown = set(spec) - {"type", "values", "low", "high", "log", "step", "when"}
    for key in sorted(unknown):
        errors.add(f"{field}.{key}", "unknown key.")
    if spec["type"] == "categorical":
        _check_values(errors, field, spec.get("values"))
    else:
        _check_range(errors, field, spec)


def _check_values(errors: SpaceErrors, field: str, values: Any) -> None:
    if not isinstance(values, list) or not values:
        errors.add(f"{field}.values", "must be a non-empty list.")
    elif len({repr(v) for v in values}) != len(values):
        errors.add(f"{field}.values", "lists a value twice.")
    elif any(not isinstance(v, (str, int, float, bool)) and v is not None for v in values):
        errors.add(f"{field}.values", "values must be text, numbers, true/false or null.")


def _number(value: Any, integer: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and (not integer or float(value).is_integer())


def _check_range(errors: SpaceErrors, field: str, spec: dict) -> None:
    integer = spec["type"] == "int"
    kind = "an integer" if integer else "a finite number"
    low, high = spec.get("low"), spec.get("high")
    for key, value in (("low", low), ("high", high)):
        if not _number(value, integer):
            errors.add(f"{field}.{key}", f"must be {kind}.")
    if f"{field}.low" in errors.errors or f"{field}.high" in errors.errors:
        return
    if high < low:
        errors.add(f"{field}.high", f"is below low ({low}): the range is inverted.")
    elif high == low:
        errors.add(f"{field}.high", f"equals low ({low}): the range is empty.")
    log, step = spec.get("log", False), spec.get("step")
    if not isinstance(log, bool):
        errors.add(f"{field}.log", "must be true or false.")
    elif log and low <= 0:
        errors.add(f"{field}.log", f"a log scale needs a positive range; low is {low}.")
    if step is not None and (not _number(step, integer) or step <= 0):
        errors.add(f"{field}.step", f"must be a positive {'integer' if integer else 'number'}.")
    elif step is not None and log:
        errors.add(f"{field}.step", "cannot be combined with a log scale.")


def _check_conditions(errors: SpaceErrors, space: dict) -> None:
    """`when` names categorical parameters of the space and values they can take."""
    for name, spec in space.items():
        when = spec.get("when")
        if when is None:
            continue
        field = f"space.{name}.when"
        if not isinstance(when, dict) or not when:
            errors.add(field, 'must be an object such as {"optimizer": ["sgd"]}.')
            continue
        for parent, allowed in when.items():
            _check_condition(errors, f"{field}.{parent}", space, name, parent, allowed)


def _check_condition(errors, field, space, name, parent, allowed) -> None:
    source = space.get(parent)
    if parent == name or source is None:
        errors.add(field, "the condition names no other searched setting, so it can never hold.")
    elif source["type"] != "categorical" or source.get("when"):
        errors.add(field, "a condition may only name an unconditional categorical setting.")
    elif not isinstance(allowed, list) or not allowed:
        errors.add(field, "must be a non-empty list of values.")
    elif not any(value in source["values"] for value in allowed):
        errors.add(
            field,
            f"none of {allowed} is among {parent}'s values {source['values']}: "
            "the condition can never hold.",
        )


def _check_grid(errors: SpaceErrors, space: dict) -> None:
    points = 1
    for name, spec in space.items():
        if spec.get("when"):
            errors.add(f"space.{name}.when", "a grid cannot hold conditional settings.")
        if spec["type"] == "float" and spec.get("step") is None:
            errors.add(f"space.{name}", "a grid needs a list of values or a step; "
                       "use random or TPE to sample a range.")  # fmt: skip
            continue
        points *= _axis_length(spec)
    if points > MAX_GRID_POINTS:
        errors.add("space", f"the grid has {points} points; the limit is {MAX_GRID_POINTS}.")


def _axis_length(spec: dict) -> int:
    """A grid axis's length, counted without listing it (a range may be huge)."""
    if spec["type"] == "categorical":
        return len(spec["values"])
    step = spec.get("step") or (1 if spec["type"] == "int" else None)
    if step is None:
        return MAX_GRID_POINTS + 1  # an unstepped float range is no grid
    return int(math.floor((spec["high"] - spec["low"]) / step + 1e-9)) + 1


def grid_values(spec: dict) -> list:
    """A grid axis: the listed values, or an int range (its step, 1 by default)."""
    if spec["type"] == "categorical":
        return list(spec["values"])
    if spec["type"] == "int":
        return list(range(spec["low"], spec["high"] + 1, spec.get("step") or 1))
    step = spec.get("step")
    if step is None:
        return [float("nan")] * (MAX_GRID_POINTS + 1)  # an unstepped float range is no grid
    count = int(math.floor((spec["high"] - spec["low"]) / step + 1e-9)) + 1
    return [spec["low"] + i * step for i in range(count)]


def grid_size(space: dict) -> int:
    return math.prod(len(grid_values(spec)) for spec in space.values())


def distribution(spec: dict):
    if spec["type"] == "categorical":
        return CategoricalDistribution(spec["values"])
    log = spec.get("log", False)
    if spec["type"] == "int":
        return IntDistribution(spec["low"], spec["high"], log=log, step=spec.get("step") or 1)
    return FloatDistribution(spec["low"], spec["high"], log=log, step=spec.get("step"))


def ordered(space: dict) -> list[str]:
    """Unconditional settings first, so a condition's parent is sampled before it."""
    return sorted(space, key=lambda name: bool(space[name].get("when")))


def holds(spec: dict, params: dict) -> bool:
    when = spec.get("when") or {}
    return all(params.get(parent) in allowed for parent, allowed in when.items())


def suggest(trial, space: dict, method: str) -> dict:
    """Sample the space on an Optuna trial (grid axes as categorical lists)."""
    params: dict = {}
    for name in ordered(space):
        spec = space[name]
        if not holds(spec, params):
            continue
        if method == "grid" or spec["type"] == "categorical":
            values = grid_values(spec) if method == "grid" else spec["values"]
            params[name] = trial.suggest_categorical(name, values)
        elif spec["type"] == "int":
            params[name] = trial.suggest_int(name, spec["low"], spec["high"],
                                             log=spec.get("log", False), step=spec.get("step") or 1)  # fmt: skip
        else:
            params[name] = trial.suggest_float(name, spec["low"], spec["high"],
                                               log=spec.get("log", False), step=spec.get("step"))  # fmt: skip
    return params


def trial_distributions(space: dict, params: dict, method: str) -> dict:
    out = {}
    for name in params:
        spec = space[name]
        out[name] = (
            CategoricalDistribution(grid_values(spec)) if method == "grid" else distribution(spec)
        )
    return out
