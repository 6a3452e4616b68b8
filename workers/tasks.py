"""Celery tasks of the worker. Thin: take ids, call one function."""

from downhill.celery import app

from .contract import TRAIN_RUN_TASK


@app.task(name=TRAIN_RUN_TASK, acks_late=True, ignore_result=True)
def train_run(run_id: int) -> None:
    """Train one queued run; its outcome is written on the run row."""
    from .runner import execute_run  # torch loads in the worker only

    execute_run(run_id)
