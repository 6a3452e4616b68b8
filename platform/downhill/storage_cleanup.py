"""Removing stored files once the rows that name them are gone, locally or in the bucket:
after the commit (a rolled-back delete keeps them), and never failing the delete itself (a
file that cannot be removed now is logged)."""

from __future__ import annotations

import logging
import os

from django.core.files.storage import FileSystemStorage, default_storage
from django.db import transaction

log = logging.getLogger(__name__)


def delete_after_commit(*names: str) -> None:
    names = tuple(n for n in names if n)
    if names:
        transaction.on_commit(lambda: delete_files(names))


def delete_folder_after_commit(folder: str) -> None:
    transaction.on_commit(lambda: delete_folder(folder))


def delete_files(names) -> None:
    for name in names:
        try:
            default_storage.delete(name)
        except Exception:  # noqa: BLE001 (storage away: say so, the row is gone either way)
            log.exception("could not delete stored file %s", name)


def delete_folder(folder: str) -> None:
    """Every file under `folder` (a run's runs/<id>), then the folder itself on a local disk
    (a bucket has no folders)."""
    try:
        dirs, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    delete_files(f"{folder}/{name}" for name in files)
    for sub in dirs:
        delete_folder(f"{folder}/{sub}")
    if isinstance(default_storage, FileSystemStorage):
        try:
            os.rmdir(default_storage.path(folder))
        except OSError:  # something was written meanwhile: leave the folder
            log.warning("could not remove folder %s", folder)
