"""The `model`, `init` and `loss` settings, and the target's task."""

from __future__ import annotations

from workers.contract.losses import LOSSES_BY_TASK, loss_misfit
from workers.contract.spec import applies
from workers.contract.spec.settings import (
    BY_KEY,
    INIT_TYPES,
    MAX_CLASSES,
    MAX_HIDDEN_LAYERS,
    MAX_HIDDEN_UNITS,
    MODEL_TYPES,
)

from .fields import ConfigErrors, read

DEFAULT_MODEL = BY_KEY["model"].default
_MODEL_SETTINGS = {s.name: s for s in BY_KEY["model"].settings}
_INIT_STD = BY_KEY["init"].settings[1]


def _model_keys(kind: str) -> tuple[str, ...]:
    """The keys a model of this type takes: those its settings apply to."""
    return tuple(n for n, s in _MODEL_SETTINGS.items() if applies(s, {"model.type": kind}))


def _widths(errors: ConfigErrors, value, key: str, default: list[int]) -> list[int]:
    if value is None:
        return list(default)
    if (
        not isinstance(value, list)
        or len(value) > MAX_HIDDEN_LAYERS
        or not all(
            isinstance(h, int) and not isinstance(h, bool) and 1 <= h <= MAX_HIDDEN_UNITS
            for h in value
        )
    ):
        errors.add(
            "model",
            f"{key} must be a list of at most {MAX_HIDDEN_LAYERS} widths, each 1..{MAX_HIDDEN_UNITS}.",
        )
        return list(default)
    return list(value)


def model(errors: ConfigErrors, raw: dict, *, images: bool) -> dict:
    value = raw.get("model")
    if isinstance(value, str):
        value = {"type": value}
    if value is None:
        value = {"type": "cnn" if images else "mlp"}
    if not isinstance(value, dict):
        errors.add("model", 'must be an object such as {"type": "mlp", "hidden": [64, 64]}.')
        return dict(DEFAULT_MODEL)
    kind = value.get("type", "mlp")
    if kind not in MODEL_TYPES:
        errors.add("model", f"unknown type {kind!r}; choose one of: {', '.join(MODEL_TYPES)}.")
        return dict(DEFAULT_MODEL)
    unknown = sorted(set(value) - set(_model_keys(kind)))
    if unknown:
        errors.add("model", f"unknown key(s) for a {kind} model: {', '.join(unknown)}.")
    _fits_data(errors, kind, images)
    return _layers(errors, value, kind)


def _fits_data(errors: ConfigErrors, kind: str, images: bool) -> None:
    if kind == "cnn" and not images:
        errors.add(
            "model", "a cnn needs an image dataset; this dataset is a table: use mlp or linear."
        )
    if kind != "cnn" and images:
        errors.add("model", f"this dataset holds images: use a cnn, not {kind}.")


def _layers(errors: ConfigErrors, value: dict, kind: str) -> dict:
    """The settings a model of this type takes, the layer widths read last."""
    config = {"model.type": kind}
    spec: dict = {"type": kind}
    taken = [s for n, s in _MODEL_SETTINGS.items() if n != "type" and applies(s, config)]
    for setting in sorted(taken, key=lambda s: s.kind == "widths"):
        if setting.kind == "widths":
            spec[setting.name] = _widths(
                errors, value.get(setting.name), setting.name, setting.default
            )
        else:
            spec[setting.name] = read(errors, value, setting, config, field="model")
    return spec


def init(errors: ConfigErrors, raw: dict) -> dict:
    value = raw.get("init")
    if value is None:
        return {"type": "default"}
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict) or value.get("type") not in INIT_TYPES:
        errors.add(
            "init", f'must be one of {", ".join(INIT_TYPES)}, or {{"type": "normal", "std": 0.01}}.'
        )
        return {"type": "default"}
    allowed = ("type", "std") if value["type"] == "normal" else ("type",)
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        errors.add("init", f"unknown key(s) for {value['type']}: {', '.join(unknown)}.")
    if value["type"] == "normal":
        std = read(errors, value, _INIT_STD, {}, field="init")
        return {"type": "normal", "std": std}
    return {"type": value["type"]}


def target_task(errors: ConfigErrors, dataset, target: str, task: str | None) -> str:
    """The task for a target column: the user's choice if it fits, else the inferred one."""
    from downhill.datasets.schema import infer_task

    column = dataset.column(target)
    if column["dtype"] == "image":
        errors.add(
            "target", f"column '{target}' holds the images; predict '{dataset.target}' instead."
        )
        return task or "classification"
    task = task or infer_task(column, dataset.n_rows)
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
            more = "+" if column["distinct_capped"] else ""
            errors.add(
                "target",
                f"column '{target}' has {classes}{more} distinct values, too many classes "
                f"(at most {MAX_CLASSES}); did you mean regression?",
            )
    return task


def loss(
    errors: ConfigErrors, raw: dict, task: str | None, target_column: dict | None
) -> str | None:
    value = raw.get("loss")
    if task is None:
        return value
    if value is None:
        return LOSSES_BY_TASK[task][0]
    every = sorted({name for names in LOSSES_BY_TASK.values() for name in names})
    if value not in every:
        errors.add("loss", f"unknown loss {value!r}; choose one of: {', '.join(every)}.")
        return value
    n_classes = target_column["distinct"] if target_column and task == "classification" else None
    target_min = target_column.get("min") if target_column else None
    problem = loss_misfit(value, task, n_classes, target_min)
    if problem:
        errors.add("loss", problem)
    return value
