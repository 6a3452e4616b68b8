"""Predictions from a trained run, in the web process: NumPy only (workers.contract.preprocessing and
workers.contract.inference), never torch. The worker exported the run's final model as plain layers
and stored its fitted preprocessing on the run.

A row for an image run holds its one image either as a base64 PNG or JPEG file, decoded,
converted and resized as the uploaded ZIP's images were (downhill.datasets.images), or as
pixel values, height × width [× channels] in the training data's units, as an NPZ holds them.
"""

from __future__ import annotations

import base64
import io
import math
from functools import lru_cache

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from PIL import Image

from downhill.datasets.images import ImageError, image_pixels, open_image
from downhill.datasets.schema import is_missing, parse_number
from workers.contract.inference import forward, layers_from_npz
from workers.contract.preprocessing import transform
from workers.contract.transforms import probabilities as output_probabilities
from workers.contract.transforms import values as output_values

from .models import Run

MAX_PREDICT_ROWS = 1000
# Pixels decoded per request, all its PNG and JPEG files together (each file is also held to
# MAX_SOURCE_PIXELS, 50 MP, from its header before it is decoded). A 49 MP PNG of one colour
# is 60-160 kB and took 0.5-0.7 s to decode and resize here: without this limit a 10 MB body
# could ask for a minute of work.
MAX_PREDICT_IMAGE_PIXELS = 100_000_000
# Model input pixels per NumPy forward pass: workers.contract.inference copies each convolution's
# windows, so memory grows with the batch: 2**17 pixels (32 images of 64 × 64) peaked at
# 105 MB in the default CNN (channels [32, 64]; tracemalloc, any image size alike).
FORWARD_BATCH_PIXELS = 2**17


class ModelNotReady(Exception):
    """The run has no trained model (yet, or ever)."""


@lru_cache(maxsize=32)
def _layers(path: str) -> list[dict]:
    """A stored model never changes once written (a rerun is a new run), so cache it."""
    with default_storage.open(path, "rb") as stored:
        data = np.load(io.BytesIO(stored.read()), allow_pickle=False)
        return layers_from_npz({key: data[key] for key in data.files})


def _check_rows(rows) -> None:
    if not isinstance(rows, list) or not rows:
        raise ValidationError({"rows": ["must be a non-empty list of objects, one per row."]})
    if len(rows) > MAX_PREDICT_ROWS:
        raise ValidationError(
            {"rows": [f"at most {MAX_PREDICT_ROWS} rows per request, not {len(rows)}."]}
        )


def _check_row(i: int, row, known: set[str]) -> None:
    if not isinstance(row, dict):
        raise ValidationError({f"rows[{i}]": ["must be an object of column: value."]})
    unknown = sorted(set(row) - known)
    if unknown:
        raise ValidationError({f"rows[{i}]": [f"unknown column '{unknown[0]}'."]})


def _table(rows, preprocessing: dict, target: str) -> dict[str, np.ndarray]:
    """Validate raw rows into preprocessing's table layout; errors name the row and column."""
    _check_rows(rows)
    features = preprocessing["features"]
    known = {f["name"] for f in features} | set(preprocessing.get("ignored_columns", {})) | {target}
    columns: dict[str, list] = {f["name"]: [] for f in features}
    for i, row in enumerate(rows):
        _check_row(i, row, known)
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


def _image_outputs(rows, preprocessing: dict, target: str, layers: list[dict]) -> np.ndarray:
    """The model's outputs for rows of one image each, decoded and run a batch at a time."""
    _check_rows(rows)
    (feature,) = preprocessing["features"]  # an image dataset has no other feature
    name = feature["name"]
    _, height, width = feature["shape"]
    batch = max(1, FORWARD_BATCH_PIXELS // (height * width))
    allowance = MAX_PREDICT_IMAGE_PIXELS
    outputs = []
    for start in range(0, len(rows), batch):
        pixels = []
        for i, row in enumerate(rows[start : start + batch], start):
            _check_row(i, row, {name, target})
            field = f"rows[{i}].{name}"
            if name not in row:
                raise ValidationError({field: ["is missing: every row needs its image."]})
            value = row[name]
            if isinstance(value, str):
                image = _sent_image(field, value, allowance)
                allowance -= image.width * image.height
                pixels.append(_decoded_pixels(field, image, feature))
            elif isinstance(value, list):
                pixels.append(_pixel_values(field, value, feature))
            else:
                raise ValidationError(
                    {field: ["must be a PNG or JPEG file in base64, or pixel values "
                             "(height × width [× channels])."]}
                )  # fmt: skip
        x = transform({name: np.stack(pixels)}, preprocessing)
        outputs.append(forward(layers, x))
    return np.concatenate(outputs)


def _sent_image(field: str, text: str, allowance: int) -> Image.Image:
    """The header of a base64 PNG or JPEG (a data: URL too), within the request's pixels."""
    if text.startswith("data:"):
        text = text.partition(",")[2]
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII text
        raise ValidationError({field: [f"is not base64 ({exc})."]}) from exc
    try:
        image = open_image(data)
    except ImageError as exc:
        raise ValidationError({field: [f"{exc}."]}) from exc
    if image.width * image.height > allowance:
        raise ValidationError(
            {field: [f"takes the request's images past {MAX_PREDICT_IMAGE_PIXELS:,} pixels in "
                     "all; send fewer or smaller images per request."]}
        )  # fmt: skip
    return image


def _decoded_pixels(field: str, image: Image.Image, feature: dict) -> np.ndarray:
    """(height, width, channels) in the training data's units: an 8-bit pixel p stays p for
    a run whose pixels were 0-255 and becomes p / 255 for an NPZ of pixels in [0, 1]."""
    channels, height, width = feature["shape"]
    try:
        pixels = image_pixels(image, channels, (width, height))
    except ImageError as exc:
        raise ValidationError({field: [f"{exc}."]}) from exc
    return pixels / (255.0 / feature["scale"])


def _pixel_values(field: str, value: list, feature: dict) -> np.ndarray:
    """Nested lists of pixel values as (height, width, channels), shape and range checked."""
    channels, height, width = feature["shape"]
    wanted = (height, width, channels)
    try:
        pixels = np.asarray(value)
    except ValueError:  # ragged lists
        pixels = None
    if pixels is None or pixels.dtype.kind not in "iuf":
        raise ValidationError(
            {field: ["must be nested lists of numbers, height × width [× channels]."]}
        )
    if pixels.shape not in (wanted, wanted[:2] if channels == 1 else wanted):
        shown = "×".join(map(str, wanted if channels > 1 else wanted[:2]))
        raise ValidationError(
            {field: [f"has shape {'×'.join(map(str, pixels.shape))}; this run's images are "
                     f"{shown} (height × width{' × channels' if channels > 1 else ''}), or send "
                     "a PNG or JPEG file in base64 to have it resized."]}
        )  # fmt: skip
    scale = feature["scale"]
    lo, hi = float(pixels.min()), float(pixels.max())
    if not (0 <= lo and hi <= scale):
        raise ValidationError(
            {field: [f"holds pixel values from {lo:g} to {hi:g}; this run's images hold "
                     f"values from 0 to {scale:g}."]}
        )  # fmt: skip
    return pixels.reshape(wanted).astype(np.float64)


def run_predict(run: Run, rows) -> list[dict]:
    """Predict raw rows with the run's final model. Raises ModelNotReady or ValidationError."""
    model_path = run.artifacts.get("model")
    if not model_path or not run.inference:
        raise ModelNotReady(
            f"Run {run.id} has no trained model ({run.status}); predictions need a finished run."
        )
    info = run.inference
    preprocessing = info["preprocessing"]
    if any(f["kind"] == "image" for f in preprocessing["features"]):
        out = _image_outputs(rows, preprocessing, info["target"], _layers(model_path))
    else:
        x = transform(_table(rows, preprocessing, info["target"]), preprocessing)
        out = forward(_layers(model_path), x)
    kind, classes = info["output_transform"], info.get("classes")
    if info["task"] == "regression":
        return [{"value": float(v)} for v in output_values(kind, out[:, 0])]
    probabilities = output_probabilities(kind, out)
    if probabilities is None:  # a margin loss scores classes but gives no probabilities
        return [{"label": classes[int(i)], "scores": dict(zip(classes, map(float, row), strict=True))}
                for i, row in zip(out.argmax(axis=1), out, strict=True)]  # fmt: skip
    return [
        {
            "label": classes[int(p.argmax())],
            "probabilities": dict(zip(classes, map(float, p), strict=True)),
        }
        for p in probabilities
    ]
