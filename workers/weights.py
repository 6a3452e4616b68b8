"""A run's kept weights in storage, beside its checkpoints: the initial weights (the 1-D
landscape runs from them), the final model's, and the engine's snapshots for the trajectory.
Each is a plain state dict saved with torch.save, on the CPU."""

from __future__ import annotations

import io

import torch

from downhill.runs.checkpoints import weights_path

from .attempt import RunAttempt
from .checkpoints import load_stored, save_stored
from .engine import Callback, TrainState


def store_weights(run_id: int, name: str, state_dict: dict) -> str:
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state_dict.items()}, buffer)
    return save_stored(weights_path(run_id, name), buffer.getvalue())


def load_weights(run_id: int, name: str) -> dict:
    return load_stored(weights_path(run_id, name), "cpu")


class WeightStore(Callback):
    """Stores the weights the engine hands out (on_weights), while the attempt owns the run."""

    def __init__(self, attempt: RunAttempt):
        self.attempt = attempt

    def on_weights(self, state: TrainState, name: str, weights: dict) -> None:
        if self.attempt.owned:
            store_weights(self.attempt.run_id, name, weights)
