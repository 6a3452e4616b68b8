"""Every status change goes through run_transition; cancel stops queued runs at once."""

from __future__ import annotations

import pytest

from downhill.runs.models import Run
from downhill.runs.services import (
    AlreadyFinished,
    run_progress_update,
    run_request_cancel,
    run_transition,
)

pytestmark = pytest.mark.django_db

S = Run.Status


def set_status(run: Run, status: str) -> Run:
    Run.objects.filter(pk=run.pk).update(status=status)
    run.refresh_from_db()
    return run


def test_starting_a_queued_run_records_start_and_heartbeat(run):
    assert run_transition(run.id, S.RUNNING, worker="w1", device="cuda:0") is True

    run.refresh_from_db()
    assert run.status == S.RUNNING
    assert run.started_at is not None
    assert run.heartbeat_at is not None
    assert run.finished_at is None
    assert (run.worker, run.device) == ("w1", "cuda:0")


def test_finishing_a_running_run_records_the_finish_time(run):
    run_transition(run.id, S.RUNNING)
    assert run_transition(run.id, S.SUCCEEDED, summary={"best_val_loss": 0.1}) is True

    run.refresh_from_db()
    assert run.status == S.SUCCEEDED
    assert run.finished_at >= run.started_at
    assert run.summary == {"best_val_loss": 0.1}
    assert run.is_finished


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.QUEUED, S.SUCCEEDED),
        (S.RUNNING, S.RUNNING),
        (S.SUCCEEDED, S.RUNNING),
        (S.SUCCEEDED, S.FAILED),
        (S.FAILED, S.CANCELLED),
        (S.CANCELLED, S.RUNNING),
        (S.CANCELLED, S.QUEUED),
    ],
)
def test_a_transition_the_lifecycle_forbids_changes_nothing(run, current, target):
    set_status(run, current)

    assert run_transition(run.id, target, error="should not be written") is False

    run.refresh_from_db()
    assert run.status == current
    assert run.error == ""
    assert run.finished_at is None


def test_a_queued_run_can_fail_before_it_starts(run):
    assert run_transition(run.id, S.FAILED, error="broker down") is True
    run.refresh_from_db()
    assert (run.status, run.error) == (S.FAILED, "broker down")


def test_cancel_of_a_queued_run_cancels_it_at_once(run):
    result = run_request_cancel(run)

    assert result.status == S.CANCELLED
    assert result.finished_at is not None
    assert Run.objects.get(pk=run.pk).status == S.CANCELLED


def test_a_worker_cannot_start_a_run_cancelled_while_queued(run):
    run_request_cancel(run)

    assert run_transition(run.id, S.RUNNING) is False
    assert Run.objects.get(pk=run.pk).status == S.CANCELLED


def test_cancel_of_a_running_run_asks_its_worker_to_stop(run):
    run_transition(run.id, S.RUNNING)

    result = run_request_cancel(run)

    assert result.status == S.RUNNING
    assert result.cancel_requested is True
    assert run_progress_update(run.id, lease="", epoch=1, step=5, steps=30) == (True, True)


def test_a_running_run_without_a_cancel_request_is_told_to_continue(run):
    run_transition(run.id, S.RUNNING, lease="w1")

    assert run_progress_update(run.id, lease="w1", epoch=2, step=10, steps=30) == (True, False)
    run.refresh_from_db()
    assert (run.epoch, run.step, run.steps) == (2, 10, 30)


@pytest.mark.parametrize("finished", [S.SUCCEEDED, S.FAILED, S.CANCELLED])
def test_cancel_of_a_finished_run_leaves_it_as_it_was(run, finished):
    run_transition(run.id, S.RUNNING)
    run_transition(run.id, finished, error="kept" if finished == S.FAILED else "")
    before = Run.objects.get(pk=run.pk)

    with pytest.raises(AlreadyFinished, match="already finished"):
        run_request_cancel(run)

    result = Run.objects.get(pk=run.pk)
    assert result.status == finished
    assert result.cancel_requested is False
    assert result.finished_at == before.finished_at
    assert result.error == before.error


def test_cancel_of_a_running_run_whose_worker_went_silent_cancels_it_at_once(run):
    from datetime import timedelta

    from django.utils import timezone

    from downhill.runs.services import heartbeat_timeout

    run_transition(run.id, S.RUNNING)
    Run.objects.filter(pk=run.id).update(
        heartbeat_at=timezone.now() - heartbeat_timeout() - timedelta(seconds=1)
    )
    run = run_request_cancel(run)
    assert run.status == S.CANCELLED and "stopped reporting" in run.error


def test_cancel_of_a_running_run_with_a_fresh_heartbeat_only_asks_its_worker(run):
    run_transition(run.id, S.RUNNING)
    run = run_request_cancel(run)
    assert run.status == S.RUNNING and run.cancel_requested


def test_an_attempt_that_lost_its_lease_is_told_so_and_writes_no_progress(run):
    run_transition(run.id, S.RUNNING, lease="old")
    Run.objects.filter(pk=run.id).update(lease="new")
    assert run_progress_update(run.id, lease="old", epoch=3, step=9, steps=30) == (False, False)
    run.refresh_from_db()
    assert run.step == 0


def _go_stale(run, settings):
    from datetime import timedelta

    from django.utils import timezone

    Run.objects.filter(pk=run.id).update(
        heartbeat_at=timezone.now() - timedelta(seconds=settings.DOWNHILL_HEARTBEAT_TIMEOUT + 1)
    )


def test_the_sweep_requeues_a_run_whose_heartbeat_went_stale_as_its_next_attempt(
    run, settings, django_capture_on_commit_callbacks
):
    from downhill.runs.models import RunEvent
    from downhill.runs.services import runs_requeue_stale

    run_transition(run.id, S.RUNNING, lease="lost-worker")
    fresh = runs_requeue_stale()
    assert fresh == []  # a live heartbeat is left alone
    _go_stale(run, settings)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        assert runs_requeue_stale() == [run.id]
    run.refresh_from_db()
    assert (run.status, run.attempt, run.lease) == (S.QUEUED, 2, "")
    assert len(enqueued) == 1  # sent to the broker again once committed
    assert RunEvent.objects.get(run=run, type="requeued").details["attempt"] == 2


def test_a_run_that_loses_its_worker_on_every_attempt_fails_saying_so(run, settings):
    from downhill.runs.services import runs_requeue_stale

    settings.DOWNHILL_MAX_ATTEMPTS = 2
    Run.objects.filter(pk=run.id).update(attempt=2)
    run_transition(run.id, S.RUNNING, lease="w")
    _go_stale(run, settings)
    assert runs_requeue_stale() == []
    run.refresh_from_db()
    assert run.status == S.FAILED and "every one of its 2 attempts" in run.error


def test_the_sweep_waits_a_heartbeat_timeout_after_the_database_restarted(run, settings):
    """PostgreSQL up for less than the timeout: the heartbeats could not be written while it
    was down, so none counts as stale yet (bench/chaos: every running run was requeued after a
    restart, and some spent all their attempts so). SQLite has no server to restart."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from downhill.runs.services import database_uptime, runs_requeue_stale

    settings.DOWNHILL_HEARTBEAT_TIMEOUT = 10 * 365 * 24 * 3600  # longer than any uptime
    run_transition(run.id, S.RUNNING, lease="w")
    Run.objects.filter(pk=run.id).update(heartbeat_at=timezone.now() - timedelta(days=20 * 365))
    if connection.vendor == "postgresql":
        assert timedelta(0) < database_uptime() < timedelta(days=10 * 365)
        assert runs_requeue_stale() == []
    else:
        assert database_uptime() is None
        assert runs_requeue_stale() == [run.id]
