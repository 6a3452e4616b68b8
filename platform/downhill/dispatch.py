"""Sending work to the workers: runs and dataset readings, by task name (workers/contract/tasks.py,
so the web never imports the worker's code), after the commit that made them.

A message the broker does not take leaves its row marked unsent (`sent_at` null); the sweep
(Celery beat, workers.tasks.requeue_stale_runs) calls `send_unsent` and sends them once the
broker answers. A duplicate message is harmless on both sides: only a queued run can be
claimed, and only a `processing` dataset is read.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from workers.contract.tasks import (
    DATASETS_QUEUE,
    PROCESS_DATASET_TASK,
    TRAIN_RUN_TASK,
    TRAINING_QUEUE,
)

from .celery import queue_size, send_by_name
from .datasets.models import Dataset
from .runs.models import Run

log = logging.getLogger(__name__)


def send_run(run_id: int) -> bool:
    """Send the run's training by name; returns whether the broker took it (else the run stays
    queued with no `sent_at`, for the sweep)."""
    try:
        send_by_name(TRAIN_RUN_TASK, args=[run_id], queue=TRAINING_QUEUE)
    except Exception:  # noqa: BLE001 (any transport error: the sweep tries again)
        log.warning("could not send run %s to the broker; the sweep will retry", run_id)
        Run.objects.filter(pk=run_id).update(sent_at=None)
        return False
    Run.objects.filter(pk=run_id).update(sent_at=timezone.now())
    return True


def send_dataset(dataset_id: int, *, unsent_only: bool = True) -> bool:
    """Send the reading of a `processing` dataset by name; returns whether the broker took it.
    `sent_at` is stamped first, with one conditional UPDATE, so that of two senders (the upload
    and a sweep, two sweeps) only one sends a dataset not sent yet; `unsent_only=False` sends it
    even if it was. A broker that cannot be reached leaves the dataset `processing` with no
    `sent_at` and its file kept, for the sweep."""
    processing = Dataset.objects.filter(pk=dataset_id, status=Dataset.Status.PROCESSING)
    claimed = processing.filter(sent_at__isnull=True) if unsent_only else processing
    sent_at = timezone.now()
    # A process lost between this stamp and the send leaves it to a datasets worker's start.
    # A new message, taken by no worker yet (receiving.others_waiting).
    if not claimed.update(sent_at=sent_at, read_started_at=None):
        return False  # sent by another, read meanwhile, or deleted
    try:
        send_by_name(PROCESS_DATASET_TASK, args=[dataset_id], queue=DATASETS_QUEUE)
    except Exception:  # noqa: BLE001 (any transport error: the sweep tries again)
        log.warning("could not send dataset %s to the broker; the sweep will retry", dataset_id)
        processing.filter(sent_at=sent_at).update(sent_at=None)
        return False
    return True


def runs_send_unsent() -> list[int]:
    """Send every queued run whose message the broker never took (it was down when the run
    was created or requeued). Returns their ids."""
    unsent = Run.objects.filter(status=Run.Status.QUEUED, sent_at__isnull=True)
    ids = list(unsent.order_by("created_at", "id").values_list("id", flat=True))
    for run_id in ids:
        send_run(run_id)
    return ids


def runs_resend_lost() -> list[int]:
    """Send again the queued runs whose message the broker took but no worker will deliver:
    with none waiting in the training queue, a run still queued a heartbeat timeout after it
    was sent lost its message (a worker took it and failed to claim the run while the database
    was down, or was killed holding it: bench/chaos). A duplicate is harmless, as only a queued
    run can be claimed. Returns their ids."""
    if queue_size(TRAINING_QUEUE) != 0:
        return []
    sent_before = timezone.now() - timedelta(seconds=settings.DOWNHILL_HEARTBEAT_TIMEOUT)
    lost = Run.objects.filter(status=Run.Status.QUEUED, sent_at__lt=sent_before)
    ids = list(lost.order_by("created_at", "id").values_list("id", flat=True))
    for run_id in ids:
        send_run(run_id)
    return ids


def datasets_send_unsent() -> list[int]:
    """Send the reading of every `processing` dataset whose message the broker never took (it
    was down at the upload). Returns the ids sent."""
    return _send_processing(unsent_only=True)


def datasets_resend_processing() -> list[int]:
    """Send again the reading of every dataset still `processing`, sent or not; a worker of the
    datasets queue does this when it starts, since one stopped cold may have taken its message
    along. Returns the ids sent."""
    return _send_processing(unsent_only=False)


def _send_processing(*, unsent_only: bool) -> list[int]:
    datasets = Dataset.objects.filter(status=Dataset.Status.PROCESSING)
    if unsent_only:  # an upload still arriving is sent by its request once whole
        datasets = datasets.filter(sent_at__isnull=True, receiving=False)
    ids = list(datasets.order_by("created_at", "id").values_list("id", flat=True))
    return [d for d in ids if send_dataset(d, unsent_only=unsent_only)]


def send_unsent() -> dict[str, list[int]]:
    """The sweep's share: every run and dataset the broker has not taken yet, sent, and the
    runs whose message was lost after it did, sent again."""
    return {
        "runs": runs_send_unsent(),
        "runs (message lost)": runs_resend_lost(),
        "datasets": datasets_send_unsent(),
    }
