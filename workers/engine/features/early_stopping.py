"""Stop when the monitored metric has not improved by `min_delta` for `patience_epochs`
epochs; with `restore_best`, the run ends with the best epoch's weights."""

from __future__ import annotations

from ..callbacks import Callback, Stop, TrainState
from .best import BestCheckpoint, improved
from .final import Final


class EarlyStopping(Callback):
    state_key = "early_stopping"

    def __init__(self, trainer, spec: dict, best: BestCheckpoint):
        self.trainer, self.spec, self.tracked = trainer, spec, best
        self.best: float | None = None  # the value that last improved by min_delta
        self.bad_epochs = 0

    def on_epoch_end(self, state: TrainState, metrics: dict) -> None:
        tracked = self.tracked
        if metrics:  # an improvement by at least min_delta resets the patience
            value = metrics[tracked.monitor]
            if improved(value, self.best, tracked.mode, self.spec["min_delta"]):
                self.best, self.bad_epochs = value, 0
            else:
                self.bad_epochs += 1
        if self.bad_epochs >= self.spec["patience_epochs"] and state.stop is None:
            state.request_stop(Stop.EARLY_STOP)
            best = tracked.best
            self.trainer.emit("early_stop", monitor=tracked.monitor,
                              best_epoch=best["epoch"], best_value=best["value"])  # fmt: skip

    def finish(self, final: Final) -> Final:
        best = self.tracked.best
        if final.source != "last" or not self.spec["restore_best"] or best["weights"] is None:
            return final
        self.trainer.model.load_state_dict(best["weights"])
        self.trainer.emit("restore_best", best_epoch=best["epoch"])
        return Final(self.trainer.model, best["metrics"], best["details"], "best")

    def state_dict(self) -> dict:
        return {"best": self.best, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.bad_epochs = state["best"], state["bad_epochs"]
