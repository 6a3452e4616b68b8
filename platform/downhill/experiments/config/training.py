"""The training-loop settings: schedules of the learning rate and the batch size, gradient
clipping, the optimizer switch, early stopping and SWA. Each returns its complete object (every
default filled in) or None when the user left it out."""

from __future__ import annotations

from workers.contract.choices import (
    CYCLIC_MODES,
    EARLY_STOPPING_MONITORS,
    LR_SCHEDULE_TYPES,
    MOMENTUM_OPTIMIZERS,
    OPTIMIZERS,
)

from .fields import ConfigErrors, Reader, section

# The defaults of each schedule's parameters (PyTorch's where it has one).
_SCHEDULE_KEYS = {
    "constant": (),
    "step": ("every_epochs", "gamma"),
    "exponential": ("gamma",),
    "cosine": ("min_lr",),
    "warm_restarts": ("first_cycle_epochs", "cycle_mult", "min_lr"),
    "cyclic": ("mode", "min_lr", "max_lr", "half_cycle_epochs"),
    "one_cycle": ("max_lr",),
    "plateau": ("factor", "patience_epochs", "min_lr"),
}
MAX_LR = 1e6


def lr_schedule(
    errors: ConfigErrors, raw: dict, *, lr: float, epochs: int, has_validation: bool
) -> dict:
    value = raw.get("lr_schedule")
    if value is None:
        return {"type": "constant", "warmup_epochs": 0}
    if not isinstance(value, dict) or value.get("type") not in LR_SCHEDULE_TYPES:
        errors.add(
            "lr_schedule", f'must be an object with a "type" among: {", ".join(LR_SCHEDULE_TYPES)}.'
        )
        return {"type": "constant", "warmup_epochs": 0}
    kind = value["type"]
    allowed = ("type", "warmup_epochs", *_SCHEDULE_KEYS[kind])
    section(errors, raw, "lr_schedule", allowed)
    f = "lr_schedule"
    r = Reader(errors, value, f)
    spec: dict = {"type": kind}
    if kind == "step":
        spec["every_epochs"] = r.whole("every_epochs", 10, 1, epochs)
        spec["gamma"] = r.number("gamma", default=0.1, minimum=0, maximum=1, exclusive_min=True)
    elif kind == "exponential":
        spec["gamma"] = r.number("gamma", default=0.95, minimum=0, maximum=1, exclusive_min=True)
    elif kind == "cosine":
        spec["min_lr"] = r.number("min_lr", default=0.0, minimum=0, maximum=lr)
    elif kind == "warm_restarts":
        spec["first_cycle_epochs"] = r.positive("first_cycle_epochs", 10, epochs)
        spec["cycle_mult"] = r.number("cycle_mult", default=2.0, minimum=1, maximum=10)
        spec["min_lr"] = r.number("min_lr", default=0.0, minimum=0, maximum=lr)
    elif kind == "cyclic":
        spec["mode"] = r.choice("mode", CYCLIC_MODES, "triangular")
        spec["min_lr"] = r.number("min_lr", default=lr / 10, minimum=0, maximum=MAX_LR)
        spec["max_lr"] = r.positive("max_lr", lr, MAX_LR)
        spec["half_cycle_epochs"] = r.positive("half_cycle_epochs", 2.0, epochs)
        if spec["min_lr"] >= spec["max_lr"]:
            errors.add(f, f"min_lr ({spec['min_lr']:g}) must be below max_lr ({spec['max_lr']:g}).")
    elif kind == "one_cycle":
        spec["max_lr"] = r.positive("max_lr", lr, MAX_LR)
    elif kind == "plateau":
        spec["factor"] = r.number(
            "factor", default=0.1, minimum=0, maximum=1, exclusive_min=True, exclusive_max=True
        )
        spec["patience_epochs"] = r.whole("patience_epochs", 5, 0, epochs)
        spec["min_lr"] = r.number(
            "min_lr", default=lr * 1e-3, minimum=0, maximum=lr, exclusive_max=True
        )
        if not has_validation:
            errors.add(f, "plateau watches the validation loss: set validation_split above 0.")
    spec["warmup_epochs"] = r.number("warmup_epochs", default=0, minimum=0, maximum=epochs)
    return spec


def gradient_clipping(errors: ConfigErrors, raw: dict) -> dict | None:
    value = section(errors, raw, "gradient_clipping", ("max_norm", "max_value"))
    if value is None:
        return None
    if len(value) != 1:
        errors.add(
            "gradient_clipping",
            'give exactly one of {"max_norm": x} (the gradients\' total L2 norm) or {"max_value": x} (each component).',
        )
        return None
    (key,) = value
    if key not in ("max_norm", "max_value"):
        return None
    return {key: Reader(errors, value, "gradient_clipping").positive(key, 1.0, 1e6)}


def batch_size_schedule(errors: ConfigErrors, raw: dict, *, batch_size, epochs: int) -> dict | None:
    value = section(errors, raw, "batch_size_schedule", ("every_epochs", "factor", "max"))
    if value is None:
        return None
    f = "batch_size_schedule"
    r = Reader(errors, value, f)
    if batch_size == "full":
        errors.add(f, 'grows a batch; "full" batches are already as large as they get.')
        return None
    spec = {
        "every_epochs": r.whole("every_epochs", 5, 1, epochs),
        "factor": r.number("factor", default=2.0, minimum=1, exclusive_min=True, maximum=100),
        "max": r.whole("max", max(batch_size, 1024), 1, 1_000_000),
    }
    if isinstance(batch_size, int) and spec["max"] < batch_size:
        errors.add(f, f"max ({spec['max']}) must be at least batch_size ({batch_size}).")
    return spec


def optimizer_switch(
    errors: ConfigErrors, raw: dict, *, epochs: int, default_lrs: dict[str, float]
) -> dict | None:
    value = section(
        errors, raw, "optimizer_switch", ("at_epoch", "optimizer", "learning_rate", "momentum")
    )
    if value is None:
        return None
    f = "optimizer_switch"
    r = Reader(errors, value, f)
    target = r.choice("optimizer", OPTIMIZERS, "sgd")
    spec = {
        "at_epoch": r.whole("at_epoch", max(2, epochs // 2), 2, epochs),
        "optimizer": target,
        "learning_rate": r.positive("learning_rate", default_lrs[target], MAX_LR),
        "momentum": None,
    }
    if "at_epoch" not in value:
        errors.add(f, "at_epoch is required: the first epoch trained with the new optimizer.")
    if target in MOMENTUM_OPTIMIZERS:
        # Keskar & Socher finish with SGD with momentum 0.9.
        spec["momentum"] = r.number(
            "momentum", default=0.9, minimum=0, maximum=1, exclusive_max=True
        )
    elif value.get("momentum") is not None:
        errors.add(f, f"momentum applies to {' and '.join(MOMENTUM_OPTIMIZERS)}, not {target}.")
    return spec


def early_stopping(
    errors: ConfigErrors, raw: dict, *, task: str | None, epochs: int, has_validation: bool
) -> dict | None:
    value = section(
        errors, raw, "early_stopping", ("patience_epochs", "min_delta", "monitor", "restore_best")
    )
    if value is None:
        return None
    f = "early_stopping"
    r = Reader(errors, value, f)
    monitors = tuple(
        m for m in EARLY_STOPPING_MONITORS if task == "classification" or m == "val_loss"
    )
    spec = {
        "patience_epochs": r.whole("patience_epochs", 5, 1, epochs),
        "min_delta": r.number("min_delta", default=0.0, minimum=0, maximum=1e6),
        "monitor": r.choice("monitor", monitors, "val_loss"),
        "restore_best": r.boolean("restore_best", True),
    }
    if not has_validation:
        errors.add(f, "watches a validation metric: set validation_split above 0.")
    return spec


def swa(errors: ConfigErrors, raw: dict, *, lr: float, epochs: int) -> dict | None:
    value = section(errors, raw, "swa", ("start_epoch", "lr"))
    if value is None:
        return None
    r = Reader(errors, value, "swa")
    return {
        "start_epoch": r.whole("start_epoch", max(1, round(epochs * 0.75)), 1, epochs),
        "lr": r.positive("lr", lr, MAX_LR),
    }
