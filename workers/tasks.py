"""Celery tasks of the worker. Thin: take ids, call one function."""

import logging
import threading
import time

from celery.exceptions import Reject
from celery.signals import after_setup_logger, worker_ready, worker_shutting_down
from django.db import Error, connection

from downhill.celery import app
from workers.contract.lab import RANGE_TEST_TASK
from workers.contract.landscape import LANDSCAPE_TASK
from workers.contract.playground import PLAYGROUND_TASK
from workers.contract.tasks import (
    DATASETS_QUEUE,
    PROCESS_DATASET_TASK,
    REQUEUE_STALE_TASK,
    TRAIN_NODE_TASK,
    TRAIN_RUN_TASK,
    TRAINING_QUEUE,
)

log = logging.getLogger(__name__)

# Set when the worker begins a shutdown (Ctrl-C, SIGTERM): the run in progress stops at its
# next metrics write, back in the queue to resume from its checkpoint, instead of holding the
# shutdown for the rest of its epochs. The worker runs the solo pool, so the task and this
# handler share the process.
SHUTTING_DOWN = threading.Event()


@worker_shutting_down.connect
def _stop_training(**kwargs) -> None:
    SHUTTING_DOWN.set()


class QuietSweep(logging.Filter):
    """Drop the worker's INFO lines about the periodic sweep ("Task ... received" and
    "... succeeded" every DOWNHILL_SWEEP_SECONDS): under `make run` they buried the web
    server's address. What the sweep does is logged as a warning of its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or REQUEUE_STALE_TASK not in record.getMessage()


def quiet_the_sweep() -> None:
    for name in ("celery.worker.strategy", "celery.app.trace"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietSweep) for f in logger.filters):
            logger.addFilter(QuietSweep())


quiet_the_sweep()
after_setup_logger.connect(lambda **kwargs: quiet_the_sweep(), weak=False)


@worker_ready.connect
def _yield_to_the_web(sender, **kwargs) -> None:
    """Every worker runs below the web server's CPU priority (DOWNHILL_WORKER_NICE); a training
    worker also bounds torch's threads (DOWNHILL_TORCH_THREADS), before it warms up."""
    from django.conf import settings

    from .priority import bound_torch_threads, lower_priority

    nice = lower_priority(settings.DOWNHILL_WORKER_NICE)
    if TRAINING_QUEUE in sender.app.amqp.queues.consume_from:
        threads = bound_torch_threads(settings.DOWNHILL_TORCH_THREADS)
        log.info("worker at niceness %s, %s torch threads", nice, threads)


@worker_ready.connect
def _sweep_on_start(**kwargs) -> None:
    """A worker that starts finds the runs whose workers were lost while none was watching."""
    requeue_stale_runs.delay()


@worker_ready.connect
def _resend_uploads_on_start(sender, **kwargs) -> None:
    """A worker of the datasets queue that starts reads again the uploads left `processing`."""
    if DATASETS_QUEUE in sender.app.amqp.queues.consume_from:
        from downhill.dispatch import datasets_resend_processing

        resent = datasets_resend_processing()
        if resent:
            log.warning("reading again the datasets left processing: %s", resent)


@worker_ready.connect
def _warm_up_training(sender, **kwargs) -> None:
    """A worker of the training queue loads torch and the engine, and trains a tiny table, when
    it starts rather than at its first run (workers/warm.py): the first run after `make run`
    then shows its first loss point as soon as the next ones do (bench/dispatch)."""
    if TRAINING_QUEUE in sender.app.amqp.queues.consume_from:
        from .warm import warm_up

        warm_up()


# How long a training task waits for the database before it hands its message back.
DATABASE_WAIT_SECONDS = 60


def database_answers(seconds: float) -> bool:
    """Whether the database answers within `seconds` (asked once a second, afresh each time)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return True
        except Error:
            connection.close()
            if time.monotonic() >= deadline:
                return False
            time.sleep(1)


@app.task(name=TRAIN_RUN_TASK)
def train_run(run_id: int) -> None:
    """Train one queued run; its outcome is written on the run row. With the database away,
    it waits for it rather than fail to claim the run and drop the message (an idle worker
    once emptied the whole queue that way during a PostgreSQL restart: bench/chaos)."""
    from .runner import execute_run  # torch loads in the worker only

    if not database_answers(DATABASE_WAIT_SECONDS):
        raise Reject("the database does not answer", requeue=True)
    execute_run(run_id, shutdown=SHUTTING_DOWN)


@app.task(name=TRAIN_NODE_TASK)
def train_node(run_id: int, lease: str, endpoint: str, rendezvous_id: str) -> None:
    """One further machine of a distributed run (workers/distributed.py): its ranks join the
    rendezvous at `endpoint` and train while the run is running under `lease`."""
    from .distributed import train_node as join  # torch loads in the worker only

    join(run_id, lease, endpoint, rendezvous_id)


@app.task(name=REQUEUE_STALE_TASK)
def requeue_stale_runs() -> None:
    """Celery beat sends this every DOWNHILL_SWEEP_SECONDS: requeue runs whose worker is gone,
    send the queued runs, and the uploads `processing`, whose message never reached the
    broker, and fail the uploads that stopped arriving while no worker read them."""
    from downhill.dispatch import send_unsent
    from downhill.runs.services import runs_requeue_stale

    requeued = runs_requeue_stale()
    if requeued:
        log.warning("requeued runs whose worker was lost: %s", requeued)
    for kind, sent in send_unsent().items():
        if sent:
            log.warning("sent %s whose message had not reached the broker: %s", kind, sent)
    from downhill.datasets.receiving import uploads_fail_stalled

    stalled = uploads_fail_stalled()
    if stalled:
        log.warning("failed uploads that stopped arriving with no worker reading them: %s", stalled)
    from downhill.sweeps.services import sweeps_advance_all

    sweeps_advance_all()  # trials asked for while the quota was full, a missed finish hook


@app.task(name=RANGE_TEST_TASK)
def lab_range_test(test_id: int) -> None:
    """Run one queued LR range test (downhill.lab); its outcome is written on its row."""
    from .lab import execute_range_test  # torch loads in the worker only

    execute_range_test(test_id)


@app.task(name=LANDSCAPE_TASK, bind=True)
def lab_landscape(self, landscape_id: int, part: int = 0) -> None:
    """Compute one part of a queued loss landscape of a run (downhill.lab); its outcome is on
    its row, with this worker's name."""
    from .lab_landscape import execute_landscape  # torch loads in the worker only

    execute_landscape(landscape_id, part, worker=self.request.hostname or "")


@app.task(name=PLAYGROUND_TASK)
def lab_playground(playground_id: int) -> None:
    """Draw one queued playground (downhill.lab); its result or error is written on its row."""
    from .lab_playground import execute_playground  # torch loads in the worker only

    execute_playground(playground_id)


@app.task(name=PROCESS_DATASET_TASK)
def process_dataset(dataset_id: int) -> None:
    """Read a large upload stored `processing`: it becomes `ready` or `failed` (a message for
    a dataset no longer processing, a redelivery, does nothing)."""
    from downhill.datasets.services import dataset_process

    dataset_process(dataset_id)
