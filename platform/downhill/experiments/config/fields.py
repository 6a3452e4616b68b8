"""Small validators shared by the config sections; each records problems instead of raising,
so a user sees every problem of a request in one answer."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError

from workers.contract.spec import Setting, applies, resolve


class ConfigErrors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def number(
    errors: ConfigErrors,
    raw: dict,
    key: str,
    *,
    default,
    minimum=None,
    maximum=None,
    exclusive_min: bool = False,
    exclusive_max: bool = False,
    integer: bool = False,
    field: str | None = None,
):
    """raw[key] as a number within bounds, else `default` (and an error under `field`)."""
    field = field or key
    if key not in raw or raw[key] is None:
        return default
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        errors.add(
            field,
            f"{_name(field, key)}must be a number, not {type(value).__name__} {_short(value)}.",
        )
        return default
    try:
        as_float = float(value)
    except OverflowError:  # an integer of hundreds of digits
        bound = f" (at most {maximum})" if maximum is not None else ""
        errors.add(field, f"{_name(field, key)}is far out of range{bound}.")
        return default
    if not math.isfinite(as_float):
        errors.add(field, f"{_name(field, key)}must be a finite number.")
        return default
    if integer and not as_float.is_integer():
        errors.add(field, f"{_name(field, key)}must be a whole number, not {value!r}.")
        return default
    if minimum is not None and (value <= minimum if exclusive_min else value < minimum):
        errors.add(
            field,
            f"{_name(field, key)}must be {'greater than' if exclusive_min else 'at least'} {minimum}, not {value!r}.",
        )
        return default
    if maximum is not None and (value >= maximum if exclusive_max else value > maximum):
        errors.add(
            field,
            f"{_name(field, key)}must be {'below' if exclusive_max else 'at most'} {maximum}, not {value!r}.",
        )
        return default
    return int(value) if integer else float(value)


def choice(
    errors: ConfigErrors, raw: dict, key: str, choices, default, *, field: str | None = None
):
    field = field or key
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or value not in choices:
        errors.add(
            field,
            f"{_name(field, key)}unknown value {_short(value)}; choose one of: {', '.join(choices)}.",
        )
        return default
    return value


def boolean(
    errors: ConfigErrors, raw: dict, key: str, default: bool, *, field: str | None = None
) -> bool:
    field = field or key
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        errors.add(field, f"{_name(field, key)}must be true or false.")
        return default
    return value


def section(errors: ConfigErrors, raw: dict, key: str, allowed: tuple[str, ...]) -> dict | None:
    """raw[key] as an object with only `allowed` keys; None when absent or null."""
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(key, f"must be an object with keys among: {', '.join(allowed)}.")
        return None
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        errors.add(key, f"unknown key(s) {', '.join(unknown)}; the keys are: {', '.join(allowed)}.")
    return value


def read(errors: ConfigErrors, raw: dict, spec: Setting, config: dict, *, field: str | None = None):
    """raw's value of a number, choice or boolean setting, checked against its spec; its
    default (or a bound) may follow the settings read so far, in `config`."""
    key, default = spec.name, resolve(spec.default, config)
    if spec.kind == "choice":
        return choice(errors, raw, key, spec.choice_values(), default, field=field)
    if spec.kind == "boolean":
        return boolean(errors, raw, key, default, field=field)
    return number(
        errors, raw, key, default=default, field=field,
        minimum=resolve(spec.minimum, config), maximum=resolve(spec.maximum, config),
        exclusive_min=spec.exclusive_min, exclusive_max=spec.exclusive_max,
        integer=spec.kind == "integer",
    )  # fmt: skip


class Reader:
    """Reads the settings of one object of the config; its errors go under the object's key."""

    def __init__(self, errors: ConfigErrors, value: dict, field: str, config: dict):
        self.errors, self.value, self.field, self.config = errors, value, field, config

    def read(self, spec: Setting):
        return read(self.errors, self.value, spec, self.config, field=self.field)

    def read_all(self, settings) -> dict:
        """Each setting that applies, by its key inside the object; they see each other."""
        values: dict = {}
        for spec in settings:
            if applies(spec, self.config):
                values[spec.name] = self.config[spec.key] = self.read(spec)
        return values


def _name(field: str, key: str) -> str:
    """Inside an object, say which of its keys is wrong."""
    return "" if field == key else f"{key} "


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
