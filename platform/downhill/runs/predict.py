"""Predictions from a trained run, in the web process: NumPy only (workers.preprocessing and
workers.inference), never torch. The worker exported the run's final model as plain layers
and stored its fitted preprocessing on the run."""

from __future__ import annotations

import io
import math
from functools import lru_cache

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from downhill.datasets.schema import is_missing, parse_number
from workers.inference import forward, layers_from_npz
from workers.preprocessing import transform

from .models import Run

MAX_PREDICT_ROWS = 1000


class ModelNotReady(Exception):
    """The run has no trained model (yet, or ever)."""


@lru_cache(maxsize=32)
def _layers(path: str) -> list[dict]:
    """A stored model never changes once written (a rerun is a new run), so cache it."""
    with default_storage.open(path, "rb") as stored:
        data = np.load(io.BytesIO(stored.read()), allow_pickle=False)
        return layers_from_npz({key: data[key] for key in data.files})


def _table(rows, preprocessing: dict, target: str) -> dict[str, np.ndarray]:
    """Validate raw rows into preprocessing's table layout; errors name the row and column."""
    if not isinstance(rows, list) or not rows:
        raise ValidationError({"rows": ["must be a non-empty list of objects, one per row."]})
    if len(rows) > MAX_PREDICT_ROWS:
        raise ValidationError(
            {"rows": [f"at most {MAX_PREDICT_ROWS} rows per request, not {len(rows)}."]}
        )
    features = preprocessing["features"]
    known = {f["name"] for f in features} | set(preprocessing.get("ignored_columns", {})) | {target}
    columns: dict[str, list] = {f["name"]: [] for f in features}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValidationError({f"rows[{i}]": ["must be an object of column: value."]})
        unknown = sorted(set(row) - known)
        if unknown:
            raise ValidationError({f"rows[{i}]": [f"unknown column '{unknown[0]}'."]})
        for feature in features:
            name = feature["name"]
            if name not in row:
                raise ValidationError(
                    {f"rows[{i}].{name}": ["is missing (send null for a missing value)."]}
                )
            value = row[name]
            missing = value is None or (isinstance(value, str) and is_missing(value))
            if feature["kind"] == "numeric":
                if missing:
                    columns[name].append(math.nan)
                    continue
                number = None
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    number = float(value) if math.isfinite(float(value)) else None
                elif isinstance(value, str):
                    number = parse_number(value.strip())
                if number is None:
                    raise ValidationError(
                        {f"rows[{i}].{name}": [f"{value!r:.60} is not a number."]}
                    )
                columns[name].append(number)
            else:
                if not missing and not isinstance(value, (str, int, float)):
                    raise ValidationError(
                        {f"rows[{i}].{name}": ["must be text, a number or null."]}
                    )
                columns[name].append(None if missing else _as_text(value))
    return {
        f["name"]: np.array(
            columns[f["name"]], dtype=np.float64 if f["kind"] == "numeric" else object
        )
        for f in features
    }


def _as_text(value) -> str:
    """As the CSV would have held it: 1.0 written as 1."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def run_predict(run: Run, rows) -> list[dict]:
    """Predict raw rows with the run's final model. Raises ModelNotReady or ValidationError."""
    model_path = run.artifacts.get("model")
    if not model_path or not run.inference:
        raise ModelNotReady(
            f"Run {run.id} has no trained model ({run.status}); predictions need a finished run."
        )
    info = run.inference
    if any(f["kind"] == "image" for f in info["preprocessing"]["features"]):
        raise ValidationError(
            {"rows": [f"Run {run.id} was trained on images; predictions for image runs are not available "
                      "through the API yet."]}
        )  # fmt: skip
    x = transform(_table(rows, info["preprocessing"], info["target"]), info["preprocessing"])
    out = forward(_layers(model_path), x.astype(np.float32)).astype(np.float64)
    kind, classes = info["output_transform"], info.get("classes")
    if info["task"] == "regression":
        values = out[:, 0]
        if kind == "exp":
            values = np.exp(values)
        elif kind == "clamp_min0":
            values = np.maximum(values, 0.0)
        return [{"value": float(v)} for v in values]
    if kind == "sigmoid":
        positive = 1.0 / (1.0 + np.exp(-out[:, 0]))
        probabilities = np.stack([1.0 - positive, positive], axis=1)
    elif kind == "softmax":
        probabilities = _softmax(out)
    else:  # a margin loss scores classes but gives no probabilities
        return [{"label": classes[int(i)], "scores": dict(zip(classes, map(float, row), strict=True))}
                for i, row in zip(out.argmax(axis=1), out, strict=True)]  # fmt: skip
    return [
        {
            "label": classes[int(p.argmax())],
            "probabilities": dict(zip(classes, map(float, p), strict=True)),
        }
        for p in probabilities
    ]
