"""What the web and the worker agree on for the lab's LR range test: its settings, their
defaults and bounds (Smith 2017; fastai's lr_find: 1e-7 to 10 over 100 steps, exponential)."""

from __future__ import annotations

import math

RANGE_TEST_TASK = "downhill.lab_range_test"
MODES = ("exponential", "linear")
DEFAULTS = {"start_lr": 1e-7, "end_lr": 10.0, "steps": 100, "mode": "exponential"}
MIN_STEPS, MAX_STEPS = 10, 1000
MAX_LR = 1e3


def range_params(data: dict) -> tuple[dict, dict[str, list[str]]]:
    """The settings with defaults filled in, and the errors per field (empty when valid)."""
    unknown = set(data) - set(DEFAULTS) - {"experiment"}
    errors = {key: ["unknown setting."] for key in sorted(unknown)}
    params = {key: data.get(key, default) for key, default in DEFAULTS.items()}
    errors.update(_lr_errors(params))
    steps = params["steps"]
    if isinstance(steps, bool) or not isinstance(steps, int) or not MIN_STEPS <= steps <= MAX_STEPS:
        errors["steps"] = [f"a whole number from {MIN_STEPS} to {MAX_STEPS}."]
    if params["mode"] not in MODES:
        errors["mode"] = [f"choose one of: {', '.join(MODES)}."]
    return params, errors


def _lr_errors(params: dict) -> dict[str, list[str]]:
    errors = {}
    for key in ("start_lr", "end_lr"):
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors[key] = ["a number."]
        elif not (math.isfinite(value) and 0 < value <= MAX_LR):
            errors[key] = [f"a learning rate above 0 and at most {MAX_LR:g}."]
    if not errors and params["end_lr"] <= params["start_lr"]:
        errors["end_lr"] = ["the range is empty: end_lr must be above start_lr."]
    return errors
