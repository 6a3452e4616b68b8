"""Writes for datasets."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import ProtectedError, Sum
from django.utils import timezone

from ..dispatch import send_dataset
from .filenames import upload_stem
from .growing import UploadGone, UploadStalled, UploadYielded
from .images import TooManyPixels
from .intake import Intake, read_upload
from .models import Dataset
from .schema import DatasetFileError, infer_task

log = logging.getLogger(__name__)

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


def check_storage_quota(owner, size: int | None) -> None:
    """Refuse an upload that would take its owner past DOWNHILL_MAX_STORED_MB of datasets."""
    limit = settings.DOWNHILL_MAX_STORED_MB * 2**20
    stored = Dataset.objects.filter(owner=owner).aggregate(total=Sum("size_bytes"))["total"] or 0
    if size is not None and stored + size > limit:
        raise UploadTooLarge(
            f"You store {stored / 2**20:,.1f} MB of datasets and this upload is "
            f"{size / 2**20:,.1f} MB; the limit is {settings.DOWNHILL_MAX_STORED_MB:,} MB per "
            f"user (DOWNHILL_MAX_STORED_MB), so {max(0, limit - stored) / 2**20:,.1f} MB are "
            "left. Delete a dataset you no longer need first."
        )


def _text_field(value, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError({field: "must be text."})
    if "\x00" in value:
        raise ValidationError({field: "must not contain NUL characters."})
    return value.strip()


def upload_fields(file_name: str | None, name, target) -> tuple[str, str]:
    """The form's name and target, checked; the name defaults to the file's (shortened to
    fit). Raises ValidationError({field: message})."""
    name, target = _text_field(name, "name"), _text_field(target, "target")
    if not name:
        name = upload_stem(file_name, max_length=MAX_NAME_LENGTH) or "dataset"
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError({"name": f"Use at most {MAX_NAME_LENGTH} characters."})
    return name, target


def inline_ingest_bytes() -> int:
    return settings.DOWNHILL_INLINE_INGEST_MB * 1024 * 1024


def inline_image_pixels() -> int:
    return settings.DOWNHILL_INLINE_IMAGE_MEGAPIXELS * 1_000_000


def dataset_create(*, owner, file: UploadedFile, name: str = "", target: str = "") -> Dataset:
    """Validate an upload (CSV, NPZ or a ZIP of images), store it, and record its schema.

    Up to DOWNHILL_INLINE_INGEST_MB it is read here: the dataset comes back `ready`, or
    ValidationError({field: message}) is raised and nothing is stored. A larger upload is
    stored as it is and comes back `processing`; once the row is committed its reading is sent
    to the broker (or by the sweep, when the broker is down) and the worker reads it
    (`dataset_process`), which ends `ready` or `failed` with the message a 400 would give.
    """
    check_upload_size(file.size)
    check_storage_quota(owner, file.size)
    name, target = upload_fields(file.name, name, target)
    if file.size is not None and file.size > inline_ingest_bytes():
        return _dataset_create_processing(owner=owner, file=file, name=name, target=target)

    try:
        intake, target = _read(file, target, max_image_pixels=inline_image_pixels())
    except TooManyPixels:  # decoding them would hold the request for seconds: the worker does
        file.seek(0)
        return _dataset_create_processing(owner=owner, file=file, name=name, target=target)
    file.seek(0)
    dataset = Dataset(
        owner=owner, name=name, status=Dataset.Status.READY, **_described(intake, target)
    )
    # Store the files first; if the row cannot be written, remove them again.
    # Stored under a generated name: the uploaded one may be too long or odd for a file system.
    stem = uuid.uuid4().hex
    extension = {"csv": "csv", "parquet": "parquet", "npz": "npz", "images": "zip"}[intake.format]
    try:
        dataset.file.save(f"{stem}.{extension}", file, save=False)
        if intake.arrays is not None:
            dataset.arrays = _store_arrays(intake, stem)
        with transaction.atomic():
            dataset.save()
    except Exception:
        for stored in (dataset.file, dataset.arrays):
            if stored:
                stored.delete(save=False)
        raise
    return dataset


def _read(file, target: str, *, max_image_pixels: int | None = None) -> tuple[Intake, str]:
    """Read and check an upload; returns its description and the target column's name.
    Raises ValidationError({field: message}), or TooManyPixels past `max_image_pixels`."""
    intake = _read_file(file, max_image_pixels=max_image_pixels)
    return intake, _target_in(intake, target)


def _read_file(file, *, max_image_pixels: int | None = None) -> Intake:
    try:
        intake = read_upload(file, max_image_pixels=max_image_pixels)
    except DatasetFileError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    _check_columns(intake)
    return intake


def _target_in(intake: Intake, target: str) -> str:
    """The target column's name: `target`, or the reader's default; ValidationError when the
    upload has no such column, or it holds the images."""
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
    return target


def _described(intake: Intake, target: str) -> dict:
    """The dataset's fields that reading its file fills in."""
    return {
        "format": intake.format,
        "delimiter": intake.delimiter,
        "size_bytes": intake.size_bytes,
        "sha256": intake.sha256,
        "n_rows": intake.n_rows,
        "columns": intake.columns,
        "details": intake.details,
        "target": target,
        "task": infer_task(intake.column(target), intake.n_rows),
    }


def _store_arrays(intake: Intake, stem: str) -> str:
    """Store the decoded arrays (images from a ZIP) for the worker; returns their name."""
    field = Dataset._meta.get_field("arrays")
    with tempfile.TemporaryFile() as spool:  # on disk: the images may take gigabytes
        np.savez(spool, **intake.arrays)
        spool.seek(0)
        name = field.generate_filename(None, f"{stem}.arrays.npz")
        return field.storage.save(name, File(spool), max_length=field.max_length)


# ---- Large uploads: read by the worker ----

# The reader tells an NPZ from a ZIP of images by these extensions (and a CSV by neither), so a
# stored upload keeps its own: the worker then reads it exactly as the request would have.
KEPT_EXTENSIONS = (".csv", ".tsv", ".txt", ".parquet", ".npz", ".zip")


def processing_dataset(*, owner, file_name: str | None, size: int | None, **fields) -> Dataset:
    """An unsaved `processing` dataset for an upload the worker will read, its format guessed
    from the file's extension until it is read, and the name its stored file will have."""
    extension = os.path.splitext(file_name or "")[1].lower()
    extension = extension if extension in KEPT_EXTENSIONS else ""
    dataset = Dataset(
        owner=owner,
        format={".parquet": "parquet", ".npz": "npz", ".zip": "images"}.get(extension, "csv"),
        size_bytes=size,
        status=Dataset.Status.PROCESSING,
        **fields,
    )
    dataset.file.name = dataset.file.field.generate_filename(
        dataset, f"{uuid.uuid4().hex}{extension}"
    )
    return dataset


def _dataset_create_processing(*, owner, file: UploadedFile, name: str, target: str) -> Dataset:
    # target: "" for the reader's default
    dataset = processing_dataset(
        owner=owner, file_name=file.name, size=file.size, name=name, target=target
    )
    try:
        # Django spooled the body to a temporary file as it arrived; storing it moves that file.
        dataset.file.save(os.path.basename(dataset.file.name), file, save=False)
        with transaction.atomic():
            dataset.save()
            transaction.on_commit(lambda: send_dataset(dataset.id))
    except Exception:
        if dataset.file:
            dataset.file.delete(save=False)
        raise
    return dataset


# Which statuses each status may be entered from: an upload is read once, to ready or failed.
ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    Dataset.Status.READY: (Dataset.Status.PROCESSING,),
    Dataset.Status.FAILED: (Dataset.Status.PROCESSING,),
}


def dataset_transition(dataset_id: int, to: str, **fields) -> bool:
    """Move a dataset to `to` if its status allows it; one conditional UPDATE, so a reading
    delivered twice (or a delete meanwhile) changes it at most once. Returns whether it did."""
    rows = Dataset.objects.filter(pk=dataset_id, status__in=ALLOWED_FROM[to])
    return bool(rows.update(status=to, **fields))


def dataset_process(dataset_id: int) -> None:
    """Read a stored upload that is `processing` (the worker's task): it becomes `ready` with
    its schema, or `failed` with the message its 400 would have given, and its file is
    removed. A dataset already ready or failed, or deleted meanwhile, is left alone, so a
    redelivered message does nothing. It is marked as being read first (read_started_at):
    other readers do not let go of their uploads for it (receiving.others_waiting)."""
    processing = Dataset.objects.filter(pk=dataset_id, status=Dataset.Status.PROCESSING)
    processing.update(read_started_at=timezone.now())
    dataset = processing.first()
    if dataset is None:
        return
    try:
        with _open_stored(dataset) as stored:
            intake = _read_file(stored)
        target = _target_in(intake, _form_target(dataset))
    except UploadGone:  # deleted, or failed, while it arrived
        return
    except UploadYielded:  # another upload waits for this worker: this one is read when whole
        from .receiving import reading_yielded

        reading_yielded(dataset_id)
        return
    except (ValidationError, UploadStalled) as exc:
        dataset_fail(dataset_id, _message(exc) if isinstance(exc, ValidationError) else str(exc))
        return
    except Exception as exc:  # never leave it processing: say what happened
        log.exception("could not read dataset %s", dataset_id)
        dataset_fail(
            dataset_id, f"The file could not be read ({exc.__class__.__name__}); upload it again."
        )
        return

    stem = os.path.splitext(os.path.basename(dataset.file.name))[0]
    arrays = ""
    try:
        arrays = _store_arrays(intake, stem) if intake.arrays is not None else ""
        finished = dataset_transition(
            dataset_id, Dataset.Status.READY, error="", arrays=arrays, **_described(intake, target)
        )
    except Exception as exc:  # storage full or away, the database gone: not left processing
        log.exception("could not store what was read of dataset %s", dataset_id)
        finished = False
        dataset_fail(
            dataset_id,
            f"The file was read but could not be stored ({exc.__class__.__name__}); upload it again.",
        )
    if not finished and arrays:  # deleted while it was read, or failed after storing
        default_storage.delete(arrays)


def _form_target(dataset: Dataset) -> str:
    """The target the upload's form asked for: an upload read as it arrived has it only once
    its last byte is in (receiving.dataset_received), after the worker loaded the row."""
    if not dataset.receiving:
        return dataset.target
    return Dataset.objects.filter(pk=dataset.id).values_list("target", flat=True).first() or ""


def _open_stored(dataset: Dataset) -> File:
    """The dataset's stored upload, read as it arrives while it does (receiving.py)."""
    if not dataset.receiving:
        return default_storage.open(dataset.file.name, "rb")
    from .receiving import open_arriving  # it creates datasets with this module's help

    return File(open_arriving(dataset), name=dataset.file.name)


def _message(exc: ValidationError) -> str:
    """A ValidationError as one line, as the dashboard shows a 400 (the file's problem bare)."""
    return " ".join(
        message if field == "file" else f"{field}: {message}"
        for field, messages in exc.message_dict.items()
        for message in messages
    )


def dataset_fail(dataset_id: int, message: str) -> None:
    """`processing` -> `failed` with `message`; the stored upload is removed (nothing else was
    stored for it)."""
    rows = Dataset.objects.filter(pk=dataset_id, status=Dataset.Status.PROCESSING)
    stored = rows.values_list("file", flat=True).first()
    if dataset_transition(dataset_id, Dataset.Status.FAILED, error=message, file="") and stored:
        default_storage.delete(stored)


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
    """Delete a dataset no experiment uses; its files go after the commit (cleanup.py).
    Raises DatasetInUse."""
    try:
        with transaction.atomic():
            dataset.delete()
    except ProtectedError as exc:  # the foreign key decides, so a concurrent experiment counts too
        n = dataset.experiments.count()
        raise DatasetInUse(
            f"Dataset {dataset.id} is used by {n} experiment(s); delete those first so their runs stay readable."
        ) from exc
