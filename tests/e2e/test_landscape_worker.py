"""A run's loss landscape through a live server and a real Celery worker: the worker trains
the run (keeping its initial weights and snapshots), the API shows the landscape's cost and
queues it on the training queue, and the worker computes it to grids with the trajectory."""

from __future__ import annotations

import time

import pytest

from tests.conftest import iris_rows
from tests.e2e.conftest import finished

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def wait_for(client_api, landscape_id, timeout=90.0):
    deadline = time.monotonic() + timeout
    while True:
        landscape = client_api.get(f"/lab/landscapes/{landscape_id}/").json()
        if landscape["status"] not in ("queued", "running"):
            return landscape
        assert time.monotonic() < deadline, f"landscape {landscape_id} never ended: {landscape}"
        time.sleep(0.2)


def test_a_landscape_of_a_run_trained_by_the_worker_is_computed_by_the_worker(client_api):
    dataset = client_api.upload(iris_rows(), name="iris.csv", target="species")
    run_id = client_api.experiment(dataset=dataset["id"], epochs=5, batch_size=16)["run"]
    run = client_api.wait_for(run_id, finished)
    assert run["status"] == "succeeded", run["error"]

    body = {"run": run_id, "grid": 9}
    estimate = client_api.post("/lab/landscapes/estimate/", json=body).json()
    assert estimate["cost"]["forward_passes"] == 9 * 9 * 2
    created = client_api.post("/lab/landscapes/", json=body)
    assert created.status_code == 201, created.text
    done = wait_for(client_api, created.json()["id"])
    assert done["status"] == "succeeded", done["error"]
    result = done["result"]
    assert result["forward_passes"] == estimate["cost"]["forward_passes"]
    assert len(result["train"]) == len(result["validation"]) == 9
    assert len(result["trajectory"]["x"]) == 6  # the initial weights and 5 epochs
    line = client_api.post("/lab/landscapes/", json={"run": run_id, "kind": "line", "grid": 11})
    done = wait_for(client_api, line.json()["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["result"]["train"][-1] is not None and len(done["result"]["alphas"]) == 11
