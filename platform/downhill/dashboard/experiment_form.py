"""The experiment form: its fields, named after the API's config keys ("learning_rate",
"lr_schedule.gamma" inside an object), and the one translation of a submitted form into the
request body that experiments.services validates.

Each field says when it applies (`when`: the values other fields must have); the page shows
only applicable fields and `form_to_request` reads only those, so the template, the script
and the parser follow one list.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from downhill.experiments.config import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    DEFAULT_LEARNING_RATES,
    DEFAULT_OPTIMIZER,
    DEFAULT_VALIDATION_SPLIT,
)
from downhill.experiments.config.model import DEFAULT_MODEL
from workers.contract.choices import (
    ACTIVATIONS,
    CYCLIC_MODES,
    EARLY_STOPPING_MONITORS,
    LR_SCHEDULE_TYPES,
    MOMENTUM_OPTIMIZERS,
    OPTIMIZERS,
    PRECISIONS,
    TASKS,
)
from workers.contract.losses import LOSSES_BY_TASK

# Kinds: text, int, float, choice, bool (a checkbox), section (a checkbox that switches an
# optional object on), variant (a choice of which key an object holds), widths ("64, 64"),
# batch (a whole number or "full"), dataset, column (one of the dataset's columns).


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str
    choices: tuple[tuple[str, str], ...] = ()
    help: str = ""
    placeholder: str = ""
    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    initial: str = ""
    wide: bool = False

    @property
    def key(self) -> str:
        """The top-level config key: errors come back under it."""
        return self.name.split(".")[0]

    @property
    def html_id(self) -> str:
        return "f-" + self.name.replace(".", "-").replace("_", "-")

    @property
    def when_json(self) -> str:
        return json.dumps([[name, list(values)] for name, values in self.when])

    def applies(self, values) -> bool:
        return all(values.get(name, "") in allowed for name, allowed in self.when)


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[Field, ...]


def _choices(values, labels: dict[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    labels = labels or {}
    return tuple((value, labels.get(value, value.replace("_", " "))) for value in values)


def _schedule(*types: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return (("lr_schedule.type", types),)


def _on(section: str, *more) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return ((section, ("on",)),) + tuple(more)


_MLP = (("model.type", ("mlp",)),)
_ALL_LOSSES = tuple(name for names in LOSSES_BY_TASK.values() for name in names)

SECTIONS = (
    Section(
        "Data",
        (
            Field("name", "Experiment name", "text", placeholder="optional: e.g. sgd lr=0.1 bs=32", wide=True),
            Field("dataset", "Dataset", "dataset"),
            Field("target", "Target column", "column", help="The column to predict."),
            Field("task", "Task", "choice", (("", "From the target column"), *_choices(TASKS))),
            Field("validation_split", "Validation split", "float", initial=f"{DEFAULT_VALIDATION_SPLIT:g}",
                  help="Share of rows held out, 0 to 0.9; 0 turns validation off."),
            Field("test_split", "Test split", "float", initial="0",
                  help="Rows held out from training and validation; the final model is measured on them once."),
        ),
    ),
    Section(
        "Model",
        (
            Field("model.type", "Model", "choice", (("mlp", "MLP (hidden layers)"), ("linear", "Linear / logistic regression")),
                  initial=DEFAULT_MODEL["type"]),
            Field("model.hidden", "Hidden layers", "widths", when=_MLP, initial=", ".join(map(str, DEFAULT_MODEL["hidden"])),
                  help="Widths, first to last: 128, 64."),
            Field("model.activation", "Activation", "choice", _choices(ACTIVATIONS), when=_MLP, initial="relu"),
            Field("model.dropout", "Dropout", "float", when=_MLP, initial="0", help="0 to below 1."),
            Field("model.batch_norm", "Batch norm after each hidden layer", "bool", when=_MLP),
            Field("init.type", "Weight init", "choice",
                  _choices(("default", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "orthogonal", "normal", "zeros"),
                           {"default": "PyTorch default", "normal": "normal (std below)"}),
                  initial="default"),
            Field("init.std", "Init std", "float", when=(("init.type", ("normal",)),), placeholder="0.01"),
            Field("loss", "Loss", "choice", (("", "Default for the task"), *_choices(_ALL_LOSSES)),
                  help="cross_entropy for classification, mse for regression."),
        ),
    ),
    Section(
        "Optimizer",
        (
            Field("optimizer", "Optimizer", "choice", _choices(OPTIMIZERS), initial=DEFAULT_OPTIMIZER),
            Field("learning_rate", "Learning rate", "float", initial=f"{DEFAULT_LEARNING_RATES[DEFAULT_OPTIMIZER]:g}"),
            Field("momentum", "Momentum", "float", when=(("optimizer", MOMENTUM_OPTIMIZERS),), placeholder="0",
                  help="0 to below 1."),
            Field("nesterov", "Nesterov momentum", "bool", when=(("optimizer", ("sgd",)),)),
            Field("weight_decay", "Weight decay", "float", placeholder="0 (adamw: 0.01)"),
            Field("gradient_clipping", "Gradient clipping", "variant",
                  (("", "Off"), ("max_norm", "By total norm"), ("max_value", "By value"))),
            Field("gradient_clipping.max_norm", "Max norm", "float", when=(("gradient_clipping", ("max_norm",)),), placeholder="1"),
            Field("gradient_clipping.max_value", "Max value", "float", when=(("gradient_clipping", ("max_value",)),), placeholder="1"),
        ),
    ),
    Section(
        "Training",
        (
            Field("batch_size", "Batch size", "batch", initial=str(DEFAULT_BATCH_SIZE),
                  help='Rows per step; 1 is pure SGD, "full" is full-batch.'),
            Field("epochs", "Epochs", "int", initial=str(DEFAULT_EPOCHS)),
            Field("seed", "Seed", "int", placeholder="random", help="Same seed and config on a CPU: the same curves."),
            Field("precision", "Precision", "choice", _choices(PRECISIONS, {"fp32": "fp32", "bf16": "bf16 (GPU)"}), initial="fp32"),
            Field("batch_size_schedule", "Grow the batch size", "section",
                  help="Instead of decaying the rate (Smith et al.)."),
            Field("batch_size_schedule.every_epochs", "Every epochs", "int", when=_on("batch_size_schedule"), initial="5"),
            Field("batch_size_schedule.factor", "Factor", "float", when=_on("batch_size_schedule"), initial="2"),
            Field("batch_size_schedule.max", "Largest batch", "int", when=_on("batch_size_schedule"), placeholder="1024"),
        ),
    ),
    Section(
        "Learning-rate schedule",
        (
            Field("lr_schedule.type", "Schedule", "choice",
                  _choices(LR_SCHEDULE_TYPES, {"warm_restarts": "cosine with warm restarts", "one_cycle": "one cycle",
                                               "plateau": "reduce on plateau", "step": "step decay",
                                               "exponential": "exponential decay", "cyclic": "cyclic (CLR)"}),
                  initial="constant"),
            Field("lr_schedule.every_epochs", "Decay every (epochs)", "int", when=_schedule("step"), placeholder="10"),
            Field("lr_schedule.gamma", "Gamma", "float", when=_schedule("step", "exponential"), placeholder="0.1 (exponential: 0.95)"),
            Field("lr_schedule.first_cycle_epochs", "First cycle (epochs)", "float", when=_schedule("warm_restarts"), placeholder="10"),
            Field("lr_schedule.cycle_mult", "Cycle growth", "float", when=_schedule("warm_restarts"), placeholder="2"),
            Field("lr_schedule.mode", "Mode", "choice", _choices(CYCLIC_MODES), when=_schedule("cyclic"), initial="triangular"),
            Field("lr_schedule.max_lr", "Max lr", "float", when=_schedule("cyclic", "one_cycle"), placeholder="the learning rate"),
            Field("lr_schedule.half_cycle_epochs", "Half cycle (epochs)", "float", when=_schedule("cyclic"), placeholder="2"),
            Field("lr_schedule.factor", "Factor", "float", when=_schedule("plateau"), placeholder="0.1"),
            Field("lr_schedule.patience_epochs", "Patience (epochs)", "int", when=_schedule("plateau"), placeholder="5"),
            Field("lr_schedule.min_lr", "Min lr", "float", when=_schedule("cosine", "warm_restarts", "cyclic", "plateau"),
                  placeholder="default"),
            Field("lr_schedule.warmup_epochs", "Warmup (epochs)", "float", placeholder="0",
                  help="The rate ramps up linearly over these epochs."),
        ),
    ),
    Section(
        "Stopping and averaging",
        (
            Field("early_stopping", "Early stopping", "section", help="Stop when the validation metric stops improving."),
            Field("early_stopping.monitor", "Monitor", "choice", _choices(EARLY_STOPPING_MONITORS), when=_on("early_stopping"),
                  initial="val_loss"),
            Field("early_stopping.patience_epochs", "Patience (epochs)", "int", when=_on("early_stopping"), initial="5"),
            Field("early_stopping.min_delta", "Min improvement", "float", when=_on("early_stopping"), initial="0"),
            Field("early_stopping.restore_best", "Keep the best epoch's model", "bool", when=_on("early_stopping"), initial="on"),
            Field("swa", "Stochastic weight averaging", "section", help="Average the weights of the last epochs."),
            Field("swa.start_epoch", "From epoch", "int", when=_on("swa"), placeholder="¾ of the epochs"),
            Field("swa.lr", "SWA lr", "float", when=_on("swa"), placeholder="the learning rate"),
            Field("optimizer_switch", "Switch optimizer", "section", help="Finish with another optimizer (Keskar & Socher)."),
            Field("optimizer_switch.at_epoch", "At epoch", "int", when=_on("optimizer_switch")),
            Field("optimizer_switch.optimizer", "Optimizer", "choice", _choices(OPTIMIZERS), when=_on("optimizer_switch"),
                  initial="sgd"),
            Field("optimizer_switch.learning_rate", "Learning rate", "float", when=_on("optimizer_switch"),
                  placeholder="its default"),
            Field("optimizer_switch.momentum", "Momentum", "float",
                  when=_on("optimizer_switch", ("optimizer_switch.optimizer", MOMENTUM_OPTIMIZERS)), placeholder="0.9"),
        ),
    ),
)  # fmt: skip

FIELDS = tuple(f for section in SECTIONS for f in section.fields)
INITIAL = {f.name: f.initial for f in FIELDS if f.initial}


def _number(raw: str, whole: bool):
    """A number where the text is one; otherwise the text itself, for the validator to name."""
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        value = float(raw)
    except ValueError:
        return raw
    if whole and value.is_integer():
        return int(value)
    return value if math.isfinite(value) else raw


def _widths(raw: str):
    parts = [part for part in re.split(r"[\s,x×]+", raw) if part]
    if parts and all(part.isdigit() for part in parts):
        return [int(part) for part in parts]
    return raw


def _value(f: Field, raw: str):
    if f.kind in ("int", "dataset"):
        return _number(raw, whole=True)
    if f.kind == "float":
        return _number(raw, whole=False)
    if f.kind == "widths":
        return _widths(raw)
    if f.kind == "batch":
        return "full" if raw.lower() == "full" else _number(raw, whole=True)
    return raw


def _raw_values(form) -> dict[str, str]:
    return {f.name: (form.get(f.name) or "").strip() for f in FIELDS}


def form_to_request(form) -> dict:
    """The request body for experiment_create / experiment_preview from submitted form data
    (a QueryDict). Empty fields are left out, so the config's defaults apply; fields that do
    not apply (momentum for adam, a switched-off section's parameters) are ignored."""
    values = _raw_values(form)
    body: dict = {}
    for f in FIELDS:
        raw = values[f.name]
        if not f.applies(values):
            continue
        if f.kind == "section":
            if raw:
                body[f.name] = {}
            continue
        if f.kind == "variant":
            if raw:
                body.setdefault(f.name, {})
            continue
        if f.kind == "bool":
            value = bool(raw)
        elif raw == "":
            continue
        else:
            value = _value(f, raw)
        if "." in f.name:
            section, key = f.name.split(".", 1)
            body.setdefault(section, {})[key] = value
        else:
            body[f.name] = value
    return body


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def form_values_from_config(config: dict) -> dict[str, str]:
    """The form's values that reproduce `config` (a run's full config): what Clone prefills."""
    values: dict[str, str] = {}
    for f in FIELDS:
        if f.name == "name":
            continue
        if f.kind == "section":
            values[f.name] = "on" if isinstance(config.get(f.name), dict) else ""
        elif f.kind == "variant":
            chosen = config.get(f.name) or {}
            values[f.name] = next(iter(chosen), "") if isinstance(chosen, dict) else ""
        elif "." in f.name:
            section, key = f.name.split(".", 1)
            inner = config.get(section)
            values[f.name] = _text(inner.get(key)) if isinstance(inner, dict) else f.initial
        else:
            values[f.name] = _text(config.get(f.name))
    return values
