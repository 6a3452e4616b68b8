"""Resume checkpoints: at the first epoch end after every `seconds`, and at the step where a
stop that may go on later (a cancel, a hand-on) ends the run. Callbacks store them
(on_checkpoint); the engine keeps none."""

from __future__ import annotations

import time

from ..callbacks import CHECKPOINT_ON_STOP, Callback, TrainState


class CheckpointCadence(Callback):
    def __init__(self, trainer, seconds: float):
        self.trainer, self.seconds = trainer, seconds
        self.last = time.monotonic()

    def on_epoch_end(self, state: TrainState, metrics: dict) -> None:
        if state.stop in CHECKPOINT_ON_STOP or time.monotonic() - self.last >= self.seconds:
            self.trainer.callbacks.on_checkpoint(state, self.trainer.checkpoint())
            self.last = time.monotonic()

    def on_stopped_mid_epoch(self, state: TrainState, in_epoch: dict) -> None:
        if state.stop in CHECKPOINT_ON_STOP:
            self.trainer.callbacks.on_checkpoint(state, self.trainer.checkpoint(in_epoch))
