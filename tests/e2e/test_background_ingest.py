"""A large upload on real components: the live server stores it `processing`, a real worker
process on the `datasets` queue reads it, and the dataset trains once it is ready."""

from __future__ import annotations

import contextlib
import time

import pytest

from tests.conftest import WorkerProcess, iris_rows, purge_queue
from tests.e2e.conftest import finished
from workers.contract.tasks import DATASETS_QUEUE

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@contextlib.contextmanager
def datasets_worker(log_path, media_root, **env: str):
    """A second worker process, as `make run` starts one: the datasets queue only."""
    worker = WorkerProcess(log_path, media_root=media_root, queues=DATASETS_QUEUE, **env)
    try:
        yield worker
    finally:
        worker.stop()
        print(f"\n--- datasets worker log ---\n{worker.tail()}")


def wait_until_read(api, dataset_id: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        dataset = api.get(f"/datasets/{dataset_id}/").json()
        if dataset["status"] != "processing":
            return dataset
        assert time.monotonic() < deadline, f"dataset {dataset_id} is still processing"
        time.sleep(0.2)


def test_a_large_upload_is_read_by_the_datasets_worker_and_then_trains(
    client_api, settings, tmp_path, shared_media_root
):
    settings.DOWNHILL_INLINE_INGEST_MB = 0  # every upload is "large"
    purge_queue(DATASETS_QUEUE)  # messages of an earlier session
    with datasets_worker(tmp_path / "datasets.log", shared_media_root):
        uploaded = client_api.upload(iris_rows(), name="iris.csv")
        ragged = client_api.upload([["a", "b"], [1, 2], [3, 4, 5]], name="ragged.csv")
        assert uploaded["status"] == ragged["status"] == "processing"

        dataset = wait_until_read(client_api, uploaded["id"])
        failed = wait_until_read(client_api, ragged["id"])
    assert dataset["status"] == "ready", dataset["error"]
    assert dataset["n_rows"] == 150 and len(dataset["columns"]) == 5
    assert dataset["target"] == "species" and dataset["task"] == "classification"
    assert failed["status"] == "failed"
    assert failed["error"] == "Line 3: expected 2 fields like the header, found 3."

    experiment = client_api.experiment(dataset=dataset["id"], epochs=2, seed=1)
    run = client_api.wait_for(experiment["run"], finished)
    assert run["status"] == "succeeded", run["error"]


def test_an_upload_whose_message_was_lost_is_read_when_a_datasets_worker_starts(
    client_api, settings, tmp_path, shared_media_root
):
    settings.DOWNHILL_INLINE_INGEST_MB = 0
    uploaded = client_api.upload(iris_rows(), name="iris.csv")
    purge_queue(DATASETS_QUEUE)  # as if a worker stopped cold had taken its message along

    with datasets_worker(tmp_path / "datasets.log", shared_media_root) as worker:
        dataset = wait_until_read(client_api, uploaded["id"])
    assert dataset["status"] == "ready", dataset["error"]
    assert f"reading again the datasets left processing: [{uploaded['id']}]" in worker.tail()
