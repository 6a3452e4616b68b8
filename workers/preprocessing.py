"""Feature preprocessing in NumPy only: fitted by the engine on a run's training rows, applied
again by the web process to rows sent for prediction (which must never import torch).

A table is a dict of columns: numeric ones float64 with NaN for missing values, text ones
object arrays with None for missing values. The fitted preprocessing is a plain dict:
{"features": [{"name", "kind": "numeric", "median", "mean", "std"} |
              {"name", "kind": "categorical", "categories": [sorted]}],
 "ignored_columns": {name: reason}, "target", "task", "classes"}.
"""

from __future__ import annotations

import numpy as np

MISSING_CATEGORY = "(missing)"
# A text column with more distinct values than this is an identifier or free text, not a
# category: one-hot encoding it would add a feature per row (and gigabytes of memory).
MAX_CATEGORIES = 100


def fit_features(
    table: dict[str, np.ndarray], schema: list[dict], features: list[str], train: np.ndarray
) -> dict:
    fitted = []
    ignored = {}
    for name in features:
        kind = next(c["dtype"] for c in schema if c["name"] == name)
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


def transform(
    table: dict[str, np.ndarray], preprocessing: dict, rows: np.ndarray | None = None
) -> np.ndarray:
    """Apply fitted preprocessing; unseen categories become all-zero one-hot rows."""
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
