"""The training task called directly (the by-name enqueue is pinned in tests/experiments)."""

from __future__ import annotations

import threading
import time

import pytest

from downhill.runs.metric_chunks import points_count, series_points
from downhill.runs.models import Run
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
    assert series_points(run.id, "train_loss").steps.tolist() == list(range(1, run.steps + 1))
    assert run.steps == 3 * 4
    assert points_count(run.id, "val_accuracy") == 3


def test_task_skips_a_run_cancelled_before_it_started(api, queue_run):
    run_id = queue_run()["run"]
    assert api.post(f"/api/v1/runs/{run_id}/cancel/").json()["status"] == "cancelled"
    train_run(run_id)
    run = Run.objects.get(pk=run_id)
    assert run.status == "cancelled" and run.started_at is None
    assert points_count(run.id) == 0


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


def series(run_id: int, name: str) -> list[tuple[int, float]]:
    points = series_points(run_id, name)
    return list(zip(points.steps.tolist(), points.values.tolist(), strict=True))


def test_a_cancelled_run_stops_at_a_checkpoint_and_resumes_as_if_never_stopped(
    api, queue_run, django_capture_on_commit_callbacks
):
    config = {"epochs": 6, "optimizer": "adam", "swa": {"start_epoch": 1, "lr": 0.001}, "seed": 7}
    whole = queue_run(**config)["run"]
    train_run(whole)
    cancelled = queue_run(**config)["run"]
    # The cancel arrives as the run starts: the worker sees it at its first write and stops
    # at the end of the first epoch's steps (iris: 4 steps of 32), before validating it.
    Run.objects.filter(pk=cancelled).update(cancel_requested=True)
    train_run(cancelled)
    run = Run.objects.get(pk=cancelled)
    assert (run.status, run.step) == ("cancelled", 4), run.error
    assert [step for step, _ in series(cancelled, "train_loss")] == [1, 2, 3, 4]

    with django_capture_on_commit_callbacks(execute=False):
        response = api.post(f"/api/v1/runs/{cancelled}/resume/")
    assert response.status_code == 201, response.content
    resumed = response.json()["id"]
    train_run(resumed)

    run = Run.objects.get(pk=resumed)
    assert run.status == "succeeded", run.error
    assert run.steps == 6 * 4
    for name in ("train_loss", "lr", "val_loss", "val_accuracy"):
        assert series(resumed, name) == series(whole, name), name
    types = list(run.events.values_list("type", flat=True))
    assert types.count("resumed_from") == 1 and types.count("resumed") == 1
    # The cancelled run ended too (its SWA model final at step 4): the resumed one carries on,
    # with the events of the uninterrupted run and no such end in its middle.
    assert Run.objects.get(pk=cancelled).events.filter(type="swa_final", step=4).exists()

    def events(run_id):
        rows = Run.objects.get(pk=run_id).events.exclude(type__in=("resumed", "resumed_from"))
        return list(rows.values_list("type", "step"))

    assert events(resumed) == events(whole)


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


def test_an_attempt_that_lost_its_lease_leaves_the_checkpoints_alone(queue_run):
    """A worker presumed dead comes back after its run moved on (requeued, or cancelled and
    resumed from its checkpoint): it must neither add a checkpoint nor prune the ones there."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from downhill.runs.checkpoints import resume_checkpoint_path, resume_checkpoints
    from workers.attempt import RunAttempt
    from workers.callbacks import CheckpointStore, StopWatch
    from workers.engine import Stop, TrainState

    run_id = queue_run()["run"]
    Run.objects.filter(pk=run_id).update(status="running", lease="the-next-attempt")
    kept = default_storage.save(resume_checkpoint_path(run_id, 8), ContentFile(b"weights"))
    attempt = RunAttempt(run_id, device="cpu")
    attempt.lease, attempt.owned = "the-lost-attempt", True  # as after its claim, long ago
    state = TrainState(epochs=3, steps_per_epoch=4, total_steps=12, epoch=3, step=12)
    StopWatch(attempt).on_train_begin(state)
    CheckpointStore(attempt).on_checkpoint(state, {"step": 12})

    assert (state.stop, state.stop_reason) == (Stop.HAND_ON, "lease_lost")
    assert resume_checkpoints(run_id) == [kept]


def test_the_sweep_task_sends_the_runs_the_broker_never_took(queue_run, sent_tasks):
    from workers.contract.tasks import TRAIN_RUN_TASK
    from workers.tasks import requeue_stale_runs

    run_id = queue_run()["run"]
    Run.objects.filter(pk=run_id).update(sent_at=None)  # as a broker that was down leaves it
    sent_tasks.clear()
    requeue_stale_runs()  # as beat sends it

    assert [(t["name"], t["args"]) for t in sent_tasks] == [(TRAIN_RUN_TASK, [run_id])]
    assert Run.objects.get(pk=run_id).sent_at is not None


def test_the_worker_logs_no_info_lines_about_the_periodic_sweep():
    import logging

    from workers.contract.tasks import REQUEUE_STALE_TASK, TRAIN_RUN_TASK
    from workers.tasks import QuietSweep

    def record(level, name):
        return logging.LogRecord(
            "celery.app.trace", level, __file__, 1, "Task %s[1] received", (name,), None
        )

    quiet = QuietSweep()
    assert not quiet.filter(record(logging.INFO, REQUEUE_STALE_TASK))
    assert quiet.filter(record(logging.INFO, TRAIN_RUN_TASK))
    assert quiet.filter(record(logging.ERROR, REQUEUE_STALE_TASK))  # a failing sweep still shows
    assert any(isinstance(f, QuietSweep) for f in logging.getLogger("celery.app.trace").filters)


def test_a_checkpoint_after_the_database_dropped_the_connection_reconnects(queue_run):
    """A PostgreSQL restart leaves the training thread's connection closed underneath: every
    later call raised InterfaceError (not a DatabaseError), which escaped, and the run failed
    (bench/chaos). Now that checkpoint is skipped and the next one connects afresh."""
    from django.db import connection

    from downhill.runs.checkpoints import resume_checkpoints
    from workers.attempt import RunAttempt
    from workers.callbacks import CheckpointStore, StopWatch
    from workers.engine import TrainState

    run_id = queue_run()["run"]
    Run.objects.filter(pk=run_id).update(status="running", lease="this-attempt")
    attempt = RunAttempt(run_id, device="cpu")
    attempt.lease, attempt.owned = "this-attempt", True  # as after its claim
    state = TrainState(epochs=3, steps_per_epoch=4, total_steps=12, epoch=1, step=4)
    StopWatch(attempt).on_train_begin(state)
    store = CheckpointStore(attempt)
    connection.ensure_connection()
    connection.connection.close()  # what the server's restart leaves behind

    store.on_checkpoint(state, {"step": 4})  # skipped, without raising
    assert resume_checkpoints(run_id) == []
    state.epoch, state.step = 2, 8
    store.on_checkpoint(state, {"step": 8})
    assert len(resume_checkpoints(run_id)) == 1
    assert Run.objects.get(pk=run_id).step == 8


def test_a_runs_last_points_are_written_once_the_database_is_back(queue_run):
    """A short run can end while PostgreSQL restarts: its last write failed once and its
    points, all of them in the chaos benchmark, were dropped while its outcome, retried, was
    recorded as succeeded. The last write is now retried too, on a fresh connection."""
    from django.db import connection

    from workers.attempt import RunAttempt
    from workers.callbacks import MetricsWriter
    from workers.engine import TrainState

    run_id = queue_run()["run"]
    Run.objects.filter(pk=run_id).update(status="running", lease="this-attempt")
    attempt = RunAttempt(run_id, device="cpu")
    attempt.lease, attempt.owned = "this-attempt", True  # as after its claim
    attempt.state = TrainState(epochs=1, steps_per_epoch=3, total_steps=3, epoch=1, step=3)
    writer = MetricsWriter(run_id)
    attempt.writers.append(writer)
    writer.on_steps(attempt.state, [(1, 0.9, 0.1), (2, 0.8, 0.1), (3, 0.7, 0.1)])
    connection.ensure_connection()
    connection.connection.close()  # what the server's restart leaves behind

    attempt.close()
    assert series_points(run_id, "train_loss").steps.tolist() == [1, 2, 3]
    assert Run.objects.get(pk=run_id).step == 3


def test_a_training_task_reconnects_before_it_claims_its_run(queue_run):
    """A task that finds the worker's connection dropped (a PostgreSQL restart) connects afresh
    and trains; it failed to claim the run before, and its message was gone."""
    from django.db import connection

    run_id = queue_run(epochs=1)["run"]
    connection.ensure_connection()
    connection.connection.close()
    train_run(run_id)
    assert Run.objects.get(pk=run_id).status == "succeeded"


def test_the_database_wait_gives_up_when_it_never_answers(monkeypatch):
    from django.db import OperationalError, connection

    from workers import tasks

    def refused(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refused)
    started = time.monotonic()
    assert tasks.database_answers(1.5) is False
    assert 1.5 <= time.monotonic() - started < 5


def test_a_run_writes_its_first_loss_points_as_soon_as_it_has_them(queue_run, monkeypatch):
    """The first step losses read (at the first epoch's end here) are written at once by the
    training thread, not at the heartbeat's next beat (here a minute away)."""
    import functools

    import workers.runner as runner
    from workers.attempt import RunAttempt
    from workers.callbacks import MetricsWriter

    monkeypatch.setattr(runner, "RunAttempt", functools.partial(RunAttempt, beat_seconds=60))
    stored = []  # the train_loss steps in the database right after the first points
    real_on_steps = MetricsWriter.on_steps

    def on_steps(self, state, points):
        real_on_steps(self, state, points)
        if not stored:
            stored.append(series_points(self.run_id, "train_loss").steps.tolist())

    monkeypatch.setattr(MetricsWriter, "on_steps", on_steps)
    run_id = queue_run(epochs=2)["run"]
    execute_run(run_id)
    [steps] = stored
    assert steps and steps == list(range(1, len(steps) + 1)), steps
    assert Run.objects.get(pk=run_id).status == "succeeded"
