"""The best epoch by the monitored metric (early stopping's, else val_loss): its weights are
the run's "best" checkpoint, and early stopping's restore-best."""

from __future__ import annotations

import math

from workers.contract.choices import EARLY_STOPPING_MONITORS

from ..callbacks import Callback, TrainState
from ..checkpoint import state_copy


def improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


class BestCheckpoint(Callback):
    state_key = "best"

    def __init__(self, trainer, monitor: str):
        self.trainer, self.monitor = trainer, monitor
        self.mode = EARLY_STOPPING_MONITORS[monitor]
        self.best = {
            "value": None,
            "epoch": 0,
            "metrics": {},
            "details": {},
            "weights": None,
            "step": 0,
        }
        self.min_val_loss = math.inf

    def on_epoch_end(self, state: TrainState, metrics: dict) -> None:
        if not metrics:  # no validation rows
            return
        value = metrics[self.monitor]
        if improved(value, self.best["value"], self.mode):
            self.best = {"value": value, "epoch": state.epoch, "step": state.step, "metrics": metrics,
                         "details": state.last_details, "weights": state_copy(self.trainer.model)}  # fmt: skip
            self.trainer.emit("best_checkpoint", monitor=self.monitor, value=value)
        self.min_val_loss = min(self.min_val_loss, metrics["val_loss"])

    def checkpoint(self, spec: dict) -> dict | None:
        best = self.best
        if best["weights"] is None:
            return None
        return {**spec, "model": best["weights"], "step": best["step"], "epoch": best["epoch"],
                "monitor": self.monitor, "value": best["value"]}  # fmt: skip

    def state_dict(self) -> dict:
        return {"best": self.best, "min_val_loss": self.min_val_loss}

    def load_state_dict(self, state: dict) -> None:
        self.best, self.min_val_loss = state["best"], state["min_val_loss"]
