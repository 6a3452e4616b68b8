"""What the web and the worker agree on for the lab's playground: optimizers rolling down the
exact MSE surface of a linear model y = w·x + b. Its settings, their defaults and bounds, and
the optimizers a person can pick, each named by what it is and built by the engine's own
optimizer table (workers/engine/optimizers.py) from the config keys given here.

The defaults draw a valley: x uniform on [0, 3] makes the Hessian's eigenvalues about 19x
apart, so full-batch descent at lr 0.1 zig-zags across it and momentum runs along it; each
full-batch default ends within 2% of the least-squares loss in its 100 steps on the
default data, while SGD (batch 1) wanders (tests/workers/lab/test_playground.py).
"""

from __future__ import annotations

import math

PLAYGROUND_TASK = "downhill.lab_playground"
POINTS = 300  # the generated data set's size (the background text's 300-point regression)
X_RANGE = (0.0, 3.0)
FULL_BATCH = 0  # batch_size 0: every point in every step

# kind -> its label and its engine config (the keys of an experiment config) with defaults.
OPTIMIZERS: dict[str, dict] = {
    "gd": {"label": "Gradient descent (full batch)", "optimizer": "sgd", "learning_rate": 0.1,
           "batch_size": FULL_BATCH, "momentum": 0.0, "nesterov": False},
    "sgd": {"label": "SGD (batch 1)", "optimizer": "sgd", "learning_rate": 0.02,
            "batch_size": 1, "momentum": 0.0, "nesterov": False},
    "minibatch": {"label": "Mini-batch", "optimizer": "sgd", "learning_rate": 0.1,
                  "batch_size": 32, "momentum": 0.0, "nesterov": False},
    "momentum": {"label": "Momentum", "optimizer": "sgd", "learning_rate": 0.02,
                 "batch_size": FULL_BATCH, "momentum": 0.9, "nesterov": False},
    "nesterov": {"label": "Nesterov", "optimizer": "sgd", "learning_rate": 0.02,
                 "batch_size": FULL_BATCH, "momentum": 0.9, "nesterov": True},
    "rmsprop": {"label": "RMSprop", "optimizer": "rmsprop", "learning_rate": 0.05,
                "batch_size": FULL_BATCH, "momentum": 0.0, "nesterov": False},
    "adam": {"label": "Adam", "optimizer": "adam", "learning_rate": 0.1,
             "batch_size": FULL_BATCH, "momentum": 0.0, "nesterov": False},
}  # fmt: skip
DEFAULT_KINDS = ("gd", "sgd", "momentum", "adam")
DEFAULT_STEPS = 100
MAX_STEPS = 1000
MAX_LR = 100.0
# One run's settings besides the optimizers; "dataset" (an id) replaces the generated line.
DEFAULTS = {"slope": 2.0, "intercept": -1.0, "noise": 0.5, "seed": 0,
            "start_w": -1.0, "start_b": 3.0, "grid": 41}  # fmt: skip
BOUNDS = {"slope": (-100.0, 100.0), "intercept": (-100.0, 100.0), "noise": (0.0, 100.0),
          "start_w": (-1e4, 1e4), "start_b": (-1e4, 1e4)}  # fmt: skip
MIN_GRID, MAX_GRID = 11, 101
MAX_SEED = 2**31 - 1
OPTIMIZER_KEYS = {"kind", "learning_rate", "steps", "batch_size", "momentum"}


def playground_params(data: dict) -> tuple[dict, dict[str, list[str]]]:
    """The settings with defaults filled in (`optimizers` a list of full entries), and the
    errors per field (empty when valid). `dataset` is the web's to check."""
    unknown = set(data) - set(DEFAULTS) - {"optimizers", "dataset"}
    errors = {key: ["unknown setting."] for key in sorted(unknown)}
    params = {key: data.get(key, default) for key, default in DEFAULTS.items()}
    for key, (low, high) in BOUNDS.items():
        if not _number_in(params[key], low, high):
            errors[key] = [f"a number from {low:g} to {high:g}."]
    if not _whole_in(params["seed"], 0, MAX_SEED):
        errors["seed"] = [f"a whole number from 0 to {MAX_SEED}."]
    if not _whole_in(params["grid"], MIN_GRID, MAX_GRID):
        errors["grid"] = [f"cells per axis: a whole number from {MIN_GRID} to {MAX_GRID}."]
    entries = data.get("optimizers", [{"kind": kind} for kind in DEFAULT_KINDS])
    params["optimizers"] = _optimizers(entries, errors)
    return params, errors


def _optimizers(entries, errors: dict) -> list[dict]:
    if not isinstance(entries, list) or not entries or len(entries) > 2 * len(OPTIMIZERS):
        errors["optimizers"] = [f"a list of 1 to {2 * len(OPTIMIZERS)} optimizers."]
        return []
    filled = []
    for i, entry in enumerate(entries):
        field = f"optimizers[{i}]"
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("kind"), str)
            or entry["kind"] not in OPTIMIZERS
        ):
            errors[f"{field}.kind"] = [f"choose one of: {', '.join(OPTIMIZERS)}."]
            continue
        for key in sorted(set(entry) - OPTIMIZER_KEYS):
            errors[f"{field}.{key}"] = ["unknown setting."]
        filled.append(_optimizer(entry, field, errors))
    return filled


def _optimizer(entry: dict, field: str, errors: dict) -> dict:
    base = OPTIMIZERS[entry["kind"]]
    item = {"kind": entry["kind"], "label": base["label"], "optimizer": base["optimizer"],
            "nesterov": base["nesterov"], "steps": entry.get("steps", DEFAULT_STEPS),
            **{k: entry.get(k, base[k]) for k in ("learning_rate", "batch_size", "momentum")}}  # fmt: skip
    lr = item["learning_rate"]
    if not _number_in(lr, 0.0, MAX_LR) or lr <= 0:
        errors[f"{field}.learning_rate"] = [f"a learning rate above 0 and at most {MAX_LR:g}."]
    if not _whole_in(item["steps"], 1, MAX_STEPS):
        errors[f"{field}.steps"] = [f"a whole number from 1 to {MAX_STEPS}."]
    if not _whole_in(item["batch_size"], 0, 100_000):
        errors[f"{field}.batch_size"] = ["a whole number: 0 for the full batch, or 1 and up."]
    if not _number_in(item["momentum"], 0.0, 0.999):
        errors[f"{field}.momentum"] = ["a number from 0 to 0.999."]
    elif item["nesterov"] and item["momentum"] <= 0:
        errors[f"{field}.momentum"] = ["Nesterov needs a momentum above 0."]
    return item


def _number_in(value, low: float, high: float) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value) and low <= value <= high


def _whole_in(value, low: int, high: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high
