"""Column summaries of arrays (NPZ and image uploads), in the shape the CSV reader gives.

The keys and their meaning are those of `schema.ColumnSummary.describe`, so the task rule,
the experiment config and the dashboard read every dataset alike. Arrays hold no missing
values (uploads with NaN are refused), and NumPy sees every value, so histograms are exact.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from .schema import DISTINCT_CAP, HISTOGRAM_BINS, TOP_VALUES


def numeric_column(name: str, values: np.ndarray) -> dict:
    """`values`: one finite number per row."""
    values = values.astype(np.float64, copy=False)
    distinct = len(np.unique(values))
    lo, hi = float(values.min()), float(values.max())
    width = (hi - lo) / HISTOGRAM_BINS or 1.0
    bins = np.minimum(((values - lo) / width).astype(np.int64), HISTOGRAM_BINS - 1)
    return {
        "name": name,
        "dtype": "numeric",
        "missing": 0,
        "distinct": min(distinct, DISTINCT_CAP),
        "distinct_capped": distinct > DISTINCT_CAP,
        "integer": bool(np.all(values == np.round(values))),
        "min": lo,
        "max": hi,
        "mean": float(values.mean()),
        "std": float(values.std()),
        "histogram": {
            "edges": [lo + i * width for i in range(HISTOGRAM_BINS + 1)],
            "counts": np.bincount(bins, minlength=HISTOGRAM_BINS).tolist(),
            "estimated": False,
        },
    }


def categorical_column(name: str, counts: Counter) -> dict:
    """`counts`: how many rows hold each text value."""
    return {
        "name": name,
        "dtype": "categorical",
        "missing": 0,
        "distinct": min(len(counts), DISTINCT_CAP),
        "distinct_capped": len(counts) > DISTINCT_CAP,
        "integer": False,
        "top_values": [[value, n] for value, n in counts.most_common(TOP_VALUES)],
    }


def image_column(name: str, shape: tuple[int, int, int], pixel_scale: float) -> dict:
    """`shape`: (channels, height, width). Pixels divided by `pixel_scale` lie in [0, 1]."""
    return {
        "name": name,
        "dtype": "image",
        "shape": list(shape),
        "pixel_scale": pixel_scale,
        "missing": 0,
    }


def target_column(name: str, y: np.ndarray) -> dict:
    """Labels as text (a `U` array) are categorical; numbers are numeric, as in a CSV."""
    if y.dtype.kind == "U":
        return categorical_column(name, Counter(y.tolist()))
    return numeric_column(name, y)
