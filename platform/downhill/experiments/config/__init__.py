"""The experiment config: validate what a user sent and fill in every default.

The result is the run spec the worker trains (workers/engine reads exactly these keys), so it
is complete and explicit: a run's config says everything that shaped its curves. Every setting,
its default, bounds and help text, is declared once in the spec (workers.contract.spec); this
package reads a request against it and applies the rules that tie settings together.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.exceptions import ValidationError

from workers.contract.spec import CONFIG_KEYS, applies, length
from workers.contract.spec.optimizers import momentum_optimizers, nesterov_optimizers
from workers.contract.spec.settings import BY_KEY, MAX_HELD_OUT, MAX_TOTAL_STEPS
from workers.contract.splits import steps_per_epoch, train_rows

from . import model as model_section
from . import training
from .fields import ConfigErrors, boolean, read


def _batch_size(errors: ConfigErrors, raw: dict):
    spec = BY_KEY["batch_size"]
    value = raw.get("batch_size")
    if value is None:
        return spec.default
    if value == "full":
        return "full"
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(
            "batch_size",
            f'must be a whole number of at least {spec.minimum}, or "full"; not {value!r:.60}.',
        )
        return spec.default
    if value < spec.minimum:
        errors.add("batch_size", f"must be at least {spec.minimum}, not {value}.")
    elif value > spec.maximum:
        errors.add(
            "batch_size", f'must be at most {spec.maximum:,}; "full" trains on every row at once.'
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


def _optimizer_settings(errors: ConfigErrors, raw: dict, config: dict) -> dict:
    optimizer = config["optimizer"]
    settings: dict[str, Any] = {"momentum": None, "nesterov": False}
    for key in ("learning_rate", "weight_decay"):
        settings[key] = config[key] = read(errors, raw, BY_KEY[key], config)
    if applies(BY_KEY["momentum"], config):
        settings["momentum"] = read(errors, raw, BY_KEY["momentum"], config)
    elif raw.get("momentum") is not None:
        errors.add(
            "momentum",
            f"applies to {' and '.join(momentum_optimizers())}; {optimizer} keeps its own moment estimates.",
        )
    if boolean(errors, raw, "nesterov", False):
        if not applies(BY_KEY["nesterov"], config):
            errors.add(
                "nesterov", f"applies to the {' and '.join(nesterov_optimizers())} optimizer only."
            )
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


def _target(errors: ConfigErrors, raw: dict, dataset, config: dict) -> dict | None:
    """The target column and the task (the user's, or the one the column suggests)."""
    task = read(errors, raw, BY_KEY["task"], config)
    target = raw.get("target")
    if target is not None and not isinstance(target, str):
        errors.add("target", "must be a column name.")
        target = None
    column = None
    if dataset is not None:
        target = target or dataset.target
        column = dataset.column(target)
        if column is None:
            names = ", ".join(c["name"] for c in dataset.columns)
            errors.add("target", f"no column named '{target}'. The columns are: {names:.500}.")
        else:
            task = model_section.target_task(errors, dataset, target, task)
    config.update(target=target, task=task)
    return column


def _run_length(errors: ConfigErrors, raw: dict, config: dict, dataset) -> bool:
    """The optimizer, the epochs, the held-out shares and the batch size. An unset `epochs`
    follows the training rows (workers.contract.spec.length); returns whether it did."""
    for key in ("optimizer", "epochs", "validation_split", "test_split"):
        config[key] = read(errors, raw, BY_KEY[key], config)
    validation_split, test_split = config["validation_split"], config["test_split"]
    if validation_split + test_split > MAX_HELD_OUT + 1e-9:  # 0.34 + 0.56 is 0.9000000000000001
        errors.add(
            "test_split",
            f"with validation_split {validation_split:g} it holds out {validation_split + test_split:.0%} "
            f"of the rows; together they may hold out at most {MAX_HELD_OUT:.0%}, so that "
            "training keeps a tenth.",
        )
    config["batch_size"] = _batch_size(errors, raw)
    if config["epochs"] is not None:
        return False
    n_train = train_rows(dataset.n_rows, config) if dataset is not None else 1
    config["epochs"] = length.default_epochs(n_train, config["batch_size"])
    return True


def _model(errors: ConfigErrors, raw: dict, config: dict, dataset, column: dict | None) -> None:
    images = dataset is not None and any(c["dtype"] == "image" for c in dataset.columns)
    config["model"] = model_section.model(errors, raw, images=images)
    config["init"] = model_section.init(errors, raw)
    config["loss"] = model_section.loss(errors, raw, config["task"], column)
    config["target_scaling"] = None  # a classification target is never scaled
    if applies(BY_KEY["target_scaling"], config):
        config["target_scaling"] = read(errors, raw, BY_KEY["target_scaling"], config)
    elif raw.get("target_scaling") is not None:
        errors.add("target_scaling", "applies to a regression target only.")


def _training(errors: ConfigErrors, raw: dict, config: dict, length_resolved: bool) -> None:
    config.update(_optimizer_settings(errors, raw, config))
    config["gradient_clipping"] = training.gradient_clipping(errors, raw, config)
    config["batch_size_schedule"] = training.batch_size_schedule(errors, raw, config)
    for key in ("seed", "precision"):
        config[key] = read(errors, raw, BY_KEY[key], config)
    for key in ("lr_schedule", "optimizer_switch", "early_stopping", "swa", "distributed"):
        config[key] = getattr(training, key)(errors, raw, config)
    if length_resolved and "early_stopping" not in raw:  # an explicit null keeps it off
        config["early_stopping"] = length.default_early_stopping(config)
    if config["swa"] and config["early_stopping"] and config["early_stopping"]["restore_best"]:
        errors.add(
            "swa",
            "the averaged model is the run's final model, so early_stopping.restore_best cannot also "
            "choose it: set restore_best to false, or drop one of them.",
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
    config: dict[str, Any] = {"dataset": raw.get("dataset")}
    column = _target(errors, raw, dataset, config)
    length_resolved = _run_length(errors, raw, config, dataset)
    _model(errors, raw, config, dataset, column)
    _training(errors, raw, config, length_resolved)
    if dataset is not None and not errors.errors:
        _check_total_steps(errors, dataset, config)
    errors.raise_if_any()
    if config["seed"] is None:
        config["seed"] = secrets.randbelow(2**31)  # recorded, so the run can be repeated exactly
    return {key: config[key] for key in CONFIG_KEYS}


__all__ = ["CONFIG_KEYS", "normalize_config"]
