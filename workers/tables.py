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
    missing. The file was validated at upload, so its shape is known to be sound."""
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
