"""Feature preprocessing in NumPy only: fitted by the engine on a run's training rows, applied
again by the web process to rows sent for prediction (which must never import torch).

A table is a dict of columns: numeric ones float64 with NaN for missing values, text ones
object arrays with None for missing values, an image column one array (n, height, width,
channels) of raw pixels. The fitted preprocessing is a plain dict:
{"features": [{"name", "kind": "numeric", "median", "mean", "std"} |
              {"name", "kind": "categorical", "categories": [sorted]} |
              {"name", "kind": "image", "shape": [c, h, w], "scale", "mean": [c], "std": [c]}],
 "ignored_columns": {name: reason}, "target", "task", "classes"}.

Images are divided by `scale` (into [0, 1]), then standardized per channel, and come out as
(n, c, h, w) float32: an image dataset has the image as its only feature.
"""

from __future__ import annotations

import numpy as np

MISSING_CATEGORY = "(missing)"
# A text column with more distinct values than this is an identifier or free text, not a
# category: one-hot encoding it would add a feature per row (and gigabytes of memory).
MAX_CATEGORIES = 100
# Images converted to float at a time: the whole set in float64 could take many gigabytes.
IMAGE_CHUNK = 1024


def fit_features(
    table: dict[str, np.ndarray], schema: list[dict], features: list[str], train: np.ndarray
) -> dict:
    fitted = []
    ignored = {}
    for name in features:
        column = next(c for c in schema if c["name"] == name)
        kind = column["dtype"]
        if kind == "image":
            fitted.append(_fit_image(name, table[name], train, column["pixel_scale"]))
            continue
        values = table[name][train]
        if kind == "numeric":
            finite = values[~np.isnan(values)]
            median = float(np.median(finite)) if len(finite) else 0.0
            filled = np.where(np.isnan(values), median, values)
            mean = float(filled.mean()) if len(filled) else 0.0
            std = float(filled.std()) if len(filled) else 1.0
            fitted.append(
                {"name": name, "kind": "numeric", "median": median, "mean": mean, "std": std or 1.0}
            )
        else:
            categories = sorted({MISSING_CATEGORY if v is None else v for v in values})
            if len(categories) > MAX_CATEGORIES:
                ignored[name] = (
                    f"{len(categories)} distinct text values in the training rows "
                    f"(more than {MAX_CATEGORIES}): an identifier or free text, not a category"
                )
                continue
            fitted.append({"name": name, "kind": "categorical", "categories": categories})
    return {"features": fitted, "ignored_columns": ignored}


def _fit_image(name: str, images: np.ndarray, train: np.ndarray, scale: float) -> dict:
    """Per-channel mean and standard deviation of the training images' scaled pixels."""
    _, height, width, channels = images.shape
    total, squares, count = np.zeros(channels), np.zeros(channels), 0
    for start in range(0, len(train), IMAGE_CHUNK):
        pixels = images[train[start : start + IMAGE_CHUNK]].astype(np.float64) / scale
        total += pixels.sum(axis=(0, 1, 2))
        squares += np.square(pixels).sum(axis=(0, 1, 2))
        count += pixels.size // channels
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - np.square(mean), 0.0))
    return {
        "name": name,
        "kind": "image",
        "shape": [channels, height, width],
        "scale": float(scale),
        "mean": mean.tolist(),
        "std": [float(s) or 1.0 for s in std],
    }


def _transform_images(images: np.ndarray, feature: dict, rows: np.ndarray | None) -> np.ndarray:
    """(n, h, w, c) raw pixels -> (n, c, h, w) float32, scaled and standardized per channel."""
    rows = np.arange(len(images)) if rows is None else rows
    channels, height, width = feature["shape"]
    mean = np.asarray(feature["mean"], dtype=np.float32)
    std = np.asarray(feature["std"], dtype=np.float32)
    out = np.empty((len(rows), channels, height, width), dtype=np.float32)
    for start in range(0, len(rows), IMAGE_CHUNK):
        pixels = images[rows[start : start + IMAGE_CHUNK]].astype(np.float32) / feature["scale"]
        out[start : start + len(pixels)] = ((pixels - mean) / std).transpose(0, 3, 1, 2)
    return out


def transform(
    table: dict[str, np.ndarray], preprocessing: dict, rows: np.ndarray | None = None
) -> np.ndarray:
    """Apply fitted preprocessing; unseen categories become all-zero one-hot rows. A table of
    images gives (n, c, h, w); any other gives (n, features)."""
    features = preprocessing["features"]
    if any(f["kind"] == "image" for f in features):
        if len(features) != 1:
            raise ValueError("An image dataset has the image as its only feature.")
        return _transform_images(table[features[0]["name"]], features[0], rows)
    blocks = []
    for feature in preprocessing["features"]:
        values = table[feature["name"]] if rows is None else table[feature["name"]][rows]
        if feature["kind"] == "numeric":
            filled = np.where(np.isnan(values), feature["median"], values)
            blocks.append(((filled - feature["mean"]) / feature["std"]).reshape(-1, 1))
        else:
            categories = np.array(feature["categories"], dtype=object)  # sorted when fitted
            keys = np.where(values == None, MISSING_CATEGORY, values)  # noqa: E711 (elementwise)
            position = np.minimum(np.searchsorted(categories, keys), len(categories) - 1)
            known = categories[position] == keys  # unseen categories stay all-zero
            onehot = np.zeros((len(values), len(categories)), dtype=np.float32)
            onehot[np.flatnonzero(known), position[known]] = 1.0
            blocks.append(onehot)
    n = len(next(iter(table.values()))) if rows is None else len(rows)
    return np.hstack(blocks).astype(np.float32) if blocks else np.zeros((n, 0), dtype=np.float32)
