"""One attempt at a run on this worker: the claim, the lease it holds, and the heartbeat.

The heartbeat runs on a thread of its own from the claim on, about once a second, so it goes on
while the data loads and the artifacts are stored (both can outlast the heartbeat timeout).
Each beat records the progress of the state it watches, learns whether the attempt still owns
the run and whether a cancel was asked, and then lets its writers (workers/callbacks.py) write
what they buffered. The training thread only reads the flags and appends to buffers.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from typing import Protocol

from django.db import Error, connection

from downhill.runs.services import (
    FINISH_RETRIES,
    run_claim,
    run_finish,
    run_hand_back,
    run_heartbeat,
    run_progress_update,
)

from .engine import TrainState

log = logging.getLogger(__name__)


class Writer(Protocol):
    def write(self) -> None:
        """Write what was buffered (raises a database Error, keeping it for the next beat)."""


class RunAttempt:
    """Claim with `claim()`; then `beat()` from any thread; `finish()` or `hand_back()` at the end.
    `owned` goes False for good once another attempt holds the run (this one was presumed dead)."""

    def __init__(self, run_id: int, *, device: str, beat_seconds: float = 1.0):
        self.run_id, self.device, self.beat_seconds = run_id, device, beat_seconds
        self.lease = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.owned = False
        self.cancel_requested = False
        self.state: TrainState | None = None  # progress to report, once training began
        self.writers: list[Writer] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def claim(self) -> bool:
        """Take the run if it is queued (a redelivered message, a cancelled run: no) and start
        beating."""
        self.owned = run_claim(self.run_id, lease=self.lease, device=self.device,
                               worker=socket.gethostname())  # fmt: skip
        if self.owned:
            self._start_beating()
        return self.owned

    def adopt(self, lease: str) -> None:
        """Hold the run another process claimed under `lease` and start beating: rank 0 of a
        distributed run, whose supervisor (workers/distributed.py) made the claim."""
        self.lease, self.owned = lease, True
        self._start_beating()

    def _start_beating(self) -> None:
        self._thread = threading.Thread(
            target=self._beat_loop, name=f"run-{self.run_id}-heartbeat", daemon=True
        )
        self._thread.start()

    def beat(self) -> None:
        """Heartbeat and progress, then the writers' points, if the run is still this attempt's.
        The heartbeat first: an attempt that lost its lease must stop and write nothing more."""
        state = self.state
        if state is None:  # the data is still loading: a heartbeat only
            self.owned = run_heartbeat(self.run_id, lease=self.lease) and self.owned
            return
        owned, cancel = run_progress_update(self.run_id, lease=self.lease, epoch=state.epoch,
                                            step=state.step, steps=state.steps)  # fmt: skip
        self.owned = owned and self.owned
        self.cancel_requested = self.cancel_requested or cancel
        if not self.owned:
            return
        for writer in self.writers:
            writer.write()

    def beat_now(self) -> None:
        """Beat from the calling thread, now: the training thread calls it once, with the
        run's first loss points buffered, so they show at once rather than at the heartbeat
        thread's next beat, up to a second later (bench/dispatch). A database error is left
        to that next beat, which writes the points kept buffered."""
        try:
            self.beat()
        except Error:
            log.warning("run %s: first write failed; the heartbeat retries it", self.run_id)
            connection.close()

    def _beat_loop(self) -> None:
        try:
            while not self._stop.wait(self.beat_seconds):
                try:
                    self.beat()
                except Error:  # keep training; the points stay buffered for the next try
                    log.warning(
                        "run %s: write failed; retrying in %.0f s", self.run_id, self.beat_seconds
                    )
                    connection.close()
        finally:
            connection.close()  # this thread's own connection

    def close(self) -> None:
        """Stop the heartbeat thread and write what is left (from the calling thread), retried
        as the outcome is (run_finish): a short run can end while PostgreSQL restarts, and its
        last points, maybe all of them, must not be dropped while its outcome is then recorded
        (bench/chaos). A database still away after the retries must not hide that outcome."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        for attempt in range(FINISH_RETRIES):
            try:
                self.beat()
                return
            except Error:
                log.warning(
                    "run %s: could not write its last points (try %d); retrying",
                    self.run_id,
                    attempt + 1,
                )
                connection.close()  # the next try opens a fresh connection
                time.sleep(min(2**attempt, 30))
        log.error("gave up writing the last metric points of run %s", self.run_id)

    def finish(self, status: str, **fields) -> None:
        """The run's final status, written only while this attempt holds the run."""
        self.close()
        run_finish(self.run_id, status, lease=self.lease, **fields)

    def hand_back(self, reason: str) -> None:
        """Back in the queue for the next attempt, which resumes from the latest checkpoint."""
        self.close()
        run_hand_back(self.run_id, lease=self.lease, reason=reason)
