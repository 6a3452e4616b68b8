"""Weight snapshots for the loss landscape: the initial weights of every run (the 1-D line
runs from them to the final ones), and for small models a bounded number of snapshots evenly
spaced by epoch (the trajectory, projected on the landscape by PCA). Each is handed to the
callbacks (on_weights) to keep; the engine keeps none, so a checkpoint stays its size."""

from __future__ import annotations

import math

from ..callbacks import Callback, TrainState
from ..checkpoint import state_copy

# Snapshots for the trajectory are taken of models up to this many parameters: 50 of a
# 100,000-parameter model are 20 MB of float32, and the platform's default MLP has about 6,000.
SNAPSHOT_MAX_PARAMS = 100_000
MAX_SNAPSHOTS = 50  # Li et al. plot one point per epoch; 50 draw a path and keep PCA cheap
INITIAL = "initial"


def snapshot_epochs(epochs: int, most: int = MAX_SNAPSHOTS) -> set[int]:
    """At most `most` epochs, evenly spaced, the last one always among them."""
    if epochs <= most:
        return set(range(1, epochs + 1))
    return {math.ceil(k * epochs / most) for k in range(1, most + 1)}


def epoch_name(epoch: int) -> str:
    return f"epoch-{epoch:06d}"


class WeightSnapshots(Callback):
    def __init__(self, trainer):
        self.trainer = trainer
        n_params = sum(p.numel() for p in trainer.model.parameters())
        small = n_params <= SNAPSHOT_MAX_PARAMS
        self.epochs = snapshot_epochs(trainer.state.epochs) if small else set()

    def on_epoch_start(self, state: TrainState) -> None:
        if state.step == 0:  # the first step is next: these are the initial weights
            self._hand_out(state, INITIAL)

    def on_epoch_end(self, state: TrainState, metrics: dict) -> None:
        if state.epoch in self.epochs:
            self._hand_out(state, epoch_name(state.epoch))

    def _hand_out(self, state: TrainState, name: str) -> None:
        self.trainer.callbacks.on_weights(state, name, state_copy(self.trainer.model))
