"""A training worker loads torch and the engine when it starts, not at its first run."""

from __future__ import annotations

import time

import pytest

from tests.conftest import WorkerProcess
from workers.contract.tasks import DATASETS_QUEUE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def started_worker(tmp_path, media_root, queues: str) -> str:
    """The log of a worker of `queues`, once it says it is warm (or after a minute)."""
    worker = WorkerProcess(tmp_path / f"{queues}.log", media_root=media_root, queues=queues)
    try:
        deadline = time.monotonic() + 60
        while "worker warm" not in worker.tail() and time.monotonic() < deadline:
            time.sleep(0.2)
        return worker.log_path.read_text()
    finally:
        worker.stop()


def test_a_training_worker_takes_a_step_of_torch_before_its_first_run(tmp_path, shared_media_root):
    log = started_worker(tmp_path, shared_media_root, "training")

    assert "worker warm: torch and the engine loaded on cpu" in log, log


def test_a_datasets_worker_does_not_load_torch(tmp_path, shared_media_root):
    worker = WorkerProcess(
        tmp_path / "datasets.log", media_root=shared_media_root, queues=DATASETS_QUEUE
    )
    time.sleep(2)
    worker.stop()

    assert "worker warm" not in worker.log_path.read_text()
