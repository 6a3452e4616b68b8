"""Running one queued run: the bridge between a Run row and the engine.

The engine knows nothing of Django; DatabaseSink is the callback that streams its metric
points and progress into the database and carries cancel requests back.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from django.db import DatabaseError, connection

from downhill.runs.models import Run
from downhill.runs.services import metrics_record, run_progress_update, run_transition

from .engine import Callback, DataError, Diverged, TrainState, fit, pick_device, prepare
from .engine.loop import describe_device
from .tables import read_table

log = logging.getLogger(__name__)
S = Run.Status


class DatabaseSink(Callback):
    """Buffers metric points and writes them in one batch at most every `flush_seconds`
    (and at the end), together with progress; a cancel request found there stops the loop."""

    def __init__(
        self, run_id: int, flush_seconds: float = 1.0, shutdown: threading.Event | None = None
    ):
        self.run_id = run_id
        self.shutdown = shutdown
        self.flush_seconds = flush_seconds
        self.buffer: list[tuple[str, int, float, float]] = []
        self.last_flush = 0.0
        self.state: TrainState | None = None

    def on_train_begin(self, state: TrainState) -> None:
        self.state = state
        self.flush()

    def on_steps(self, state: TrainState, points) -> None:
        now = time.time()
        for step, loss, lr in points:
            self.buffer.append(("train_loss", step, loss, now))
            self.buffer.append(("lr", step, lr, now))
        self.maybe_flush()

    def on_epoch_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        now = time.time()
        self.buffer.extend((name, state.step, value, now) for name, value in metrics.items())
        self.maybe_flush()

    def on_train_end(self, state: TrainState) -> None:
        self.flush()

    def maybe_flush(self) -> None:
        if time.monotonic() - self.last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        state = self.state
        if state is None:  # training never began
            return
        metrics_record(self.run_id, self.buffer)
        self.buffer = []
        self.last_flush = time.monotonic()
        cancel = run_progress_update(
            self.run_id, epoch=state.epoch, step=state.step, steps=state.steps
        )
        if cancel and not state.stop_reason:
            state.stop_reason = "cancelled"
        elif self.shutdown is not None and self.shutdown.is_set() and not state.stop_reason:
            state.stop_reason = "worker_shutdown"

    def flush_quietly(self) -> None:
        """Flush on the way out of a failed run; a database error here must not hide the first."""
        try:
            self.flush()
        except DatabaseError:
            log.exception("could not write the last metric points of run %s", self.run_id)


def execute_run(run_id: int, *, shutdown: threading.Event | None = None) -> None:
    """Train a queued run to its end. Every outcome lands on the run row; nothing raises.
    `shutdown` set (the worker is stopping) ends the run at its next metrics write."""
    device = pick_device()
    if not run_transition(
        run_id, S.RUNNING, device=describe_device(device), worker=socket.gethostname()
    ):
        log.info("run %s is not queued (cancelled or taken); skipping", run_id)
        return
    run = Run.objects.select_related("experiment__dataset").get(pk=run_id)
    config = run.experiment.config
    dataset = run.experiment.dataset
    sink = DatabaseSink(run_id, shutdown=shutdown)
    try:
        data = prepare(read_table(dataset), dataset.columns, config)
        result = fit(config, data, [sink], device=device)
    except Diverged as exc:
        sink.flush_quietly()  # keep the points up to the divergence: they show it coming
        _finish(run_id, S.FAILED, error=str(exc), step=exc.step)
        return
    except DataError as exc:
        _finish(run_id, S.FAILED, error=f"The data cannot be trained as configured: {exc}")
        return
    except Exception as exc:
        log.exception("run %s failed", run_id)
        sink.flush_quietly()
        _finish(
            run_id,
            S.FAILED,
            error=f"The worker hit an internal error ({exc.__class__.__name__}); its log has the details.",
        )
        return
    summary = result.summary
    stop = result.state.stop_reason
    if summary["epochs_completed"] == config["epochs"]:
        _finish(
            run_id, S.SUCCEEDED, summary=summary
        )  # a cancel seen in the last write came too late
    elif stop == "cancelled":
        _finish(run_id, S.CANCELLED, summary=summary)
    else:  # the worker is shutting down
        _finish(
            run_id,
            S.FAILED,
            summary=summary,
            error=f"The worker was stopped at step {result.state.step}, before the run finished. "
            f"Queue it again with POST /api/v1/experiments/{run.experiment_id}/runs/.",
        )


def _finish(run_id: int, status: str, **fields) -> None:
    """The final transition, retried: a run must not stay `running` because the database
    blinked when training ended."""
    for attempt in range(6):
        try:
            run_transition(run_id, status, **fields)
            return
        except DatabaseError:
            log.warning(
                "could not record run %s as %s (attempt %d); retrying", run_id, status, attempt + 1
            )
            connection.close()  # the next query opens a fresh connection
            time.sleep(min(2**attempt, 30))
    log.error("gave up recording run %s as %s", run_id, status)
