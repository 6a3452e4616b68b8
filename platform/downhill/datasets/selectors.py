"""Reads for datasets, scoped to their owner in one place."""

import csv
import io
import math
import posixpath
import zipfile
from typing import BinaryIO

import numpy as np
from django.core.exceptions import ValidationError
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
    (a ZIP) or its index in X (an NPZ). Raises ValidationError until the dataset is ready."""
    if dataset.status == Dataset.Status.PROCESSING:
        raise ValidationError(
            {
                "dataset": f"Dataset {dataset.id} is still being read; its preview comes when it is ready."
            }
        )
    if dataset.status == Dataset.Status.FAILED:
        raise ValidationError(
            {"dataset": f"Dataset {dataset.id} could not be read: {dataset.error}"}
        )
    try:
        if dataset.format == "csv":
            return _csv_preview(dataset, n_rows)
        if dataset.format == "parquet":
            return _parquet_preview(dataset, n_rows)
        return _arrays_preview(dataset, n_rows)
    except (OSError, ValueError, KeyError, csv.Error, zipfile.BadZipFile) as exc:
        raise ValidationError(
            {
                "file": f"The stored file of dataset {dataset.id} cannot be read ({exc.__class__.__name__})."
            }
        ) from exc


def _parquet_preview(dataset: Dataset, n_rows: int) -> dict:
    """The first rows as the text a CSV would hold ('' for null), read with ranged GETs."""
    from .parquet import open_parquet, text_columns  # pyarrow: loaded when needed

    with _open_ranged(dataset.file.name) as f:
        parquet = open_parquet(f)
        batch = next(parquet.iter_batches(batch_size=n_rows), None)
        columns = text_columns(batch) if batch is not None else []
    rows = [list(row) for row in zip(*(c.to_pylist() for c in columns), strict=True)]
    return {"columns": parquet.schema_arrow.names, "rows": rows[:n_rows]}


def _arrays_preview(dataset: Dataset, n_rows: int) -> dict:
    names = [c["name"] for c in dataset.columns]
    images = dataset.columns[0]["dtype"] == "image"
    stored = dataset.arrays if images and dataset.arrays else dataset.file
    with _open_ranged(stored.name) as f, zipfile.ZipFile(f) as arrays:
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


# The preview reads no further into a CSV than this: the dataset page shows it at every view.
PREVIEW_MAX_BYTES = 1 << 20


def _csv_preview(dataset: Dataset, n_rows: int) -> dict:
    head, whole = _head(dataset.file.name, PREVIEW_MAX_BYTES)
    if not whole:  # cut at a line end (never inside a character)
        head = head[: head.rfind(b"\n") + 1]
    reader = csv.reader(
        io.StringIO(head.decode("utf-8-sig"), newline=""), delimiter=dataset.delimiter
    )
    # A header longer than the head (a very wide table): the names the schema recorded.
    header = next(reader, None) or [c["name"] for c in dataset.columns]
    rows = [row for row in reader if row and not (len(row) == 1 and not row[0].strip())]
    if not whole and rows:  # that line end may be inside a quoted field: its row is partial
        rows.pop()
    return {"columns": header, "rows": rows[:n_rows]}


def _head(name: str, limit: int) -> tuple[bytes, bool]:
    """The first `limit` bytes of a stored file, and whether they are all of it."""
    with _open_ranged(name) as stored:
        head = stored.read(limit + 1)
    return head[:limit], len(head) <= limit


def _open_ranged(name: str) -> BinaryIO:
    """A stored file opened for reading only the parts asked for. In an S3 bucket, a seekable
    view whose reads are ranged GETs: opening a file through django-storages downloads the
    whole object, at every page view for a preview."""
    bucket = getattr(default_storage, "bucket", None)
    if bucket is None:
        return default_storage.open(name, "rb")
    key = posixpath.join(default_storage.location, name) if default_storage.location else name
    return io.BufferedReader(_RangedObject(bucket.Object(key)), buffer_size=RANGED_READ_BYTES)


# The least one GET of a ranged view fetches: a ZIP's directory and an array's head are a few
# reads each.
RANGED_READ_BYTES = 64 * 1024


class _RangedObject(io.RawIOBase):
    """A read-only, seekable S3 object (a boto3 Object); every read is one ranged GET."""

    def __init__(self, obj):
        self._object = obj
        self._size = obj.content_length  # a HEAD request
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        end = min(self._position + len(buffer), self._size)
        if end <= self._position:
            return 0
        body = self._object.get(Range=f"bytes={self._position}-{end - 1}")["Body"].read()
        buffer[: len(body)] = body
        self._position += len(body)
        return len(body)
