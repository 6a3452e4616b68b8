"""The engine's callbacks on a worker, one job each: MetricsWriter writes points and events,
StopWatch turns a cancel, a lost lease or a stopping worker into the engine's stop requests,
CheckpointStore keeps the latest resume checkpoint in storage. The attempt (attempt.py) beats
and writes from its own thread; the training thread only appends and reads flags."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from django.db import Error, connection

from downhill.runs.services import metrics_record, run_events_record
from downhill.sweeps.services import trial_report

from .attempt import RunAttempt
from .checkpoints import prune_resume_checkpoints, store_resume_checkpoint
from .engine import Callback, Stop, TrainState

log = logging.getLogger(__name__)

LEASE_LOST = "lease_lost"  # summary words of a hand-on, for the worker's logs
WORKER_SHUTDOWN = "worker_shutdown"


class MetricsWriter(Callback):
    """Buffers metric points and events; the attempt writes them in batches at each beat
    (about once a second) and at the end, so the training loop never waits on the database.
    `first_points` is called once, when the first step losses are buffered (the attempt's
    `beat_now`: a run shows its first point at once, not up to a second later)."""

    def __init__(self, run_id: int, first_points: Callable[[], None] | None = None):
        self.run_id = run_id
        self._first_points = first_points
        self._points: list[tuple[str, int, float, float]] = []
        self._events: list[dict] = []
        self._lock = threading.Lock()

    def on_steps(self, state: TrainState, points) -> None:
        now = time.time()
        rows = []
        for step, loss, lr in points:
            rows.append(("train_loss", step, loss, now))
            rows.append(("lr", step, lr, now))
        with self._lock:
            self._points.extend(rows)
        if rows and self._first_points is not None:
            self._first_points, first_points = None, self._first_points
            first_points()

    def on_batch_size(self, state: TrainState, step: int, batch_size: int) -> None:
        with self._lock:
            self._points.append(("batch_size", step, float(batch_size), time.time()))

    def on_event(self, state: TrainState, event: dict) -> None:
        with self._lock:
            self._events.append(event)

    def on_epoch_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        now = time.time()
        with self._lock:
            self._points.extend((name, state.step, value, now) for name, value in metrics.items())

    def write(self) -> None:
        with self._lock:
            points, self._points = self._points, []
            events, self._events = self._events, []
        try:
            metrics_record(self.run_id, points)
            run_events_record(self.run_id, events, time.time())
        except Error:
            with self._lock:  # put them back, in front of anything newer
                self._points[:0] = points
                self._events[:0] = events
            raise


class StopWatch(Callback):
    """Asks the run to stop when its user cancels it (CANCEL: it may be resumed later), when
    this worker stops (HAND_ON: the next worker resumes it) or when another attempt owns the run
    (HAND_ON, and nothing more is written). It also hands the attempt the state to report."""

    def __init__(self, attempt: RunAttempt, shutdown: threading.Event | None = None):
        self.attempt, self.shutdown = attempt, shutdown

    def on_train_begin(self, state: TrainState) -> None:
        self.attempt.state = state
        self.attempt.beat()  # progress totals and heartbeat right away
        self._check(state)

    def on_steps(self, state: TrainState, points) -> None:
        self._check(state)

    def on_epoch_end(self, state: TrainState, metrics: dict) -> None:
        self._check(state)

    def _check(self, state: TrainState) -> None:
        if not self.attempt.owned:
            state.request_stop(Stop.HAND_ON, LEASE_LOST)
        elif self.attempt.cancel_requested:
            state.request_stop(Stop.CANCEL)
        elif self.shutdown is not None and self.shutdown.is_set():
            state.request_stop(Stop.HAND_ON, WORKER_SHUTDOWN)


class CheckpointStore(Callback):
    """Keeps the latest resume checkpoint in storage, named by its step; older ones go once the
    new one is stored, so a crash while writing leaves the previous one. The points up to its
    step are written first: a resumed attempt keeps exactly those."""

    def __init__(self, attempt: RunAttempt):
        self.attempt = attempt

    def on_checkpoint(self, state: TrainState, checkpoint: dict) -> None:
        attempt = self.attempt
        try:
            attempt.beat()
        except Error:  # the database is away: keep training, checkpoint next time
            log.warning("run %s: no checkpoint at step %s, the database is unreachable",
                        attempt.run_id, state.step)  # fmt: skip
            # A connection the server dropped (a PostgreSQL restart) answers every later call
            # with InterfaceError, no DatabaseError: drop it, to connect afresh next time.
            connection.close()
            return
        if not attempt.owned:  # another attempt owns the run, and its files
            return
        store_resume_checkpoint(attempt.run_id, checkpoint)
        prune_resume_checkpoints(attempt.run_id)


PRUNED = "pruned by its sweep"


class SweepReporter(Callback):
    """A sweep's trial: reports the objective at every epoch end to the platform's pruner
    (downhill.sweeps.services.trial_report, one short transaction) and stops the run there when
    it says so; the run ends as trained so far (Stop.COMPLETE), its curve kept."""

    def __init__(self, run_id: int):
        self.run_id = run_id

    def on_epoch_end(self, state: TrainState, metrics: dict) -> None:
        try:
            pruned = trial_report(self.run_id, state.epoch, metrics)
        except Error:  # the database is away: no decision this epoch, keep training
            log.warning("run %s: epoch %s not reported to its sweep", self.run_id, state.epoch)
            return
        if pruned:
            state.request_stop(Stop.COMPLETE, PRUNED)
