"""Writes for datasets."""

from __future__ import annotations

import os
import tempfile
import uuid

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import ProtectedError

from .intake import Intake, read_upload
from .models import Dataset
from .schema import DatasetFileError, infer_task

MAX_NAME_LENGTH = 200
MAX_COLUMN_NAME_LENGTH = 200


class UploadTooLarge(Exception):
    """The upload is over DOWNHILL_MAX_UPLOAD_MB (answered with 413)."""


def upload_limit_bytes() -> int:
    return settings.DOWNHILL_MAX_UPLOAD_MB * 1024 * 1024


def check_upload_size(size: int | None) -> None:
    if size is not None and size > upload_limit_bytes():
        raise UploadTooLarge(
            f"The upload is {size / 2**20:.1f} MB; the limit is {settings.DOWNHILL_MAX_UPLOAD_MB} MB."
        )


def _text_field(value, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field: "must be text."})
    if "\x00" in value:
        raise ValidationError({field: "must not contain NUL characters."})
    return value.strip()


def dataset_create(*, owner, file: UploadedFile, name: str = "", target: str = "") -> Dataset:
    """Validate an upload (CSV, NPZ or a ZIP of images), store it, and record its schema.

    Raises ValidationError({field: message}); on any error nothing is stored.
    """
    check_upload_size(file.size)
    name, target = _text_field(name, "name"), _text_field(target, "target")
    if not name:  # from the file's name, shortened to fit
        name = os.path.splitext(os.path.basename(file.name or ""))[0][:MAX_NAME_LENGTH] or "dataset"
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError({"name": f"Use at most {MAX_NAME_LENGTH} characters."})

    try:
        intake = read_upload(file)
    except DatasetFileError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    _check_columns(intake)
    target = target or intake.target
    target_column = intake.column(target)
    if target_column is None:
        names = ", ".join(c["name"] for c in intake.columns)
        raise ValidationError({"target": f"No column named '{target}'. The columns are: {names}."})
    if target_column["dtype"] == "image":
        raise ValidationError(
            {
                "target": f"'{target}' holds the images; the target is what they show ('{intake.target}')."
            }
        )

    file.seek(0)
    dataset = Dataset(
        owner=owner,
        name=name,
        format=intake.format,
        delimiter=intake.delimiter,
        size_bytes=intake.size_bytes,
        sha256=intake.sha256,
        status=Dataset.Status.READY,
        n_rows=intake.n_rows,
        columns=intake.columns,
        details=intake.details,
        target=target,
        task=infer_task(target_column, intake.n_rows),
    )
    # Store the files first; if the row cannot be written, remove them again.
    # Stored under a generated name: the uploaded one may be too long or odd for a file system.
    stem = uuid.uuid4().hex
    extension = {"csv": "csv", "npz": "npz", "images": "zip"}[intake.format]
    try:
        dataset.file.save(f"{stem}.{extension}", file, save=False)
        if intake.arrays is not None:
            with tempfile.TemporaryFile() as spool:  # on disk: the images may take gigabytes
                np.savez(spool, **intake.arrays)
                spool.seek(0)
                dataset.arrays.save(f"{stem}.arrays.npz", File(spool), save=False)
        with transaction.atomic():
            dataset.save()
    except Exception:
        for stored in (dataset.file, dataset.arrays):
            if stored:
                stored.delete(save=False)
        raise
    return dataset


def _check_columns(intake: Intake) -> None:
    if len(intake.columns) < 2:
        raise ValidationError(
            {"file": "The file needs at least two columns: one or more features and a target."}
        )
    too_long = [c["name"] for c in intake.columns if len(c["name"]) > MAX_COLUMN_NAME_LENGTH]
    if too_long:
        raise ValidationError(
            {
                "file": f"Line 1: a column name is longer than {MAX_COLUMN_NAME_LENGTH} characters ('{too_long[0][:40]}…')."
            }
        )


class DatasetInUse(Exception):
    """Raised when a dataset still has experiments (their runs must stay readable)."""


def dataset_delete(*, dataset: Dataset) -> None:
    stored = dataset.file
    try:
        with transaction.atomic():
            dataset.delete()
    except ProtectedError as exc:  # the foreign key decides, so a concurrent experiment counts too
        n = dataset.experiments.count()
        raise DatasetInUse(
            f"Dataset {dataset.id} is used by {n} experiment(s); delete those first so their runs stay readable."
        ) from exc
    stored_arrays = dataset.arrays

    def delete_files() -> None:
        stored.delete(save=False)
        if stored_arrays:
            stored_arrays.delete(save=False)

    transaction.on_commit(delete_files)
