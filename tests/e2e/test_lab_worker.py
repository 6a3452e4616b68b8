"""The LR range test through a live server and a real Celery worker: the API queues it on the
training queue, the worker runs it, and the series and the suggestions arrive."""

from __future__ import annotations

import time

import pytest

from tests.conftest import diabetes_rows

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def wait_for(client_api, test_id, predicate, timeout=90.0):
    deadline = time.monotonic() + timeout
    while True:
        test = client_api.get(f"/lab/range-tests/{test_id}/").json()
        if predicate(test):
            return test
        assert time.monotonic() < deadline, f"range test {test_id} never got there: {test}"
        time.sleep(0.2)


def test_range_test_runs_on_the_worker(client_api):
    dataset = client_api.upload(diabetes_rows(), name="diabetes.csv", target="progression")
    experiment = client_api.experiment(dataset=dataset["id"], batch_size=32, epochs=2)
    body = {"experiment": experiment["id"], "start_lr": 1e-6, "end_lr": 10.0, "steps": 80}
    created = client_api.post("/lab/range-tests/", json=body)
    assert created.status_code == 201, created.text
    done = wait_for(
        client_api, created.json()["id"], lambda t: t["status"] not in ("queued", "running")
    )
    assert done["status"] == "succeeded", done["error"]
    assert len(done["series"]["lr"]) == len(done["series"]["smoothed"]) > 10
    assert done["suggestions"]["valley"] > 0
