"""Reading a stored dataset into columns for the engine (NumPy arrays, one per column)."""

from __future__ import annotations

import csv
import io

import numpy as np
from django.core.files.storage import default_storage

from downhill.datasets.models import Dataset
from downhill.datasets.schema import is_missing, parse_number


def read_table(dataset: Dataset) -> dict[str, np.ndarray]:
    """Numeric columns as float64 with NaN for missing values; the others as text, None for
    missing; an image column as one array (n, height, width, channels) of raw pixels. The
    file was validated at upload, so its shape is known to be sound."""
    if dataset.format == "csv":
        return _read_csv(dataset)
    if dataset.format == "parquet":
        from downhill.datasets.parquet import read_parquet_table  # pyarrow, only for these

        with default_storage.open(dataset.file.name, "rb") as stored:
            return read_parquet_table(stored, dataset.columns)
    return _read_arrays(dataset)


def _read_arrays(dataset: Dataset) -> dict[str, np.ndarray]:
    """An NPZ upload, or the images decoded from a ZIP: X holds every column but the last
    (the features x0, x1, ... or the image), y the last one."""
    *features, target = dataset.columns
    stored = dataset.arrays or dataset.file
    with default_storage.open(stored.name, "rb") as f, np.load(f, allow_pickle=False) as arrays:
        x, y = arrays["X"], arrays["y"]
    y = y.reshape(len(y))  # (n, 1) is accepted at upload
    table = {target["name"]: y.astype(object if target["dtype"] == "categorical" else np.float64)}
    if features[0]["dtype"] == "image":
        table[features[0]["name"]] = x if x.ndim == 4 else x[..., np.newaxis]
    else:
        for j, column in enumerate(features):
            table[column["name"]] = x[:, j].astype(np.float64)
    return table


def _read_csv(dataset: Dataset) -> dict[str, np.ndarray]:
    kinds = [(c["name"], c["dtype"]) for c in dataset.columns]
    raw: list[list] = [[] for _ in kinds]
    with default_storage.open(dataset.file.name, "rb") as stored:
        text = io.TextIOWrapper(stored, encoding="utf-8-sig", newline="")
        reader = csv.reader(text, delimiter=dataset.delimiter, strict=True)
        next(reader)  # header
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            for values, (_, kind), cell in zip(raw, kinds, row, strict=True):
                if is_missing(cell):
                    values.append(np.nan if kind == "numeric" else None)
                elif kind == "numeric":
                    values.append(parse_number(cell.strip()))
                else:
                    values.append(cell.strip())
    return {
        name: np.array(values, dtype=np.float64 if kind == "numeric" else object)
        for (name, kind), values in zip(kinds, raw, strict=True)
    }
