"""A worker yields the CPU to the web server it shares a machine with (bench/load): it runs
DOWNHILL_WORKER_NICE nicer, and a training worker uses at most DOWNHILL_TORCH_THREADS threads."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import WorkerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def niceness(pid: int) -> int:
    return int(subprocess.run(["ps", "-o", "ni=", "-p", str(pid)], capture_output=True,
                              text=True, check=True).stdout)  # fmt: skip


def started(tmp_path, shared_media_root, django_db_blocker, name: str, **env) -> WorkerProcess:
    with django_db_blocker.unblock():
        worker = WorkerProcess(tmp_path / f"{name}.log", media_root=shared_media_root, **env)
    deadline = time.monotonic() + 60
    while "torch threads" not in worker.tail() and time.monotonic() < deadline:
        time.sleep(0.2)
    return worker


def test_a_training_worker_runs_nicer_than_the_web_with_its_torch_threads_bounded(
    tmp_path, shared_media_root, django_db_blocker
):
    worker = started(tmp_path, shared_media_root, django_db_blocker, "nice",
                     DOWNHILL_WORKER_NICE="7", DOWNHILL_TORCH_THREADS="1")  # fmt: skip
    try:
        assert niceness(worker.process.pid) == os.nice(0) + 7
        assert f"worker at niceness {os.nice(0) + 7}, 1 torch threads" in worker.tail()
        # It leads a session of its own, as under `make run`: with autogroups, the session's
        # priority is what counts against the web's.
        autogroup = Path(f"/proc/{worker.process.pid}/autogroup")
        if autogroup.exists():
            assert autogroup.read_text().split()[-1] == "7"
    finally:
        worker.stop()


def test_a_worker_nice_of_zero_leaves_its_priority_as_the_web_s(
    tmp_path, shared_media_root, django_db_blocker
):
    worker = started(tmp_path, shared_media_root, django_db_blocker, "equal",
                     DOWNHILL_WORKER_NICE="0", DOWNHILL_TORCH_THREADS="2")  # fmt: skip
    try:
        assert niceness(worker.process.pid) == os.nice(0)
        assert f"worker at niceness {os.nice(0)}, 2 torch threads" in worker.tail()
    finally:
        worker.stop()
