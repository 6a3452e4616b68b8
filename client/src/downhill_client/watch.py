"""Following a run: polls its state and its newest losses, and estimates speed and ETA."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .models import Run

if TYPE_CHECKING:
    from .runs import Runs

LOSS_HISTORY = 400  # points kept for the sparkline
RATE_WINDOW_S = 20.0  # steps/s is measured over about this much recent time


@dataclass
class Snapshot:
    run: Run
    train_loss: list[float] = field(default_factory=list)  # the latest points, oldest first
    val_loss: float | None = None
    steps_per_s: float | None = None
    eta_s: float | None = None


class _Rate:
    """Steps per second over a sliding window of (time, step) observations."""

    def __init__(self):
        self.seen: deque[tuple[float, int]] = deque()

    def add(self, now: float, step: int) -> float | None:
        self.seen.append((now, step))
        while len(self.seen) > 2 and now - self.seen[1][0] > RATE_WINDOW_S:
            self.seen.popleft()
        (t0, s0), (t1, s1) = self.seen[0], self.seen[-1]
        return (s1 - s0) / (t1 - t0) if t1 > t0 and s1 > s0 else None


def follow(
    runs: Runs, run_id: int, *, interval: float = 1.0, timeout: float | None = None
) -> Iterator[Snapshot]:
    """A Snapshot per poll until the run has finished (the last one is finished); TimeoutError
    when it has not after `timeout` seconds."""
    deadline = None if timeout is None else time.monotonic() + timeout
    losses: deque[float] = deque(maxlen=LOSS_HISTORY)
    train_since = val_since = 0
    val_loss = None
    rate = _Rate()
    while True:
        run = runs.get(run_id)
        # Each series from its own last step: val_loss may land after that step's train_loss.
        train = runs.metrics(run_id, ["train_loss"], since_step=train_since).series.get(
            "train_loss"
        )
        if train and train.steps:
            losses.extend(train.values)
            train_since = train.steps[-1]
        val = runs.metrics(run_id, ["val_loss"], since_step=val_since).series.get("val_loss")
        if val and val.steps:
            val_loss, val_since = val.values[-1], val.steps[-1]
        snapshot = Snapshot(run, list(losses), val_loss)
        if run.status == "running":
            snapshot.steps_per_s = rate.add(time.monotonic(), run.progress.step)
            if snapshot.steps_per_s:
                snapshot.eta_s = (run.progress.steps - run.progress.step) / snapshot.steps_per_s
        yield snapshot
        if run.finished:
            return
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(f"run {run_id} is still {run.status} after {timeout:g} s.")
        time.sleep(interval)
