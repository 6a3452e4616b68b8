"""Which reader an upload goes to, and what every reader hands back.

A file that starts like a ZIP is an archive: an `.npz` (NumPy arrays, as np.savez writes
them) or a `.zip` of images in one folder per class; without either extension, an archive
holding only `.npy` members is an NPZ. A file that starts like Parquet (`PAR1`), or is named
`.parquet`, is read as Parquet. Anything else is read as a CSV.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import numpy as np
from django.core.files.uploadedfile import UploadedFile

from .archive import ArchiveLimits, SafeArchive
from .schema import DatasetFileError, read_csv_schema

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a first member, or an empty archive
NPY_MAGIC = b"\x93NUMPY"
PARQUET_MAGIC = b"PAR1"


@dataclass
class Intake:
    format: str  # "csv" | "parquet" | "npz" | "images"
    n_rows: int
    columns: list[dict]
    target: str  # the default target column
    size_bytes: int = 0
    sha256: str = ""
    delimiter: str = ","
    details: dict = field(default_factory=dict)
    # Decoded arrays to store next to the upload for the worker (images from a ZIP), or None.
    arrays: dict[str, np.ndarray] | None = None

    def column(self, name: str) -> dict | None:
        return next((c for c in self.columns if c["name"] == name), None)


def _fingerprint(file: UploadedFile) -> tuple[int, str]:
    """The file's size and SHA-256, read once before its reader seeks about in it."""
    sha, size = hashlib.sha256(), 0
    file.seek(0)
    for chunk in file.chunks():
        sha.update(chunk)
        size += len(chunk)
    file.seek(0)
    return size, sha.hexdigest()


def read_upload(file: UploadedFile, *, max_image_pixels: int | None = None) -> Intake:
    """Validate an upload and describe it. Raises DatasetFileError naming the problem, or
    images.TooManyPixels past `max_image_pixels` (a ZIP of images)."""
    file.seek(0)
    head = file.read(8)
    file.seek(0)
    extension = os.path.splitext(file.name or "")[1].lower()
    if head.startswith(NPY_MAGIC):
        raise DatasetFileError(
            "The file is a single .npy array; upload an .npz holding the features and the "
            "target: np.savez('data.npz', X=X, y=y)."
        )
    if head.startswith(PARQUET_MAGIC) or extension == ".parquet":
        return _read_parquet(file, head)
    if not head.startswith(ZIP_MAGIC):
        if extension in (".npz", ".zip"):
            kind = "NPZ file" if extension == ".npz" else "ZIP archive"
            raise DatasetFileError(f"The file is not a valid {kind}: it does not start like one.")
        schema = read_csv_schema(file)
        return Intake(
            format="csv",
            n_rows=schema.n_rows,
            columns=schema.columns,
            target=schema.columns[-1]["name"],
            size_bytes=schema.size_bytes,
            sha256=schema.sha256,
            delimiter=schema.delimiter,
        )

    from .images import read_image_folders  # both build Intakes: imported here, not in a cycle
    from .npz import read_npz

    size, sha256 = _fingerprint(file)
    limits = ArchiveLimits.from_settings()
    npz = extension == ".npz"
    with SafeArchive(file, limits, kind="NPZ file" if npz else "ZIP archive") as archive:
        if extension not in (".npz", ".zip") and archive.members:
            npz = all(m.filename.endswith(".npy") for m in archive.members)
        if npz:
            intake = read_npz(archive)
        else:
            intake = read_image_folders(archive, max_pixels=max_image_pixels)
    intake.size_bytes, intake.sha256 = size, sha256
    return intake


def _read_parquet(file: UploadedFile, head: bytes) -> Intake:
    if not head.startswith(PARQUET_MAGIC):
        raise DatasetFileError("The file is not a valid Parquet file: it does not start like one.")
    from .parquet import read_parquet_schema  # pyarrow: loaded by the first read, not at start

    size, sha256 = _fingerprint(file)
    schema = read_parquet_schema(file, size, sha256)
    return Intake(
        format="parquet",
        n_rows=schema.n_rows,
        columns=schema.columns,
        target=schema.columns[-1]["name"],
        size_bytes=size,
        sha256=sha256,
    )
