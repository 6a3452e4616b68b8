"""Reads for datasets, scoped to their owner in one place."""

import csv
import io
import math
import zipfile

import numpy as np
from django.core.files.storage import default_storage
from django.db.models import QuerySet

from .images import PATH_SEPARATOR
from .models import Dataset
from .npz import read_npy_header


def datasets_visible_to(user) -> QuerySet[Dataset]:
    qs = Dataset.objects.all()
    return qs if user.is_staff else qs.filter(owner=user)


PREVIEW_MAX_ROWS = 100


def dataset_preview(dataset: Dataset, n_rows: int = 20) -> dict:
    """The column names and the first `n_rows` rows, as text: a CSV's as the file holds them,
    an NPZ table's numbers as NumPy prints them; an image is named by its archive member
    (a ZIP) or its index in X (an NPZ)."""
    if dataset.format == "csv":
        return _csv_preview(dataset, n_rows)
    names = [c["name"] for c in dataset.columns]
    images = dataset.columns[0]["dtype"] == "image"
    stored = dataset.arrays if images and dataset.arrays else dataset.file
    with default_storage.open(stored.name, "rb") as f, zipfile.ZipFile(f) as arrays:
        y = _npy_head(arrays, "y", n_rows)
        if not images:
            x = _npy_head(arrays, "X", n_rows)
            rows = [[*map(str, features), str(label)] for features, label in zip(x, y, strict=True)]
        elif "paths.npy" in arrays.namelist():
            with arrays.open("paths.npy") as member:
                paths = str(np.load(member, allow_pickle=False)).split(PATH_SEPARATOR)
            rows = [[path, str(label)] for path, label in zip(paths, y, strict=False)]
        else:
            rows = [[f"X[{i}]", str(label)] for i, label in enumerate(y)]
    return {"columns": names, "rows": rows}


def _npy_head(arrays: zipfile.ZipFile, key: str, n_rows: int) -> np.ndarray:
    """The first rows of an array in an NPZ, reading no further into it than they reach."""
    with arrays.open(f"{key}.npy") as member:
        shape, fortran_order, dtype = read_npy_header(member)
        if fortran_order:  # rows are not contiguous on disk
            member.seek(0)
            return np.load(member, allow_pickle=False)[:n_rows]
        rows = min(n_rows, shape[0])
        data = member.read(rows * math.prod(shape[1:]) * dtype.itemsize)
    return np.frombuffer(data, dtype=dtype).reshape((rows, *shape[1:]))


def _csv_preview(dataset: Dataset, n_rows: int) -> dict:
    rows: list[list[str]] = []
    with default_storage.open(dataset.file.name, "rb") as stored:
        reader = csv.reader(
            io.TextIOWrapper(stored, encoding="utf-8-sig", newline=""), delimiter=dataset.delimiter
        )
        header = next(reader)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            rows.append(row)
            if len(rows) >= n_rows:
                break
    return {"columns": header, "rows": rows}
