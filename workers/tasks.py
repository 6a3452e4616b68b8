"""Celery tasks of the worker. Thin: take ids, call one function."""

import threading

from celery.signals import worker_shutting_down

from downhill.celery import app

from .contract import TRAIN_RUN_TASK

# Set when the worker begins a shutdown (Ctrl-C, SIGTERM): the run in progress stops at its
# next metrics write instead of holding the shutdown for the rest of its epochs. The worker
# runs the solo pool, so the task and this handler share the process.
SHUTTING_DOWN = threading.Event()


@worker_shutting_down.connect
def _stop_training(**kwargs) -> None:
    SHUTTING_DOWN.set()


@app.task(name=TRAIN_RUN_TASK)
def train_run(run_id: int) -> None:
    """Train one queued run; its outcome is written on the run row."""
    from .runner import execute_run  # torch loads in the worker only

    execute_run(run_id, shutdown=SHUTTING_DOWN)
