"""The LR range test (Smith 2015, "Cyclical Learning Rates", section 3.3; fastai's `lr_find`).

The run's own Trainer trains the config from its initial weights (same seed, model, init,
optimizer and batches as the run would) while the learning rate grows from `start_lr` to
`end_lr`, exponentially or linearly, one value per step. It stops at `steps`, or as soon as the
smoothed loss passes `diverge_factor` (4) times its best, or when the loss stops being finite.
The smoothed loss is fastai's: an exponential moving average with `beta` 0.98, debiased.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ..callbacks import Callback, Stop, TrainState
from ..data import TrainingData
from ..trainer import Diverged, Trainer
from .suggest import suggest

MODES = ("exponential", "linear")
# What would change the lr or stop the test on its own: the range test owns both.
NEUTRAL = {"lr_schedule": {"type": "constant", "warmup_epochs": 0}, "optimizer_switch": None,
           "early_stopping": None, "swa": None, "batch_size_schedule": None}  # fmt: skip


@dataclass(frozen=True)
class RangeSpec:
    start_lr: float = 1e-7
    end_lr: float = 10.0
    steps: int = 100
    mode: str = "exponential"
    beta: float = 0.98
    diverge_factor: float = 4.0

    def lr_at(self, step: int) -> float:
        """The lr of step `step` (1-based): `start_lr` at the first, `end_lr` at the last."""
        t = (min(step, self.steps) - 1) / max(self.steps - 1, 1)
        if self.mode == "linear":
            return self.start_lr + (self.end_lr - self.start_lr) * t
        return self.start_lr * (self.end_lr / self.start_lr) ** t


class RangeSchedule:
    """Stands in for the run's schedule in the Trainer: the test's lr at every step."""

    def __init__(self, spec: RangeSpec):
        self.spec = spec

    def lr_at(self, step: int) -> float:
        return self.spec.lr_at(step)

    stop_reason = None  # the test's own stops are the recorder's

    def end_epoch(self, epoch: int, val_loss: float | None) -> None:
        """The lr does not follow the validation loss."""

    def drain_events(self) -> list:
        return []

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Nothing to restore: the lr is a function of the step."""


@dataclass
class RangeRecorder(Callback):
    """Keeps lr, raw and smoothed loss per step; asks the stop at the end or the divergence."""

    spec: RangeSpec
    progress: Callable[[list], None] | None = None  # the new points, as they arrive
    lrs: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    smoothed: list = field(default_factory=list)
    stop_reason: str = ""
    _average: float = 0.0

    def on_steps(self, state: TrainState, points) -> None:
        new = []
        for step, loss, lr in points:
            self._average = self.spec.beta * self._average + (1 - self.spec.beta) * loss
            smooth = self._average / (1 - self.spec.beta ** (len(self.lrs) + 1))
            self.lrs.append(lr), self.losses.append(loss), self.smoothed.append(smooth)
            new.append((step, lr, loss, smooth))
            if self._stop(state, step, smooth):
                break
        if self.progress and new:
            self.progress(new)

    def _stop(self, state: TrainState, step: int, smooth: float) -> bool:
        if len(self.smoothed) > 1 and smooth > self.spec.diverge_factor * min(self.smoothed):
            self.stop_reason = f"the smoothed loss passed {self.spec.diverge_factor:g}x its best"
        elif step >= self.spec.steps:
            self.stop_reason = "the last step of the range"
        else:
            return False
        state.request_stop(Stop.COMPLETE, self.stop_reason)
        return True

    def on_exception(self, state: TrainState, error: BaseException) -> None:
        if isinstance(error, Diverged):
            self.stop_reason = "the loss became NaN or infinite"


def range_config(config: dict, spec: RangeSpec, n_train: int) -> dict:
    """The run's config with nothing else steering the lr, and epochs enough for the steps."""
    from workers.contract.splits import steps_per_epoch

    config = {**config, **NEUTRAL, "learning_rate": spec.start_lr, "epochs": 1}
    per_epoch = steps_per_epoch(n_train, config)[0]
    return {**config, "epochs": math.ceil(spec.steps / per_epoch)}


def range_test(config: dict, data: TrainingData, spec: RangeSpec, *, device=None,
               callbacks=(), progress=None) -> dict:  # fmt: skip
    """Run the test; returns the series, why it stopped and the suggestions. `callbacks` (a
    cancel, say) ride along in the Trainer."""
    recorder = RangeRecorder(spec, progress)
    cfg = range_config(config, spec, len(data.x_train))
    trainer = Trainer(cfg, data, [recorder, *callbacks], device=device, sync_seconds=0.0)
    trainer.schedule = RangeSchedule(spec)
    try:
        trainer.fit()
    except Diverged:
        pass  # the points before the bad one are the curve; the recorder says why it stopped
    stop = trainer.state.stop
    if stop is Stop.CANCEL:
        recorder.stop_reason = "cancelled"
    return {
        "lr": recorder.lrs, "loss": recorder.losses, "smoothed": recorder.smoothed,
        "stop_reason": recorder.stop_reason or "the last step of the range",
        "stop_lr": recorder.lrs[-1] if recorder.lrs else None,
        "suggestions": suggest(recorder.lrs, recorder.smoothed),
    }  # fmt: skip
