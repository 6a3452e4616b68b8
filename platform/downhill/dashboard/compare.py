"""What sets compared runs apart: the settings whose values differ, and legend labels naming
only those ("#12 optimizer=sgd lr=0.1"), as W&B and ClearML label overlaid curves."""

from __future__ import annotations

from downhill.runs.models import Run
from workers.contract import spec

from .templatetags import run_display
from .templatetags.run_display import config_value

MAX_COMPARED = 12


def _settings() -> dict[str, spec.Setting]:
    """Every setting by its dotted key, read from the spec when asked (registries change)."""
    return {setting.key: setting for setting in spec.all_settings()}


def short_name(path: str) -> str:
    """A setting's name in the legend ("lr"); other keys go by their dotted config path."""
    setting = _settings().get(path)
    return (setting.form.short if setting else "") or path


# The seed tells repeats of one config apart; next to real differences it is only noise.
NOISE_KEYS = ("seed",)


def flatten(config: dict, prefix: str = "") -> dict[str, str]:
    """Dotted keys to display values. An optional object reads "on"/"off" under its own key,
    so a switched-off section is one difference, not one per missing parameter."""
    flat: dict[str, str] = {}
    settings = _settings()
    for key, value in config.items():
        path = f"{prefix}{key}"
        kind = settings[path].kind if path in settings else None
        if isinstance(value, dict):
            if prefix == "" and kind != "typed":  # an optional object, switched on
                flat[path] = "on"
            flat.update(flatten(value, f"{path}."))
        elif isinstance(value, list) and all(isinstance(item, int) for item in value):
            flat[path] = " × ".join(str(item) for item in value)
        elif value is None and prefix == "" and kind not in ("number", "integer"):
            flat[path] = "off"  # momentum (adam) and seed are no switch
        else:
            flat[path] = config_value(value)
    return flat


def differing_keys(configs: list[dict[str, str]]) -> list[str]:
    """Keys whose value is not the same in every config that has them, in config order.
    A key only some configs have (a parameter of a schedule the others do not use) counts only
    when the configs that have it disagree; its section's on/off or type says the rest."""
    keys: list[str] = []
    for config in configs:
        keys += [key for key in config if key not in keys]
    differing = [key for key in keys if len({c[key] for c in configs if key in c}) > 1]
    meaningful = [key for key in differing if key not in NOISE_KEYS]
    return meaningful or differing


def compared_runs(runs: list[Run], dataset_names: dict[int, str]) -> dict:
    """Per run its legend label and its values of the differing settings; the settings' names."""
    configs = []
    for run in runs:
        config = dict(run.experiment.config)
        config["dataset"] = dataset_names.get(config.get("dataset"), config.get("dataset"))
        configs.append(flatten(config))
    keys = differing_keys(configs)
    labelled = []
    for run, config in zip(runs, configs, strict=True):
        parts = [f"{short_name(key)}={config[key]}" for key in keys if key in config]
        labelled.append(
            {
                "run": run,
                "label": " ".join([f"#{run.id}", *parts]),
                "values": [config.get(key, "—") for key in keys],
            }
        )
    return {"keys": keys, "runs": labelled}


def axis_notes(runs: list[Run]) -> tuple[str, dict[str, str]]:
    """The x axis a comparison opens on, and per axis a note saying what the charts are on;
    only the default's note says "by default". Optimizer steps are unfair across batch sizes
    (batch 1 takes 32 times the steps of batch 32 per epoch), so epochs, or samples seen when
    the batch sizes (or their schedules) differ."""
    batches = {
        (
            str(run.experiment.config.get("batch_size")),
            str(run.experiment.config.get("batch_size_schedule")),
        )
        for run in runs
    }
    differ = len(batches) > 1
    default = "samples" if differ else "epoch"
    steps_apart = ": the runs' batch sizes differ, so their steps do not line up."

    def on(axis: str, title: str) -> str:
        return f"On {title}{' by default' if axis == default else ''}"

    notes = {
        "step": on("step", "optimizer steps") + (steps_apart if differ else "."),
        "epoch": on("epoch", "epochs") + ", so runs line up by their passes over the data.",
        "samples": on("samples", "samples seen")
        + (steps_apart if differ else ", so runs line up by how much data they have seen."),
        "time": on("time", "seconds since each run started") + ": how long, not how far.",
    }
    return default, notes


def parse_ids(params) -> list[int]:
    """`ids=1,2,3` (or `ids=1&ids=2`, what a plain form of checkboxes sends), in order, once each."""
    ids: list[int] = []
    for raw in params.getlist("ids"):
        for part in raw.split(","):
            part = part.strip()
            if part.isdigit() and len(part) < 19 and int(part) not in ids:
                ids.append(int(part))
    return ids


# (label, how a summary holds it, how it reads, which end is best)
RESULTS = (
    ("Best val loss", lambda s: s.get("best_val_loss"), run_display.metric, min),
    ("Final val accuracy", lambda s: s.get("val_accuracy"), run_display.percent, max),
    ("Val R²", lambda s: (s.get("final_metrics") or {}).get("val_r2"), run_display.metric, max),
    ("Final train loss", lambda s: s.get("final_train_loss"), run_display.metric, min),
)


def result_rows(runs: list[Run]) -> list[dict]:
    """Rows of results side by side, the best value of each row marked; rows no run has are left
    out (accuracy for regression runs, R² for classification)."""
    rows = []
    for label, read, show, best_of in RESULTS:
        values = [read(run.summary or {}) for run in runs]
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if not numbers:
            continue
        best = best_of(numbers) if len(numbers) > 1 else None
        cells = [{"text": show(v), "best": v == best} for v in values]
        rows.append({"label": label, "cells": cells})
    durations = [{"text": run_display.duration(run.duration_seconds)} for run in runs]
    rows.append({"label": "Duration", "cells": durations})
    return rows
