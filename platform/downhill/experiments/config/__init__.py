"""The experiment config: validate what a user sent and fill in every default.

The result is the run spec the worker trains (workers/engine reads exactly these keys), so it
is complete and explicit: a run's config says everything that shaped its curves. Every key is
documented in README.md (Experiment config) and in the API docs.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError

from workers.contract.choices import MOMENTUM_OPTIMIZERS, OPTIMIZERS, PRECISIONS, TASKS
from workers.contract.splits import steps_per_epoch, train_rows

from . import model as model_section
from . import training
from .fields import ConfigErrors, boolean, choice, number
from .model import DEFAULT_MODEL  # noqa: F401  (a documented default, read by the API docs)

# Defaults are the libraries' conventional ones (PyTorch for SGD, Adagrad and Adadelta, Keras
# for Adam and RMSprop); on the bundled iris, wine and breast-cancer sets each reaches >= 90 %
# validation accuracy within the default 20 epochs at batch size 32 (tests/workers/test_engine.py).
DEFAULT_LEARNING_RATES = {
    "sgd": 0.01,
    "rmsprop": 0.001,
    "adam": 0.001,
    "adamw": 0.001,
    "adagrad": 0.01,
    "adadelta": 1.0,
}
DEFAULT_OPTIMIZER = "adam"
# AdamW exists for its decoupled weight decay; at 0 it would be Adam. 0.01 is PyTorch's default.
DEFAULT_WEIGHT_DECAY = {"adamw": 0.01}
DEFAULT_BATCH_SIZE = 32
DEFAULT_EPOCHS = 20
DEFAULT_VALIDATION_SPLIT = 0.2
MAX_EPOCHS = 10_000
MAX_BATCH_SIZE = 1_000_000
# Each step writes two metric points; past this a run would fill the database, not teach.
MAX_TOTAL_STEPS = 5_000_000

CONFIG_KEYS = (
    "dataset", "target", "task", "model", "init", "loss", "optimizer", "learning_rate",
    "momentum", "nesterov", "weight_decay", "gradient_clipping", "batch_size",
    "batch_size_schedule", "epochs", "lr_schedule", "optimizer_switch", "early_stopping", "swa",
    "validation_split", "test_split", "seed", "precision",
)  # fmt: skip
# Together the held-out shares leave at least a tenth of the rows for training.
MAX_HELD_OUT = 0.9


def _batch_size(errors: ConfigErrors, raw: dict):
    value = raw.get("batch_size")
    if value is None:
        return DEFAULT_BATCH_SIZE
    if value == "full":
        return "full"
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(
            "batch_size", f'must be a whole number of at least 1, or "full"; not {value!r:.60}.'
        )
        return DEFAULT_BATCH_SIZE
    if value < 1:
        errors.add("batch_size", f"must be at least 1, not {value}.")
    elif value > MAX_BATCH_SIZE:
        errors.add(
            "batch_size", f'must be at most {MAX_BATCH_SIZE:,}; "full" trains on every row at once.'
        )
    return value


def _dataset(errors: ConfigErrors, raw: dict, dataset_lookup):
    dataset_id = raw.get("dataset")
    if dataset_id is None:
        errors.add("dataset", "is required: the id of one of your datasets.")
    elif (
        isinstance(dataset_id, bool)
        or not isinstance(dataset_id, int)
        or not 0 < dataset_id < 2**63
    ):
        errors.add("dataset", f"must be a dataset id (a whole number), not {dataset_id!r:.60}.")
    else:
        dataset = dataset_lookup(dataset_id)
        if dataset is None:
            errors.add("dataset", f"no dataset with id {dataset_id}.")
        elif dataset.status != "ready":
            errors.add("dataset", f"dataset {dataset_id} is {dataset.status}, not ready.")
        else:
            return dataset
    return None


def _optimizer_settings(errors: ConfigErrors, raw: dict, optimizer: str) -> dict:
    settings: dict[str, Any] = {
        "learning_rate": number(
            errors, raw, "learning_rate", default=DEFAULT_LEARNING_RATES[optimizer],
            minimum=0, exclusive_min=True, maximum=training.MAX_LR,
        ),
        "momentum": None,
        "nesterov": False,
        "weight_decay": number(
            errors, raw, "weight_decay", default=DEFAULT_WEIGHT_DECAY.get(optimizer, 0.0), minimum=0, maximum=1e3
        ),
    }  # fmt: skip
    if optimizer in MOMENTUM_OPTIMIZERS:
        settings["momentum"] = number(
            errors, raw, "momentum", default=0.0, minimum=0, maximum=1, exclusive_max=True
        )
    elif raw.get("momentum") is not None:
        errors.add(
            "momentum",
            f"applies to {' and '.join(MOMENTUM_OPTIMIZERS)}; {optimizer} keeps its own moment estimates.",
        )
    if boolean(errors, raw, "nesterov", False):
        if optimizer != "sgd":
            errors.add("nesterov", "applies to the sgd optimizer only.")
        elif not settings["momentum"]:
            errors.add("nesterov", "needs a momentum above 0.")
        settings["nesterov"] = True
    return settings


def _check_total_steps(errors: ConfigErrors, dataset, config: dict) -> None:
    total = sum(steps_per_epoch(train_rows(dataset.n_rows, config), config))
    if total > MAX_TOTAL_STEPS:
        errors.add(
            "epochs",
            f"{config['epochs']} epochs make {total:,} steps at this batch size; the limit is "
            f"{MAX_TOTAL_STEPS:,}. Use a larger batch_size or fewer epochs.",
        )


def normalize_config(raw: Any, *, dataset_lookup) -> dict:
    """Validate `raw` and return the full config. `dataset_lookup(id)` returns the user's
    dataset or None. Raises ValidationError({field: [messages]}) naming every problem."""
    if not isinstance(raw, dict):
        raise ValidationError(
            {"non_field_errors": ["The experiment config must be a JSON object."]}
        )
    errors = ConfigErrors()
    for key in sorted(set(raw) - set(CONFIG_KEYS)):
        errors.add(key, f"unknown setting; the settings are: {', '.join(CONFIG_KEYS)}.")

    dataset = _dataset(errors, raw, dataset_lookup)
    task = choice(errors, raw, "task", TASKS, None)
    target = raw.get("target")
    if target is not None and not isinstance(target, str):
        errors.add("target", "must be a column name.")
        target = None
    target_column = None
    if dataset is not None:
        target = target or dataset.target
        target_column = dataset.column(target)
        if target_column is None:
            names = ", ".join(c["name"] for c in dataset.columns)
            errors.add("target", f"no column named '{target}'. The columns are: {names:.500}.")
        else:
            task = model_section.target_task(errors, dataset, target, task)

    optimizer = choice(errors, raw, "optimizer", OPTIMIZERS, DEFAULT_OPTIMIZER)
    epochs = number(
        errors, raw, "epochs", default=DEFAULT_EPOCHS, minimum=1, maximum=MAX_EPOCHS, integer=True
    )
    validation_split = number(
        errors,
        raw,
        "validation_split",
        default=DEFAULT_VALIDATION_SPLIT,
        minimum=0,
        maximum=MAX_HELD_OUT,
    )
    test_split = number(errors, raw, "test_split", default=0.0, minimum=0, maximum=MAX_HELD_OUT)
    if validation_split + test_split > MAX_HELD_OUT + 1e-9:  # 0.34 + 0.56 is 0.9000000000000001
        errors.add(
            "test_split",
            f"with validation_split {validation_split:g} it holds out {validation_split + test_split:.0%} "
            f"of the rows; together they may hold out at most {MAX_HELD_OUT:.0%}, so that "
            "training keeps a tenth.",
        )
    has_validation = validation_split > 0
    batch_size = _batch_size(errors, raw)
    images = dataset is not None and any(c["dtype"] == "image" for c in dataset.columns)
    config: dict[str, Any] = {
        "dataset": raw.get("dataset"),
        "target": target,
        "task": task,
        "model": model_section.model(errors, raw, images=images),
        "init": model_section.init(errors, raw),
        "loss": model_section.loss(errors, raw, task, target_column),
        "optimizer": optimizer,
        **_optimizer_settings(errors, raw, optimizer),
        "gradient_clipping": training.gradient_clipping(errors, raw),
        "batch_size": batch_size,
        "batch_size_schedule": training.batch_size_schedule(
            errors, raw, batch_size=batch_size, epochs=epochs
        ),
        "epochs": epochs,
        "validation_split": validation_split,
        "test_split": test_split,
        "seed": number(
            errors, raw, "seed", default=None, minimum=0, maximum=2**31 - 1, integer=True
        ),
        "precision": choice(errors, raw, "precision", PRECISIONS, "fp32"),
    }
    lr = config["learning_rate"]
    config["lr_schedule"] = training.lr_schedule(
        errors, raw, lr=lr, epochs=epochs, has_validation=has_validation
    )
    config["optimizer_switch"] = training.optimizer_switch(
        errors, raw, epochs=epochs, default_lrs=DEFAULT_LEARNING_RATES
    )
    config["early_stopping"] = training.early_stopping(
        errors, raw, task=task, epochs=epochs, has_validation=has_validation
    )
    config["swa"] = training.swa(errors, raw, lr=lr, epochs=epochs)
    if config["swa"] and config["early_stopping"] and config["early_stopping"]["restore_best"]:
        errors.add(
            "swa",
            "the averaged model is the run's final model, so early_stopping.restore_best cannot also "
            "choose it: set restore_best to false, or drop one of them.",
        )

    if dataset is not None and not errors.errors:
        _check_total_steps(errors, dataset, config)
    errors.raise_if_any()
    if config["seed"] is None:
        config["seed"] = secrets.randbelow(2**31)  # recorded, so the run can be repeated exactly
    return {key: config[key] for key in CONFIG_KEYS}


__all__ = ["CONFIG_KEYS", "normalize_config"]
