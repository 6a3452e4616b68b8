"""The training task called directly (the by-name enqueue is pinned in tests/experiments)."""

from __future__ import annotations

import pytest

from downhill.runs.models import MetricPoint, Run
from tests.conftest import iris_rows
from workers.tasks import train_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def iris_dataset(upload):
    response = upload(iris_rows(), name="iris.csv")
    assert response.status_code == 201
    return response.json()


def test_task_called_directly_trains_the_run_and_records_every_step(
    api, iris_dataset, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(
            "/api/v1/experiments/", {"dataset": iris_dataset["id"], "epochs": 3}, format="json"
        )
    run_id = response.json()["run"]
    train_run(run_id)
    run = Run.objects.get(pk=run_id)
    assert run.status == "succeeded", run.error
    assert run.started_at <= run.finished_at
    steps = list(
        MetricPoint.objects.filter(run=run, name="train_loss")
        .order_by("step")
        .values_list("step", flat=True)
    )
    assert steps == list(range(1, run.steps + 1)) and run.steps == 3 * 4
    assert MetricPoint.objects.filter(run=run, name="val_accuracy").count() == 3


def test_task_skips_a_run_cancelled_before_it_started(
    api, iris_dataset, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        response = api.post("/api/v1/experiments/", {"dataset": iris_dataset["id"]}, format="json")
    run_id = response.json()["run"]
    assert api.post(f"/api/v1/runs/{run_id}/cancel/").json()["status"] == "cancelled"
    train_run(run_id)
    run = Run.objects.get(pk=run_id)
    assert run.status == "cancelled" and run.started_at is None
    assert not MetricPoint.objects.filter(run=run).exists()


def test_a_worker_shutting_down_ends_its_run_as_failed_saying_so(
    api, iris_dataset, django_capture_on_commit_callbacks
):
    import threading

    from workers.runner import execute_run

    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(
            "/api/v1/experiments/", {"dataset": iris_dataset["id"], "epochs": 50}, format="json"
        )
    experiment_id = response.json()["id"]
    shutdown = threading.Event()
    shutdown.set()
    execute_run(response.json()["run"], shutdown=shutdown)
    run = Run.objects.get(pk=response.json()["run"])
    assert run.status == "failed"
    assert (
        "worker was stopped" in run.error
        and f"/api/v1/experiments/{experiment_id}/runs/" in run.error
    )
    assert run.step < 50 * 4
