"""Celery at the two lower levels: the task called directly, and the by-name enqueue."""

from __future__ import annotations

import pytest

from downhill.runs.models import MetricPoint, Run
from tests.conftest import iris_rows
from workers.contract import TRAIN_RUN_TASK, TRAINING_QUEUE
from workers.tasks import train_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def iris_dataset(upload):
    response = upload(iris_rows(), name="iris.csv")
    assert response.status_code == 201
    return response.json()


def test_experiment_enqueues_its_run_by_task_name_after_commit(
    api, iris_dataset, monkeypatch, django_capture_on_commit_callbacks
):
    from downhill.celery import app

    sent = []
    monkeypatch.setattr(
        app, "send_task", lambda name, args, queue, **kw: sent.append((name, args, queue))
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.post("/api/v1/experiments/", {"dataset": iris_dataset["id"]}, format="json")
    assert response.status_code == 201
    assert sent == []  # nothing leaves before the commit
    for callback in callbacks:
        callback()
    assert sent == [(TRAIN_RUN_TASK, [response.json()["run"]], TRAINING_QUEUE)]


def test_unreachable_broker_fails_the_run_with_a_message(
    api, iris_dataset, monkeypatch, django_capture_on_commit_callbacks
):
    from downhill.celery import app

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(app, "send_task", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/experiments/", {"dataset": iris_dataset["id"]}, format="json")
    run = Run.objects.get(pk=response.json()["run"])
    assert run.status == "failed" and "broker" in run.error


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
