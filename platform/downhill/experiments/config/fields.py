"""Small validators shared by the config sections; each records problems instead of raising,
so a user sees every problem of a request in one answer."""

from __future__ import annotations

import math
from typing import Any

from django.core.exceptions import ValidationError


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


class Reader:
    """The validators above, bound to one object of the config and the field its errors go under."""

    def __init__(self, errors: ConfigErrors, value: dict, field: str):
        self.errors, self.value, self.field = errors, value, field

    def number(self, key: str, **options):
        return number(self.errors, self.value, key, field=self.field, **options)

    def positive(self, key: str, default, maximum):
        """A number above 0 and at most `maximum`."""
        return self.number(key, default=default, minimum=0, exclusive_min=True, maximum=maximum)

    def whole(self, key: str, default, minimum: int, maximum: int):
        return self.number(key, default=default, minimum=minimum, maximum=maximum, integer=True)

    def choice(self, key: str, choices, default):
        return choice(self.errors, self.value, key, choices, default, field=self.field)

    def boolean(self, key: str, default: bool) -> bool:
        return boolean(self.errors, self.value, key, default, field=self.field)


def _name(field: str, key: str) -> str:
    """Inside an object, say which of its keys is wrong."""
    return "" if field == key else f"{key} "


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
