"""The types the experiment spec is written in: a setting, a default that depends on other
settings, the form's hints, and the two registries a capability plugs into (optimizers, lr
schedules)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Kinds of value: number, integer, choice, boolean, column (a column name), dataset (an id),
# batch (a whole number or "full"), widths (a list of layer widths), object (an optional object
# of settings, null = off), variant (an optional object holding exactly one of its settings),
# typed (an object whose "type" picks its other settings: model, init, lr_schedule).
KINDS = ("number", "integer", "choice", "boolean", "column", "dataset", "batch", "widths",
         "object", "variant", "typed")  # fmt: skip


@dataclass(frozen=True)
class Derived:
    """A default or bound that follows other settings: `text` says it to people, `of(config)`
    computes it from the settings read so far ("learning_rate", "epochs", ...)."""

    text: str | Callable[[], str]  # callable where it reads a registry
    of: Callable[[Mapping[str, Any]], Any]


@dataclass(frozen=True)
class Form:
    """How a setting shows in the experiment form, where the spec alone does not say it."""

    label: str = ""  # the form's label when it differs from the setting's
    placeholder: str = ""  # overrides the default's text
    initial: str | None = None  # overrides the prefill (by default: choices, and `prefill`)
    prefill: bool = False  # show the default as a value (else as a placeholder)
    choice_labels: Mapping[str, str] = field(default_factory=dict)
    blank: str = ""  # a choice that may stay empty: this option's text ("Default for the task")
    # The choices the form offers, when not all (no cnn: images are not uploadable there yet).
    offered: tuple[str, ...] = ()
    hidden: bool = False  # not a field of the form (its parent's field stands for it)
    short: str = ""  # the compare page's legend name ("lr=0.1"), when not the key itself
    wide: bool = False


Choices = tuple[str, ...] | Callable[[], tuple[str, ...]]


@dataclass(frozen=True)
class Setting:
    """One setting of an experiment: `key` is its config key, "swa.start_epoch" inside an
    object. Everything the web shows or checks about it is derived from this."""

    key: str
    kind: str
    label: str
    help: str
    section: str = ""  # the form section; an object's settings take their object's
    default: Any = None
    minimum: Any = None
    maximum: Any = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    choices: Choices = ()
    # Applies only where each named setting has one of the values: (("optimizer", ...),).
    when: tuple[tuple[str, Choices], ...] = ()
    evidence: str = ""  # what the default was measured on, or whose convention it is
    form: Form = Form()
    settings: tuple[Setting, ...] = ()  # an object's own settings (keys without the prefix)

    @property
    def name(self) -> str:
        """The key inside its object: "start_epoch" for "swa.start_epoch"."""
        return self.key.rsplit(".", 1)[-1]

    @property
    def top(self) -> str:
        """The top-level config key its errors are reported under."""
        return self.key.split(".", 1)[0]

    def choice_values(self) -> tuple[str, ...]:
        return live(self.choices)

    def applicability(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        return tuple((key, live(values)) for key, values in self.when)


@dataclass(frozen=True)
class Optimizer:
    """An optimizer the config may name. The engine builds it (workers/engine/optimizers.py)."""

    name: str
    default_lr: float
    evidence: str
    momentum: bool = False  # takes a `momentum` setting (else keeps its own moment estimates)
    nesterov: bool = False  # takes `nesterov`
    default_weight_decay: float = 0.0


@dataclass(frozen=True)
class LRSchedule:
    """A learning-rate schedule: its parameters and the rule that ties them together. Its
    rate per step is `workers.contract.schedules` (one lr_at(step) for the loop and preview)."""

    name: str
    label: str  # the form's choice ("cosine with warm restarts")
    short: str  # the run page's ("warm restarts")
    params: tuple[Setting, ...] = ()
    # A problem with the parameters together (e.g. min_lr >= max_lr), given the schedule's
    # values and the config's settings so far; None when they fit.
    check: Callable[[Mapping[str, Any], Mapping[str, Any]], str | None] | None = None
    rate: str = ""  # the rate in the README's notation (README, Learning-rate schedules)


class Registry(dict):
    """Named entries (optimizers, schedules) that a capability registers itself in; every
    surface reads the registry when asked, so an entry registered later shows everywhere."""

    def register(self, entry):
        self[entry.name] = entry
        return entry

    def unregister(self, name: str) -> None:
        del self[name]


def live(values: Choices) -> tuple[str, ...]:
    """Choices read from a registry are read when asked, so a registered one shows at once."""
    return tuple(values()) if callable(values) else tuple(values)


def applies(setting: Setting, config: Mapping[str, Any]) -> bool:
    """Whether a setting applies, given the other settings' values (momentum: sgd, rmsprop)."""
    return all(config.get(key) in values for key, values in setting.applicability())


def resolve(value: Any, config: Mapping[str, Any]) -> Any:
    """A default or bound as a value, computing a Derived one from `config`."""
    return value.of(config) if isinstance(value, Derived) else value


def describe(value: Any) -> str:
    """A default or bound in words, for help texts and the README."""
    if isinstance(value, Derived):
        return value.text() if callable(value.text) else value.text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and value >= 100_000:
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int):
        return f"{value:,}" if value >= 100_000 else str(value)
    if value is None:
        return "none"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def bounds(setting: Setting) -> str:
    """A setting's range or choices in words: "[0, 1)", "(0, the learning rate]", "one of: ..."."""
    if setting.kind == "choice":
        return "one of: " + ", ".join(setting.choice_values())
    if setting.kind == "batch":
        return f'[{describe(setting.minimum)}, {describe(setting.maximum)}] or "full"'
    if setting.minimum is None and setting.maximum is None:
        return ""
    low = "(" if setting.exclusive_min else "["
    high = ")" if setting.exclusive_max else "]"
    lowest = "−∞" if setting.minimum is None else describe(setting.minimum)
    highest = "∞" if setting.maximum is None else describe(setting.maximum)
    return f"{low}{lowest}, {highest}{high}"


def applicability(setting: Setting) -> str:
    """Where a conditional setting applies, in words: "only where optimizer is sgd or rmsprop"."""
    parts = [f"{key} is {' or '.join(values)}" for key, values in setting.applicability()]
    return "only where " + " and ".join(parts) if parts else ""


def summary(setting: Setting) -> str:
    """One line for the API docs and the README: help, range, default, where it applies."""
    parts = [setting.help]
    if bounds(setting):
        parts.append(bounds(setting))
    parts.append(f"default {describe(setting.default)}")
    if applicability(setting):
        parts.append(applicability(setting))
    if setting.evidence:
        parts.append(f"(default: {setting.evidence})")
    return "; ".join(parts) + "."
