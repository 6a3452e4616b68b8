"""The training task called directly (the by-name enqueue is pinned in tests/experiments)."""

from __future__ import annotations

import threading
import time

import pytest

from downhill.runs.models import MetricPoint, Run
from tests.conftest import iris_rows
from workers.runner import execute_run
from workers.tasks import train_run

# transaction=True: the run's metrics writer is a thread with its own connection, which must
# see the committed run.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queue_run(api, upload, django_capture_on_commit_callbacks):
    """Create an experiment on iris through the API without enqueuing it; returns its body."""
    dataset = upload(iris_rows(), name="iris.csv").json()["id"]

    def _queue(**config) -> dict:
        with django_capture_on_commit_callbacks(execute=False):
            response = api.post(
                "/api/v1/experiments/", {"dataset": dataset, **config}, format="json"
            )
        assert response.status_code == 201, response.content
        return response.json()

    return _queue


def test_task_called_directly_trains_the_run_and_records_every_step(queue_run):
    run_id = queue_run(epochs=3)["run"]
    train_run(run_id)
    run = Run.objects.get(pk=run_id)
    assert run.status == "succeeded", run.error
    assert run.started_at <= run.finished_at
    points = MetricPoint.objects.filter(run=run, name="train_loss").order_by("step")
    assert list(points.values_list("step", flat=True)) == list(range(1, run.steps + 1))
    assert run.steps == 3 * 4
    assert MetricPoint.objects.filter(run=run, name="val_accuracy").count() == 3


def test_task_skips_a_run_cancelled_before_it_started(api, queue_run):
    run_id = queue_run()["run"]
    assert api.post(f"/api/v1/runs/{run_id}/cancel/").json()["status"] == "cancelled"
    train_run(run_id)
    run = Run.objects.get(pk=run_id)
    assert run.status == "cancelled" and run.started_at is None
    assert not MetricPoint.objects.filter(run=run).exists()


def test_a_worker_shutting_down_puts_its_run_back_in_the_queue_to_resume(queue_run):
    from downhill.runs.models import RunEvent

    experiment = queue_run(epochs=50)
    shutdown = threading.Event()
    shutdown.set()
    execute_run(experiment["run"], shutdown=shutdown)
    run = Run.objects.get(pk=experiment["run"])
    assert (run.status, run.attempt, run.lease) == ("queued", 2, "")
    assert run.step < 50 * 4
    (event,) = RunEvent.objects.filter(run=run, type="requeued")
    assert event.details["reason"] == "its worker was stopped"


def test_the_heartbeat_goes_on_while_the_data_loads(queue_run, monkeypatch):
    """Reading a large dataset can outlast the heartbeat timeout: the writer beats meanwhile.
    (The real reader, slowed down: the sleep stands for a large file.)"""
    import workers.runner as runner

    experiment = queue_run(epochs=1)
    beats = []
    real_read = runner.read_table

    def slow_read(dataset):
        first = Run.objects.get(pk=experiment["run"]).heartbeat_at
        time.sleep(2.5)
        beats.append((first, Run.objects.get(pk=experiment["run"]).heartbeat_at))
        return real_read(dataset)

    monkeypatch.setattr(runner, "read_table", slow_read)
    execute_run(experiment["run"])
    ((first, later),) = beats
    assert later > first
    assert Run.objects.get(pk=experiment["run"]).status == "succeeded"
