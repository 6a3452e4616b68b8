"""The experiment config: validate what a user sent and fill in every default.

The result is the run spec the worker trains (workers/engine reads exactly these keys), so it
is complete and explicit: a run's config says everything that shaped its curves.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from django.core.exceptions import ValidationError

from workers.contract import ACTIVATIONS, LOSSES_BY_TASK, MODEL_TYPES, OPTIMIZERS, TASKS

# Defaults are the libraries' conventional ones (PyTorch for SGD/Adagrad, Keras for Adam and
# RMSprop); on the bundled iris/diabetes/wine sets each reaches its best validation loss
# within the default 20 epochs at batch size 32.
DEFAULT_LEARNING_RATES = {
    "sgd": 0.01,
    "rmsprop": 0.001,
    "adam": 0.001,
    "adamw": 0.001,
    "adagrad": 0.01,
}
DEFAULT_OPTIMIZER = "adam"
# AdamW exists for its decoupled weight decay; at 0 it would be Adam. 0.01 is PyTorch's default.
DEFAULT_WEIGHT_DECAY = {"adamw": 0.01}
DEFAULT_BATCH_SIZE = 32
DEFAULT_EPOCHS = 20
DEFAULT_VALIDATION_SPLIT = 0.2
DEFAULT_MODEL = {"type": "mlp", "hidden": [64, 64], "activation": "relu"}
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")
MAX_EPOCHS = 10_000
MAX_HIDDEN_LAYERS = 16
MAX_HIDDEN_UNITS = 8192
MAX_CLASSES = 1000
MAX_BATCH_SIZE = 1_000_000
# Each step writes two metric points; past this a run would fill the database, not teach.
MAX_TOTAL_STEPS = 5_000_000

CONFIG_KEYS = (
    "dataset", "target", "task", "model", "loss", "optimizer", "learning_rate", "momentum",
    "nesterov", "weight_decay", "batch_size", "epochs", "validation_split", "seed",
)  # fmt: skip


class ConfigErrors:
    """Collects every problem so a user sees them all in one answer."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def _number(
    errors, raw, key, *, default, minimum=None, maximum=None, exclusive_min=False, integer=False
):
    if key not in raw or raw[key] is None:
        return default
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        errors.add(key, f"must be a number, not {type(value).__name__} {value!r}.")
        return default
    try:
        as_float = float(value)
    except OverflowError:  # an integer of hundreds of digits
        bound = f" (at most {maximum})" if maximum is not None else ""
        errors.add(key, f"is far out of range{bound}.")
        return default
    if not math.isfinite(as_float):
        errors.add(key, "must be a finite number.")
        return default
    if integer and not as_float.is_integer():
        errors.add(key, f"must be a whole number, not {value!r}.")
        return default
    if minimum is not None:
        if exclusive_min and value <= minimum:
            errors.add(key, f"must be greater than {minimum}, not {value!r}.")
        elif not exclusive_min and value < minimum:
            errors.add(key, f"must be at least {minimum}, not {value!r}.")
    if maximum is not None and value > maximum:
        errors.add(key, f"must be at most {maximum}, not {value!r}.")
    return int(value) if integer else float(value)


def _choice(errors, raw, key, choices, default):
    value = raw.get(key)
    if value is None:
        return default
    if value not in choices:
        errors.add(key, f"unknown value {value!r}; choose one of: {', '.join(choices)}.")
        return default
    return value


def _model(errors, raw) -> dict:
    value = raw.get("model")
    if value is None:
        return dict(DEFAULT_MODEL)
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict):
        errors.add("model", 'must be an object such as {"type": "mlp", "hidden": [64, 64]}.')
        return dict(DEFAULT_MODEL)
    model_type = value.get("type", "mlp")
    if model_type not in MODEL_TYPES:
        errors.add(
            "model", f"unknown type {model_type!r}; choose one of: {', '.join(MODEL_TYPES)}."
        )
        return dict(DEFAULT_MODEL)
    allowed = {"type"} if model_type == "linear" else {"type", "hidden", "activation"}
    unknown = sorted(set(value) - allowed)
    if unknown:
        errors.add("model", f"unknown key(s) for a {model_type} model: {', '.join(unknown)}.")
    if model_type == "linear":
        return {"type": "linear"}
    hidden = value.get("hidden", DEFAULT_MODEL["hidden"])
    if (
        not isinstance(hidden, list)
        or len(hidden) > MAX_HIDDEN_LAYERS
        or not all(
            isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= MAX_HIDDEN_UNITS
            for h in hidden
        )
    ):
        errors.add(
            "model",
            f"hidden must be a list of at most {MAX_HIDDEN_LAYERS} layer widths, each 1..{MAX_HIDDEN_UNITS}.",
        )
        hidden = DEFAULT_MODEL["hidden"]
    activation = value.get("activation", DEFAULT_MODEL["activation"])
    if activation not in ACTIVATIONS:
        errors.add(
            "model", f"unknown activation {activation!r}; choose one of: {', '.join(ACTIVATIONS)}."
        )
        activation = DEFAULT_MODEL["activation"]
    return {"type": "mlp", "hidden": list(hidden), "activation": activation}


def _batch_size(errors, raw):
    value = raw.get("batch_size")
    if value is None:
        return DEFAULT_BATCH_SIZE
    if value == "full":
        return "full"
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add("batch_size", f'must be a whole number of at least 1, or "full"; not {value!r}.')
        return DEFAULT_BATCH_SIZE
    if value < 1:
        errors.add("batch_size", f"must be at least 1, not {value}.")
    elif value > MAX_BATCH_SIZE:
        errors.add(
            "batch_size", f'must be at most {MAX_BATCH_SIZE:,}; "full" trains on every row at once.'
        )
    return value


def target_task(dataset, target: str, task: str | None, errors: ConfigErrors) -> str:
    """The task for a target column: the user's choice if it fits, else the inferred one."""
    from downhill.datasets.schema import infer_task

    column = dataset.column(target)
    inferred = infer_task(column, dataset.n_rows)
    task = task or inferred
    if task == "regression" and column["dtype"] != "numeric":
        errors.add("task", f"regression needs a numeric target; column '{target}' holds text.")
    if task == "classification":
        classes = column["distinct"]
        if classes < 2:
            errors.add(
                "target",
                f"column '{target}' has a single class; classification needs at least two.",
            )
        elif classes > MAX_CLASSES or column["distinct_capped"]:
            errors.add(
                "target",
                f"column '{target}' has {classes}{'+' if column['distinct_capped'] else ''} distinct values, "
                f"too many classes (at most {MAX_CLASSES}); did you mean regression?",
            )
    return task


def _check_total_steps(errors: ConfigErrors, dataset, config: dict) -> None:
    n_train = max(1, dataset.n_rows - round(dataset.n_rows * config["validation_split"]))
    batch = n_train if config["batch_size"] == "full" else min(config["batch_size"], n_train)
    total = config["epochs"] * math.ceil(n_train / batch)
    if total > MAX_TOTAL_STEPS:
        errors.add(
            "epochs",
            f"{config['epochs']} epochs of {math.ceil(n_train / batch):,} steps make {total:,} steps; "
            f"the limit is {MAX_TOTAL_STEPS:,}. Use a larger batch_size or fewer epochs.",
        )


def normalize_config(raw: Any, *, dataset_lookup) -> dict:
    """Validate `raw` and return the full config. `dataset_lookup(id)` returns the user's
    dataset or None. Raises ValidationError({field: [messages]})."""
    errors = ConfigErrors()
    if not isinstance(raw, dict):
        raise ValidationError(
            {"non_field_errors": ["The experiment config must be a JSON object."]}
        )
    unknown = sorted(set(raw) - set(CONFIG_KEYS))
    for key in unknown:
        errors.add(key, f"unknown setting; the settings are: {', '.join(CONFIG_KEYS)}.")

    dataset = None
    dataset_id = raw.get("dataset")
    if dataset_id is None:
        errors.add("dataset", "is required: the id of one of your datasets.")
    elif isinstance(dataset_id, bool) or not isinstance(dataset_id, int):
        errors.add("dataset", f"must be a dataset id (a whole number), not {dataset_id!r}.")
    else:
        dataset = dataset_lookup(dataset_id)
        if dataset is None:
            errors.add("dataset", f"no dataset with id {dataset_id}.")
        elif dataset.status != "ready":
            errors.add("dataset", f"dataset {dataset_id} is {dataset.status}, not ready.")
            dataset = None

    task = _choice(errors, raw, "task", TASKS, None)
    target = raw.get("target")
    if target is not None and not isinstance(target, str):
        errors.add("target", "must be a column name.")
        target = None
    if dataset is not None:
        target = target or dataset.target
        if dataset.column(target) is None:
            names = ", ".join(c["name"] for c in dataset.columns)
            errors.add("target", f"no column named '{target}'. The columns are: {names}.")
        else:
            task = target_task(dataset, target, task, errors)

    optimizer = _choice(errors, raw, "optimizer", OPTIMIZERS, DEFAULT_OPTIMIZER)
    config: dict[str, Any] = {
        "dataset": dataset_id,
        "target": target,
        "task": task,
        "model": _model(errors, raw),
        "optimizer": optimizer,
        "learning_rate": _number(
            errors, raw, "learning_rate", default=DEFAULT_LEARNING_RATES[optimizer],
            minimum=0, exclusive_min=True, maximum=1e6,
        ),
        "momentum": None,
        "nesterov": False,
        "weight_decay": _number(
            errors, raw, "weight_decay", default=DEFAULT_WEIGHT_DECAY.get(optimizer, 0.0), minimum=0, maximum=1e3
        ),
        "batch_size": _batch_size(errors, raw),
        "epochs": _number(errors, raw, "epochs", default=DEFAULT_EPOCHS, minimum=1, maximum=MAX_EPOCHS, integer=True),
        "validation_split": _number(
            errors, raw, "validation_split", default=DEFAULT_VALIDATION_SPLIT, minimum=0, maximum=0.9
        ),
        "seed": _number(errors, raw, "seed", default=None, minimum=0, maximum=2**31 - 1, integer=True),
    }  # fmt: skip

    if optimizer in MOMENTUM_OPTIMIZERS:
        config["momentum"] = _number(errors, raw, "momentum", default=0.0, minimum=0)
        if config["momentum"] >= 1:
            errors.add("momentum", "must be below 1 (at 1 the velocity never decays).")
    elif raw.get("momentum") is not None:
        errors.add(
            "momentum",
            f"applies to {' and '.join(MOMENTUM_OPTIMIZERS)}; {optimizer} keeps its own moment estimates.",
        )
    nesterov = raw.get("nesterov", False)
    if not isinstance(nesterov, bool):
        errors.add("nesterov", "must be true or false.")
    elif nesterov:
        if optimizer != "sgd":
            errors.add("nesterov", "applies to the sgd optimizer only.")
        elif not config["momentum"]:
            errors.add("nesterov", "needs a momentum above 0.")
        config["nesterov"] = nesterov

    losses = LOSSES_BY_TASK.get(task, ())
    loss = raw.get("loss")
    if loss is None:
        config["loss"] = losses[0] if losses else None
    else:
        all_losses = sorted({name for names in LOSSES_BY_TASK.values() for name in names})
        if loss not in all_losses:
            errors.add("loss", f"unknown loss {loss!r}; choose one of: {', '.join(all_losses)}.")
        elif task and loss not in losses:
            errors.add(
                "loss", f"{loss} does not fit a {task} target; use one of: {', '.join(losses)}."
            )
        config["loss"] = loss

    if dataset is not None and not errors.errors:
        _check_total_steps(errors, dataset, config)
    errors.raise_if_any()
    if config["seed"] is None:
        config["seed"] = secrets.randbelow(2**31)  # recorded, so the run can be repeated exactly
    return config
