"""A queued run whose broker message was lost after the broker took it (a worker took it and
failed to claim the run while the database was down, or was killed holding it) is sent again by
the sweep: bench/chaos found runs left `queued` for good after PostgreSQL and Redis restarts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from downhill.celery import app, queue_size
from downhill.dispatch import runs_resend_lost
from downhill.runs.models import Run
from workers.contract.tasks import TRAIN_RUN_TASK, TRAINING_QUEUE

pytestmark = pytest.mark.django_db


@pytest.fixture
def empty_training_queue():
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(TRAINING_QUEUE)
    assert queue_size(TRAINING_QUEUE) == 0


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(app, "send_task", lambda name, **options: calls.append((name, options)))
    return calls


def test_a_queued_run_sent_long_ago_with_no_message_waiting_is_sent_again(
    run, empty_training_queue, sent, settings
):
    Run.objects.filter(pk=run.id).update(sent_at=timezone.now() - timedelta(minutes=5))

    assert runs_resend_lost() == [run.id]
    assert [(name, options["args"]) for name, options in sent] == [(TRAIN_RUN_TASK, [run.id])]
    assert runs_resend_lost() == []  # just sent: not again at the next sweep


def test_a_run_sent_a_moment_ago_is_left_to_its_message(run, empty_training_queue, sent):
    Run.objects.filter(pk=run.id).update(sent_at=timezone.now())
    assert runs_resend_lost() == []
    assert sent == []


def test_nothing_is_sent_again_while_messages_wait_in_the_queue(run, empty_training_queue):
    from downhill.celery import send_by_name

    send_by_name(TRAIN_RUN_TASK, args=[0], queue=TRAINING_QUEUE)  # a message for no run
    Run.objects.filter(pk=run.id).update(sent_at=timezone.now() - timedelta(minutes=5))
    try:
        assert queue_size(TRAINING_QUEUE) == 1
        assert runs_resend_lost() == []
    finally:
        with app.connection_for_write() as conn:
            conn.default_channel.queue_purge(TRAINING_QUEUE)
