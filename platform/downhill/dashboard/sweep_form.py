"""The experiment form's search: a "Search" toggle beside each searchable setting (a list of
values, or a range with an optional log scale), the sweep's options, and the one translation
of a submitted form into the body POST /api/v1/sweeps/ takes, so sweeps.services validates the
form's sweep exactly as the API's.

Conditions follow the API's rule (sweeps/space.py): a setting that applies only for some
values of a searched choice (momentum for the optimizers that have it) gets a `when` naming
those values. A fixed value of such a setting travels the same way, as a one-value list, so
an Adam trial is never given SGD's momentum.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .experiment_form import Field, _value, fields, form_to_request

PREFIX = "search_"  # search_<setting>: the toggle; search_<setting>_<part>: its inputs
# Settings that describe the data rather than how to train on it.
NOT_SEARCHABLE = ("name", "dataset", "target", "task")
SEARCHABLE_KINDS = ("float", "int", "batch", "choice", "bool")
OBJECTIVES = ("val_loss", "val_accuracy", "val_f1", "val_mae", "val_rmse", "val_r2")

OPTIONS = (
    Field("sweep_method", "Search method", "choice",
          choices=(("tpe", "Bayesian (TPE)"), ("random", "Random"), ("grid", "Grid: every combination")),
          help="Grid tries every combination of listed values; random and TPE sample ranges.",
          initial="tpe"),
    Field("sweep_seed", "Sweep seed", "int", placeholder="random",
          help="The sampler's seed: the same seed asks for the same trials."),
    Field("sweep_objective", "Objective", "choice", choices=tuple((o, o) for o in OBJECTIVES),
          help="The validation metric each trial is judged by: accuracy and F1 for classification, "
               "MAE, RMSE and R² for regression.", initial="val_loss"),
    Field("sweep_direction", "Direction", "choice",
          choices=(("minimize", "Minimize"), ("maximize", "Maximize")), initial="minimize"),
    Field("sweep_max_trials", "Max trials", "int", initial="20",
          help="A grid asks for at most its number of combinations."),
    Field("sweep_max_concurrent", "Max concurrent", "int", initial="2",
          help="Trials queued or running at once."),
    Field("sweep_pruner", "Early termination", "choice",
          choices=(("none", "None"), ("median", "Median rule"), ("asha", "Successive halving (ASHA)")),
          help="Stop trials that fall behind, per epoch of the objective.", initial="none"),
)  # fmt: skip
_OPTION_KEYS = {f.name.removeprefix("sweep_"): f.name for f in OPTIONS}


def searchable(f: Field) -> bool:
    return "." not in f.name and f.kind in SEARCHABLE_KINDS and f.name not in NOT_SEARCHABLE


def searchable_fields() -> tuple[Field, ...]:
    return tuple(f for f in fields() if searchable(f))


def _getlist(form, name: str) -> list[str]:
    """A multi-valued input's values (a QueryDict's list; a new form's dict has none)."""
    return form.getlist(name) if hasattr(form, "getlist") else []


def _raw(form, name: str) -> str:
    return (form.get(name) or "").strip()


def _values(form) -> dict[str, str]:
    return {f.name: _raw(form, f.name) for f in fields()}


def searched_choices(form) -> dict[str, list[str]]:
    """name -> the values a searched choice tries: where a condition on it holds."""
    return {f.name: _list(f, form) for f in searchable_fields()
            if f.kind == "choice" and not f.when and form.get(PREFIX + f.name)}  # fmt: skip


def searched(form) -> tuple[Field, ...]:
    """The searchable settings whose Search is on and that apply to the form's values (a
    condition on a searched choice holds where any of its values does)."""
    values, choices = _values(form), searched_choices(form)
    return tuple(f for f in searchable_fields()
                 if form.get(PREFIX + f.name) and f.applies(values, choices))  # fmt: skip


def is_sweep(form) -> bool:
    return bool(searched(form))


def _list(f: Field, form) -> list:
    if f.kind == "bool":
        return [True, False]
    if f.kind == "choice":
        return [v for v in _getlist(form, f"{PREFIX}{f.name}_values") if v]
    text = _raw(form, f"{PREFIX}{f.name}_values")
    return [_value(f, part) for part in re.split(r"[\s,;]+", text) if part]


def _distribution(f: Field, form) -> dict:
    if f.kind in ("choice", "bool") or _raw(form, f"{PREFIX}{f.name}_mode") == "list":
        return {"type": "categorical", "values": _list(f, form)}
    whole = f.kind != "float"
    spec = {"type": "int" if whole else "float"}
    for end in ("low", "high"):
        raw = _raw(form, f"{PREFIX}{f.name}_{end}")
        spec[end] = _value(f, raw) if raw else None
    if form.get(f"{PREFIX}{f.name}_log"):
        spec["log"] = True
    return spec


def _conditions(space: dict, base: dict, form) -> None:
    """A setting that applies only for some values of a searched choice carries a `when`; a
    fixed value of one leaves the base (where it would apply to every trial) for the space."""
    for f in fields():
        parents = [(p, allowed) for p, allowed in f.when if p in space and "." not in f.name]
        if not parents:
            continue
        when = {p: [v for v in space[p].get("values") or [] if v in allowed] or list(allowed)
                for p, allowed in parents}  # fmt: skip
        if f.name in space:
            space[f.name]["when"] = when
        elif f.name in base:
            value = base.pop(f.name)
            if value not in ("", None, False):  # an unset value: the trial's default applies
                space[f.name] = {"type": "categorical", "values": [value], "when": when}


def _options(form) -> dict:
    body: dict = {}
    for key, name in _OPTION_KEYS.items():
        raw = _raw(form, name)
        if raw == "":
            continue
        field = next(f for f in OPTIONS if f.name == name)
        body[key] = _value(field, raw) if field.kind == "int" else raw
    if "pruner" in body:
        body["pruner"] = {"type": body["pruner"]}
    return body


def form_to_sweep(form) -> dict:
    """The body of POST /api/v1/sweeps/ from a submitted form (a QueryDict): the plain fields
    are the base config, the searched ones the space."""
    base = form_to_request(form, searched_choices(form))
    space = {f.name: _distribution(f, form) for f in searched(form)}
    for name in space:
        base.pop(name, None)
    _conditions(space, base, form)
    name = base.pop("name", "")
    body = {"base": base, "space": space, **_options(form)}
    if name:
        body["name"] = name
    return body


def form_errors(errors: dict[str, list[str]], form) -> dict[str, list[str]]:
    """The sweep API's error keys as the form's slots: "base.momentum" under the momentum
    field, "space.learning_rate.low" under its search (under the field itself where the value
    is a fixed one that _conditions moved), "pruner.type" under Early termination."""
    names = {f.name for f in searched(form)}
    out: dict[str, list[str]] = {}
    for key, messages in errors.items():
        head, _, rest = key.partition(".")
        if head == "base" and rest:
            slot = rest.split(".")[0]
        elif head == "space" and rest:
            name = re.split(r"[.\[]", rest)[0]
            slot = "space." + name if name in names else name
        elif head in _OPTION_KEYS:
            slot = _OPTION_KEYS[head]
        else:
            slot = "non_field_errors" if key != "space" else "space"
        out.setdefault(slot, []).extend(messages)
    return out


@dataclass(frozen=True)
class Search:
    """One setting's search inputs, as the page shows them."""

    on: bool
    mode: str  # "range" or "list"
    values: str
    chosen: tuple[str, ...]
    low: str
    high: str
    log: bool
    errors: list[str]


def initial_search_values() -> dict[str, str]:
    """What a new form's search inputs and sweep options start with: rates on a log scale."""
    logs = {f"{PREFIX}{name}_log": "on" for name in ("learning_rate", "weight_decay")}
    return {**logs, **{f.name: f.initial for f in OPTIONS if f.initial}}


def bound_search(f: Field, form, errors: dict[str, list[str]]) -> Search | None:
    if not searchable(f):
        return None
    get = form.get
    chosen = tuple(_getlist(form, f"{PREFIX}{f.name}_values"))
    default_mode = "range" if f.kind == "float" else "list"
    return Search(
        on=bool(get(PREFIX + f.name)),
        mode=get(f"{PREFIX}{f.name}_mode") or default_mode,
        values="" if f.kind == "choice" else (get(f"{PREFIX}{f.name}_values") or ""),
        chosen=chosen,
        low=get(f"{PREFIX}{f.name}_low") or "",
        high=get(f"{PREFIX}{f.name}_high") or "",
        log=bool(get(f"{PREFIX}{f.name}_log")),
        errors=errors.get("space." + f.name, []),
    )
