"""Running one queued run: the bridge between a Run row and the engine.

The engine knows nothing of Django; DatabaseSink is the callback that streams its metric
points and progress into the database and carries cancel requests back.
"""

from __future__ import annotations

import logging
import socket
import time

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

    def __init__(self, run_id: int, flush_seconds: float = 1.0):
        self.run_id = run_id
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


def execute_run(run_id: int) -> None:
    """Train a queued run to its end. Every outcome lands on the run row; nothing raises."""
    device = pick_device()
    worker = socket.gethostname()
    if not run_transition(run_id, S.RUNNING, device=describe_device(device), worker=worker):
        log.info("run %s is not queued (cancelled or taken); skipping", run_id)
        return
    run = Run.objects.select_related("experiment__dataset").get(pk=run_id)
    config = run.experiment.config
    dataset = run.experiment.dataset
    sink = DatabaseSink(run_id)
    try:
        data = prepare(read_table(dataset), dataset.columns, config)
        result = fit(config, data, [sink], device=device)
    except Diverged as exc:
        sink.flush()  # keep the points up to the divergence: they show it coming
        run_transition(run_id, S.FAILED, error=str(exc), step=exc.step)
        return
    except DataError as exc:
        run_transition(run_id, S.FAILED, error=f"The data cannot be trained as configured: {exc}")
        return
    except Exception as exc:
        log.exception("run %s failed", run_id)
        run_transition(
            run_id,
            S.FAILED,
            error=f"The worker hit an internal error: {exc.__class__.__name__}: {exc}",
        )
        return
    summary = result.summary
    if result.state.stop_reason == "cancelled":
        run_transition(run_id, S.CANCELLED, summary=summary)
    else:
        run_transition(run_id, S.SUCCEEDED, summary=summary)
