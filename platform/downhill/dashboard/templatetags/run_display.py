"""How run numbers and configs read on the pages: short, precise, and a dash for "none yet"."""

from __future__ import annotations

from django import template
from django.utils import timezone

from workers.contract import spec
from workers.contract.spec.settings import BY_KEY

register = template.Library()

NONE = "—"


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
def count(value) -> str:
    """A whole number the way every page writes it: 2,400."""
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


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


@register.filter
def schedule(value) -> str:
    """The learning-rate schedule in a few words: "cosine", "step ×0.1 / 10 ep"."""
    if not isinstance(value, dict) or not value.get("type"):
        return NONE
    kind = value["type"]
    known = spec.LR_SCHEDULES.get(kind)
    text = known.short if known else kind.replace("_", " ")
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


def config_labels() -> dict[str, str]:
    """Config keys in the order a person reads an experiment (the form's sections), with
    their labels; the dataset is shown by name elsewhere."""
    ordered = sorted(spec.SETTINGS, key=lambda s: spec.SECTIONS.index(s.section))
    return {s.key: s.label for s in ordered if s.key != "dataset"}


def _row(key: str, config: dict, labels: dict[str, str]) -> tuple[str, str] | None:
    """A setting's row; none for one that does not apply (momentum for adam)."""
    known = BY_KEY.get(key)
    if known is not None and not spec.applies(known, config):
        return None
    label = labels.get(key, key.replace("_", " ").capitalize())
    value = config[key]
    if known is not None and known.kind in ("object", "variant") and value is None:
        return (label, "off")  # an optional object left out
    return (label, _FORMATTERS.get(key, config_value)(value))


@register.filter
def config_rows(config: dict) -> list[tuple[str, str]]:
    """(label, value) rows of an experiment config. Keys the spec does not know (a config
    stored before a setting left) follow under their own names."""
    labels = config_labels()
    keys = [key for key in labels if key in config]
    keys += sorted(key for key in config if key not in labels and key != "dataset")
    rows = (_row(key, config, labels) for key in keys)
    return [row for row in rows if row is not None]


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
