"""Tells the lr schedule each epoch's validation loss; the plateau schedule decays on it, and
ends the run (its work done) once the lr would fall below min_lr. The schedule's own state is
the trainer's to save."""

from __future__ import annotations

from ..callbacks import Callback, Stop, TrainState

STOP_REASON = "lr_below_min"


class PlateauStop(Callback):
    def __init__(self, trainer):
        self.trainer = trainer

    def on_epoch_end(self, state: TrainState, metrics: dict) -> None:
        schedule = self.trainer.schedule
        schedule.end_epoch(state.epoch, metrics.get("val_loss"))
        if schedule.stop_reason and state.stop is None:
            state.request_stop(Stop.COMPLETE, STOP_REASON)
            self.trainer.emit("stop", reason=schedule.stop_reason)
