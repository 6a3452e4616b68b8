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

from workers.contract import spec
from workers.contract.spec.types import Setting, describe

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

    def applies(self, values, searched=None) -> bool:
        """Whether the conditions hold; a searched choice (`searched`: name -> the values it
        tries) holds a condition when any of its values does (momentum for sgd or adam)."""
        searched = searched or {}
        return all(
            any(v in allowed for v in searched[name])
            if name in searched
            else values.get(name, "") in allowed
            for name, allowed in self.when
        )


@dataclass(frozen=True)
class Section:
    title: str
    fields: tuple[Field, ...]


# The form's kind of field for each kind of setting.
_KINDS = {
    "number": "float", "integer": "int", "choice": "choice", "boolean": "bool", "column": "column",
    "dataset": "dataset", "batch": "batch", "widths": "widths", "object": "section",
    "variant": "variant",
}  # fmt: skip
_NAME = Field(
    "name", "Experiment name", "text", placeholder="optional: e.g. sgd lr=0.1 bs=32", wide=True
)


def _text_of(value) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return describe(value)


def _help(setting: Setting) -> str:
    return setting.help[:1].upper() + setting.help[1:] + "."


def _choices(setting: Setting) -> tuple[tuple[str, str], ...]:
    labels = setting.form.choice_labels
    if setting.kind == "variant":
        pairs = [("", labels.get("", "Off"))]
        pairs += [(s.name, labels.get(s.name, s.label)) for s in setting.settings]
        return tuple(pairs)
    values = setting.form.offered or setting.choice_values()
    pairs = [(v, labels.get(v, v.replace("_", " "))) for v in values]
    return ((("", setting.form.blank),) if setting.form.blank else ()) + tuple(pairs)


def _initial(setting: Setting) -> str:
    if setting.form.initial is not None:
        return setting.form.initial
    if setting.kind == "choice" and not setting.form.blank:
        return describe(setting.default)
    if setting.kind == "boolean":
        return "on" if setting.default is True else ""
    return _text_of(setting.default) if setting.form.prefill else ""


def _placeholder(setting: Setting) -> str:
    if setting.form.placeholder or setting.form.prefill or setting.default is None:
        return setting.form.placeholder
    if setting.kind in ("choice", "boolean", "object", "variant", "column"):
        return ""
    return _text_of(setting.default)


def _field(setting: Setting, when=()) -> Field:
    kind, initial = _KINDS[setting.kind], _initial(setting)
    return Field(
        setting.key, setting.form.label or setting.label, kind,
        choices=_choices(setting) if kind in ("choice", "variant") else (),
        help=_help(setting), placeholder="" if initial else _placeholder(setting),
        when=tuple(when) + setting.applicability(), initial=initial, wide=setting.form.wide,
    )  # fmt: skip


def _fields_of(setting: Setting) -> list[Field]:
    """A setting's fields: itself (a section's switch, a variant's choice), then its own."""
    if setting.kind == "typed":
        return [_field(s) for s in spec.settings_of(setting) if not s.form.hidden]
    fields = [_field(setting)]
    for inner in spec.settings_of(setting):
        on = "on" if setting.kind == "object" else inner.name
        fields.append(_field(inner, when=((setting.key, (on,)),)))
    return fields


def sections() -> tuple[Section, ...]:
    """The form's sections and fields, derived from the spec when asked (so a registered
    optimizer or schedule shows at once); the experiment's name leads."""
    by_section: dict[str, list[Field]] = {title: [] for title in spec.SECTIONS}
    by_section[spec.SECTIONS[0]].append(_NAME)
    for setting in spec.SETTINGS:
        by_section[setting.section].extend(_fields_of(setting))
    return tuple(Section(title, tuple(fields)) for title, fields in by_section.items())


def fields() -> tuple[Field, ...]:
    return tuple(f for section in sections() for f in section.fields)


def initial_values() -> dict[str, str]:
    """What a new form starts with."""
    return {f.name: f.initial for f in fields() if f.initial}


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


def _raw_values(form, every: tuple[Field, ...]) -> dict[str, str]:
    return {f.name: (form.get(f.name) or "").strip() for f in every}


def form_to_request(form, searched=None) -> dict:
    """The request body for experiment_create / experiment_preview from submitted form data
    (a QueryDict). Empty fields are left out, so the config's defaults apply; fields that do
    not apply (momentum for adam, a switched-off section's parameters) are ignored.
    `searched`: as Field.applies takes it (a sweep's base)."""
    every = fields()
    values = _raw_values(form, every)
    body: dict = {}
    for f in every:
        raw = values[f.name]
        if not f.applies(values, searched):
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
    for f in fields():
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
