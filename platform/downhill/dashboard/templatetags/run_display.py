"""How run numbers and configs read on the pages: short, precise, and a dash for "none yet"."""

from __future__ import annotations

from django import template
from django.utils import timezone

register = template.Library()

NONE = "—"

# Config keys in the order a person reads an experiment, with their labels. Keys not listed
# here (richer settings added later) follow in the table under their own names.
CONFIG_LABELS = {
    "target": "Target column",
    "task": "Task",
    "model": "Model",
    "loss": "Loss",
    "optimizer": "Optimizer",
    "learning_rate": "Learning rate",
    "momentum": "Momentum",
    "nesterov": "Nesterov",
    "weight_decay": "Weight decay",
    "batch_size": "Batch size",
    "epochs": "Epochs",
    "validation_split": "Validation split",
    "test_split": "Test split",
    "seed": "Seed",
    "init": "Weight init",
    "gradient_clipping": "Gradient clipping",
    "batch_size_schedule": "Batch-size schedule",
    "lr_schedule": "Learning-rate schedule",
    "optimizer_switch": "Optimizer switch",
    "early_stopping": "Early stopping",
    "swa": "Weight averaging (SWA)",
    "precision": "Precision",
}
# Optional objects: absent or null means switched off.
OPTIONAL_SECTIONS = (
    "gradient_clipping", "batch_size_schedule", "optimizer_switch", "early_stopping", "swa",
)  # fmt: skip


def _is_number(value) -> bool:
    """Missing summary keys reach filters as "" (the template engine's stand-in for absent)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


@register.filter
def metric(value) -> str:
    """A loss or other measured value to four significant digits."""
    if not _is_number(value):
        return NONE
    return f"{value:.4g}"


@register.filter
def percent(value) -> str:
    if not _is_number(value):
        return NONE
    return f"{value * 100:.1f}%"


@register.filter
def learning_rate(value) -> str:
    if not _is_number(value):
        return NONE
    return f"{value:g}"


@register.filter
def batch_size(value) -> str:
    if value in (None, ""):
        return NONE
    return "full batch" if value == "full" else str(value)


@register.filter
def duration(seconds) -> str:
    """Elapsed time at the precision that matters: 42s, 3m 07s, 2h 05m."""
    if not _is_number(seconds):
        return NONE
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@register.filter
def momentum(value) -> str:
    """Momentum of sgd and rmsprop; the other optimizers keep their own moment estimates."""
    if not _is_number(value):
        return NONE
    return f"{value:g}"


SCHEDULE_NAMES = {
    "constant": "constant",
    "step": "step",
    "exponential": "exponential",
    "cosine": "cosine",
    "warm_restarts": "warm restarts",
    "cyclic": "cyclic",
    "one_cycle": "one cycle",
    "plateau": "plateau",
}


@register.filter
def schedule(value) -> str:
    """The learning-rate schedule in a few words: "cosine", "step ×0.1 / 10 ep"."""
    if not isinstance(value, dict) or not value.get("type"):
        return NONE
    kind = value["type"]
    text = SCHEDULE_NAMES.get(kind, kind.replace("_", " "))
    if kind == "step":
        text += f" ×{value.get('gamma', 0.1):g} / {value.get('every_epochs', 10)} ep"
    elif kind == "exponential":
        text += f" ×{value.get('gamma', 0.95):g}"
    return text


# Why a run stopped before its last epoch, in words.
STOP_REASONS = {
    "early_stopping": "Early stopping: the monitored validation metric stopped improving.",
    "lr_below_min": "The plateau schedule would have taken the learning rate below its minimum.",
    "cancelled": "Cancelled on request.",
    "worker_shutdown": "The worker was stopped.",
}


@register.filter
def stop_reason(value) -> str:
    return STOP_REASONS.get(value, str(value).replace("_", " ").capitalize() + ".")


def eta_seconds(run) -> float | None:
    """Seconds left at the pace so far, for a running run that has trained some steps."""
    elapsed = run.duration_seconds
    if run.status != "running" or not run.step or not run.steps or not elapsed:
        return None
    return max(0.0, (run.steps - run.step) * elapsed / run.step)


@register.filter
def eta(seconds) -> str:
    if not _is_number(seconds):
        return ""
    return f"about {duration(max(1, seconds))} left"


@register.filter
def started(value) -> str:
    """When a run started, short: the time for today's runs, else the day."""
    if value is None:
        return NONE
    local = timezone.localtime(value)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    if local.year == timezone.localdate().year:
        return f"{local.strftime('%b')} {local.day}"
    return f"{local.strftime('%b')} {local.day}, {local.year}"


@register.filter
def model(value) -> str:
    if not isinstance(value, dict):
        return config_value(value)
    if value.get("type") == "linear":
        return "Linear"
    if value.get("type") == "cnn":
        text = f"CNN, channels {' × '.join(str(c) for c in value.get('channels', []))}"
    else:
        hidden = " × ".join(str(width) for width in value.get("hidden", []))
        text = f"MLP, hidden {hidden or 'none'}"
    text += f", {value.get('activation', 'relu')}"
    if value.get("batch_norm"):
        text += ", batch norm"
    if value.get("dropout"):
        text += f", dropout {value['dropout']:g}"
    return text


@register.filter
def config_rows(config: dict) -> list[tuple[str, str]]:
    """(label, value) rows of an experiment config; the dataset is shown by name elsewhere."""
    keys = [key for key in CONFIG_LABELS if key in config]
    keys += sorted(key for key in config if key not in CONFIG_LABELS and key != "dataset")
    rows = []
    for key in keys:
        value = config[key]
        if key == "momentum" and value is None:
            continue  # adam and friends keep their own moment estimates
        if key == "nesterov" and config.get("optimizer") != "sgd":
            continue  # an sgd-only switch
        label = CONFIG_LABELS.get(key, key.replace("_", " ").capitalize())
        if key in OPTIONAL_SECTIONS and value is None:
            rows.append((label, "off"))
            continue
        rows.append((label, _FORMATTERS.get(key, config_value)(value)))
    return rows


@register.filter(name="config_text")
def config_value(value) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        # {"type": "cosine", "min_lr": 0} reads "cosine, min lr 0"
        parts = [str(value["type"]).replace("_", " ")] if "type" in value else []
        parts += [
            f"{key.replace('_', ' ')} {config_value(item)}"
            for key, item in value.items()
            if key != "type"
        ]
        return ", ".join(parts)
    if isinstance(value, list):
        return ", ".join(config_value(item) for item in value)
    return str(value)


_FORMATTERS = {
    "model": model,
    "batch_size": batch_size,
    "learning_rate": learning_rate,
    "validation_split": percent,
    "test_split": percent,
}
