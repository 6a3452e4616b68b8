"""A large upload read while it arrives: its dataset is created at the upload's first byte and
sent to the datasets worker, which reads the stored file as the request writes it
(growing.py), so that a dataset is ready about when its last byte is in, not a whole read
later.

StreamedUpload is the request's first upload handler (DatasetViewSet) when the body is over
DOWNHILL_INLINE_INGEST_MB and uploads are stored on this file system (an object store cannot
be read before it is whole: there a large upload is stored first and read after, as before).
It takes the form's first `file` field, if its owner is known and within their quota, and
writes it straight to the dataset's stored file; anything else goes on to Django's handlers
and the usual path, which then says what is wrong. The form's other fields (name, target) may
come after the file: `dataset_received` applies them once the file is whole; a request that
ends without that (an error, a lost client) takes the dataset and its file away again
(`dataset_abandon`), and a worker left waiting sees the dataset gone.

An upload over a slow link would hold the datasets worker for as long as it arrives: once the
worker has caught up with it and another upload waits for a worker (`others_waiting`), it
stops (`reading_yielded`) and the upload is sent again once whole (`dataset_received`). Should
its request die without a word meanwhile (the web process killed), the sweep fails it once no
byte arrived for DOWNHILL_UPLOAD_STALL_SECONDS (`uploads_fail_stalled`), as a reading worker
would.
"""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.db import transaction

from ..dispatch import send_dataset
from .growing import GrowingFile, UploadGone, stalled_message
from .models import Dataset
from .services import (
    UploadTooLarge,
    check_storage_quota,
    dataset_fail,
    inline_ingest_bytes,
    processing_dataset,
    upload_fields,
    upload_limit_bytes,
)


class ReceivedUpload(UploadedFile):
    """The request's `file` once StreamedUpload stored it: the dataset that holds it."""

    def __init__(self, dataset_id: int, name: str, size: int):
        super().__init__(file=None, name=name, size=size)
        self.dataset_id = dataset_id


def streams(request) -> bool:
    """Whether a request's upload is stored (and read) as it arrives."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    return (
        isinstance(default_storage, FileSystemStorage)
        and inline_ingest_bytes() < length <= upload_limit_bytes()
    )


class StreamedUpload(FileUploadHandler):
    """`owner()` says who uploads, or None when nobody is signed in (asked at the file's first
    byte: the CSRF check of a session may read the form before the view runs)."""

    # Django's parser (a session's upload) reads the body in pieces this large, not 64 KiB; a
    # read waits for the whole piece, so the worker is at most this far behind.
    chunk_size = 1024 * 1024

    def __init__(self, request, owner):
        super().__init__(request)
        self.owner = owner
        self.dataset: Dataset | None = None
        self.out = None
        # The file's size until it is whole (a bound): the body's.
        self.body_length = int(request.META.get("CONTENT_LENGTH") or 0)
        self.taken = False  # whether the file being read now is the one stored here
        self.received = 0

    def will_take(self) -> bool:
        """Whether the form's `file` would be stored here: its owner is known and within
        their quota (else Django's handlers store it, and dataset_create says what is wrong)."""
        owner = self.owner()
        if owner is None or self.dataset is not None:
            return False
        try:
            check_storage_quota(owner, self.body_length)
        except UploadTooLarge:
            return False
        return True

    def new_file(self, field_name, file_name, *args, **kwargs) -> None:
        super().new_file(field_name, file_name, *args, **kwargs)
        self.taken = field_name == "file" and self.will_take()
        if self.taken:
            self.start(file_name)
            raise StopFutureHandlers

    def start(self, file_name: str) -> None:
        """Create the dataset, its file and its message: the upload's first byte is here."""
        self.file_name = file_name
        self.dataset = dataset_receive(
            owner=self.owner(), file_name=file_name, size=self.body_length
        )
        self.out = open(default_storage.path(self.dataset.file.name), "ab")  # noqa: SIM115
        self.taken, self.received = True, 0

    def write(self, data: bytes) -> None:
        self.out.write(data)
        self.received += len(data)

    def finish(self) -> ReceivedUpload:
        return self.file_complete(self.received)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if not self.taken:
            return raw_data
        self.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> ReceivedUpload | None:
        if not self.taken:
            return None
        self.taken = False
        self.out.close()
        return ReceivedUpload(self.dataset.id, self.file_name, file_size)

    def upload_interrupted(self) -> None:
        if self.out is not None:
            self.out.close()

    def abandon(self) -> None:
        """The request ended without a dataset from this upload: remove what was stored."""
        self.upload_interrupted()
        if self.dataset is not None:
            dataset_abandon(self.dataset.id)


def dataset_receive(*, owner, file_name: str, size: int) -> Dataset:
    """A `processing` dataset whose upload is arriving, with its stored file created empty,
    sent to the worker at once."""
    name = upload_fields(file_name, "", "")[0]  # until the form's own fields are read
    dataset = processing_dataset(
        owner=owner, file_name=file_name, size=size, receiving=True, name=name, target=""
    )
    path = default_storage.path(dataset.file.name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "xb").close()  # noqa: SIM115 (a new, generated name: never an upload's)
    try:
        with transaction.atomic():
            dataset.save()
            transaction.on_commit(lambda: send_dataset(dataset.id))
    except Exception:
        os.remove(path)
        raise
    return dataset


def dataset_received(*, upload: ReceivedUpload, name, target) -> Dataset:
    """The upload is whole: its dataset takes the form's name and target and its size, and
    the worker reads on to the end. Raises ValidationError (the dataset then goes, as for
    any failed request), also when the dataset was deleted meanwhile."""
    name, target = upload_fields(upload.name, name, target)
    # Whatever the worker did meanwhile (it may have failed it), the request's fields count.
    updated = Dataset.objects.filter(pk=upload.dataset_id).update(
        receiving=False, name=name, target=target, size_bytes=upload.size
    )
    if not updated:
        raise ValidationError({"file": "The dataset was deleted while its file arrived."})
    # Sent only if the worker let it go (reading_yielded) or never got it (a broker away).
    transaction.on_commit(lambda: send_dataset(upload.dataset_id))
    return Dataset.objects.get(pk=upload.dataset_id)


def dataset_abandon(dataset_id: int) -> None:
    """Delete a dataset whose upload never became whole; its file goes after the commit."""
    Dataset.objects.filter(pk=dataset_id).delete()


def still_arriving(dataset_id: int) -> bool:
    """Whether the dataset's upload still arrives; UploadGone once it was deleted or failed."""
    row = Dataset.objects.filter(pk=dataset_id).values_list("status", "receiving").first()
    if row is None or row[0] != Dataset.Status.PROCESSING:
        raise UploadGone
    return row[1]


def others_waiting(dataset_id: int) -> bool:
    """Whether another dataset's reading was sent and no worker has begun it: it waits for a
    datasets worker. (One that another worker reads is no reason to let go: with several
    workers, each would let go of its own slow upload for another's.)"""
    waiting = Dataset.objects.filter(
        status=Dataset.Status.PROCESSING, sent_at__isnull=False, read_started_at__isnull=True
    )
    return waiting.exclude(pk=dataset_id).exists()


def open_arriving(dataset: Dataset) -> GrowingFile:
    """The stored file of a dataset whose upload arrives, read as it does."""
    return GrowingFile(
        default_storage.path(dataset.file.name),
        lambda: still_arriving(dataset.id),
        stall_seconds=settings.DOWNHILL_UPLOAD_STALL_SECONDS,
        should_yield=lambda: others_waiting(dataset.id),
    )


def reading_yielded(dataset_id: int) -> None:
    """The worker let go of an upload still arriving: it is marked unsent, for its request to
    send once the file is whole; sent now if that happened meanwhile (each of the two sends
    only what is marked unsent, and marks it sent: one of them sends)."""
    processing = Dataset.objects.filter(pk=dataset_id, status=Dataset.Status.PROCESSING)
    processing.update(sent_at=None, read_started_at=None)
    if processing.filter(receiving=False).exists():
        send_dataset(dataset_id)


def uploads_fail_stalled() -> list[int]:
    """Fail the uploads that no worker reads (it let go of them) and whose stored file has not
    grown for DOWNHILL_UPLOAD_STALL_SECONDS: their request died. Returns their ids."""
    stall = settings.DOWNHILL_UPLOAD_STALL_SECONDS
    arriving = Dataset.objects.filter(
        status=Dataset.Status.PROCESSING, receiving=True, sent_at__isnull=True
    )
    failed = []
    for dataset_id, name in arriving.values_list("id", "file"):
        try:
            still = time.time() - os.stat(default_storage.path(name)).st_mtime
        except FileNotFoundError:
            still = stall  # its file is gone: nothing more will arrive
        if still >= stall:
            dataset_fail(dataset_id, stalled_message(stall))
            failed.append(dataset_id)
    return failed
