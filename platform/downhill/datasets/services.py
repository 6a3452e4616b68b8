"""Writes for datasets."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from .models import Dataset
from .schema import DatasetFileError, infer_task, read_csv_schema

MAX_NAME_LENGTH = 200


def dataset_create(*, owner, file: UploadedFile, name: str = "", target: str = "") -> Dataset:
    """Validate an uploaded CSV in one streaming pass, store it, and record its schema.

    Raises ValidationError({field: message}); on any error nothing is stored.
    """
    limit = settings.DOWNHILL_MAX_UPLOAD_MB * 1024 * 1024
    if file.size is not None and file.size > limit:
        raise ValidationError(
            {
                "file": f"The file is {file.size / 2**20:.1f} MB; the limit is {settings.DOWNHILL_MAX_UPLOAD_MB} MB."
            }
        )
    name = (name or "").strip() or os.path.splitext(os.path.basename(file.name or "dataset"))[0]
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError({"name": f"Use at most {MAX_NAME_LENGTH} characters."})

    file.seek(0)
    try:
        schema = read_csv_schema(file)
    except DatasetFileError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    if len(schema.columns) < 2:
        raise ValidationError(
            {"file": "The file needs at least two columns: one or more features and a target."}
        )

    target = (target or "").strip() or schema.columns[-1]["name"]
    target_column = schema.column(target)
    if target_column is None:
        names = ", ".join(c["name"] for c in schema.columns)
        raise ValidationError({"target": f"No column named '{target}'. The columns are: {names}."})

    file.seek(0)
    dataset = Dataset(
        owner=owner,
        name=name,
        format="csv",
        delimiter=schema.delimiter,
        size_bytes=schema.size_bytes,
        sha256=schema.sha256,
        status=Dataset.Status.READY,
        n_rows=schema.n_rows,
        columns=schema.columns,
        target=target,
        task=infer_task(target_column, schema.n_rows),
    )
    # Store the file first; if the row cannot be written, remove the file again.
    dataset.file.save(os.path.basename(file.name or "dataset.csv"), file, save=False)
    try:
        with transaction.atomic():
            dataset.save()
    except Exception:
        dataset.file.delete(save=False)
        raise
    return dataset


class DatasetInUse(Exception):
    """Raised when a dataset still has experiments (their runs must stay readable)."""


def dataset_delete(*, dataset: Dataset) -> None:
    n = dataset.experiments.count()
    if n:
        raise DatasetInUse(
            f"Dataset {dataset.id} is used by {n} experiment(s); delete those first so their runs stay readable."
        )
    stored = dataset.file
    with transaction.atomic():
        dataset.delete()
    transaction.on_commit(lambda: stored.delete(save=False))
