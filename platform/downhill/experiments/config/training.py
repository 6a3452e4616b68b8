"""The training-loop settings: schedules of the learning rate and the batch size, gradient
clipping, the optimizer switch, early stopping and SWA. Each returns its complete object (every
default filled in) or None when the user left it out. Their defaults, bounds and choices are
the spec's (workers.contract.spec); the rules here are the ones that tie settings together."""

from __future__ import annotations

from dataclasses import replace

from workers.contract.spec import LR_SCHEDULES, lr_schedule_params
from workers.contract.spec.optimizers import momentum_optimizers
from workers.contract.spec.settings import BY_KEY, EARLY_STOPPING_MONITORS

from .fields import ConfigErrors, Reader, section


def _keys(top: str) -> tuple[str, ...]:
    return tuple(s.name for s in BY_KEY[top].settings)


def _object(errors: ConfigErrors, raw: dict, config: dict, top: str) -> dict | None:
    """The user's object for an optional setting (keys checked against the spec), or None."""
    return section(errors, raw, top, _keys(top))


def lr_schedule(errors: ConfigErrors, raw: dict, config: dict) -> dict:
    value = raw.get("lr_schedule")
    if value is None:
        return dict(BY_KEY["lr_schedule"].default)
    if not isinstance(value, dict) or value.get("type") not in LR_SCHEDULES:
        errors.add(
            "lr_schedule", f'must be an object with a "type" among: {", ".join(LR_SCHEDULES)}.'
        )
        return dict(BY_KEY["lr_schedule"].default)
    kind = value["type"]
    *params, warmup = lr_schedule_params(kind)
    section(errors, raw, "lr_schedule", ("type", warmup.name, *(p.name for p in params)))
    r = Reader(errors, value, "lr_schedule", config)
    spec = {"type": kind, **r.read_all(params)}
    check = LR_SCHEDULES[kind].check
    problem = check(spec, config) if check else None
    if problem:
        errors.add("lr_schedule", problem)
    spec[warmup.name] = r.read(warmup)
    return spec


def gradient_clipping(errors: ConfigErrors, raw: dict, config: dict) -> dict | None:
    value = _object(errors, raw, config, "gradient_clipping")
    if value is None:
        return None
    if len(value) != 1:
        errors.add(
            "gradient_clipping",
            'give exactly one of {"max_norm": x} (the gradients\' total L2 norm) or {"max_value": x} (each component).',
        )
        return None
    (key,) = value
    if key not in _keys("gradient_clipping"):
        return None
    (spec,) = (s for s in BY_KEY["gradient_clipping"].settings if s.name == key)
    return {key: Reader(errors, value, "gradient_clipping", config).read(spec)}


def batch_size_schedule(errors: ConfigErrors, raw: dict, config: dict) -> dict | None:
    value = _object(errors, raw, config, "batch_size_schedule")
    if value is None:
        return None
    f = "batch_size_schedule"
    batch_size = config["batch_size"]
    if batch_size == "full":
        errors.add(f, 'grows a batch; "full" batches are already as large as they get.')
        return None
    spec = Reader(errors, value, f, config).read_all(BY_KEY[f].settings)
    if isinstance(batch_size, int) and spec["max"] < batch_size:
        errors.add(f, f"max ({spec['max']}) must be at least batch_size ({batch_size}).")
    return spec


def optimizer_switch(errors: ConfigErrors, raw: dict, config: dict) -> dict | None:
    value = _object(errors, raw, config, "optimizer_switch")
    if value is None:
        return None
    f = "optimizer_switch"
    spec = {"momentum": None, **Reader(errors, value, f, config).read_all(BY_KEY[f].settings)}
    if "at_epoch" not in value:
        errors.add(f, "at_epoch is required: the first epoch trained with the new optimizer.")
    target = spec["optimizer"]
    if target not in momentum_optimizers() and value.get("momentum") is not None:
        errors.add(f, f"momentum applies to {' and '.join(momentum_optimizers())}, not {target}.")
    return {key: spec[key] for key in _keys(f)}


def early_stopping(errors: ConfigErrors, raw: dict, config: dict) -> dict | None:
    value = _object(errors, raw, config, "early_stopping")
    if value is None:
        return None
    f = "early_stopping"
    settings = [
        replace(s, choices=_monitors(config["task"])) if s.name == "monitor" else s
        for s in BY_KEY[f].settings
    ]
    spec = Reader(errors, value, f, config).read_all(settings)
    if not config["validation_split"] > 0:
        errors.add(f, "watches a validation metric: set validation_split above 0.")
    return spec


def _monitors(task: str | None) -> tuple[str, ...]:
    """val_accuracy and the like measure classes: a regression run watches its loss."""
    return tuple(m for m in EARLY_STOPPING_MONITORS if task == "classification" or m == "val_loss")


def swa(errors: ConfigErrors, raw: dict, config: dict) -> dict | None:
    value = _object(errors, raw, config, "swa")
    if value is None:
        return None
    return Reader(errors, value, "swa", config).read_all(BY_KEY["swa"].settings)


def distributed(errors: ConfigErrors, raw: dict, config: dict) -> dict | None:
    value = _object(errors, raw, config, "distributed")
    if value is None:
        return None
    f = "distributed"
    spec = Reader(errors, value, f, config).read_all(BY_KEY[f].settings)
    world = spec["nodes"] * spec["procs_per_node"]
    batch = config["batch_size"]
    if isinstance(batch, int) and batch < world:
        errors.add(
            f,
            f"{world} processes split each batch of {batch} rows: every process needs at least one, "
            f"so use a batch_size of at least {world} or fewer processes.",
        )
    return spec
