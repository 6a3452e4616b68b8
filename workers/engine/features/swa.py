"""Stochastic weight averaging from epoch `start_epoch`: the run's final model is the average
of the weights at each epoch's end (Izmailov et al. 2018, arXiv:1803.05407)."""

from __future__ import annotations

import torch
from torch.optim.swa_utils import AveragedModel, update_bn

from ..callbacks import Callback, TrainState
from ..checkpoint import state_copy
from .final import Final


class StochasticWeightAveraging(Callback):
    state_key = "swa"

    def __init__(self, trainer, spec: dict):
        self.trainer, self.spec = trainer, spec
        self.averaged: AveragedModel | None = None

    def on_epoch_start(self, state: TrainState) -> None:
        if state.epoch == self.spec["start_epoch"]:
            self.averaged = AveragedModel(self.trainer.model)
            self.trainer.emit("swa_start", lr=self.spec["lr"])

    def on_epoch_end(self, state: TrainState, metrics: dict) -> None:
        if self.averaged is not None:
            self.averaged.update_parameters(self.trainer.model)

    def finish(self, final: Final) -> Final:
        if self.averaged is None:
            return final
        trainer = self.trainer
        # Batch-norm statistics belong to the weights they normalize: recompute them for the average.
        if any(
            isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in trainer.model.modules()
        ):
            x, n = trainer.x, trainer.n
            update_bn(
                [(x[i : i + 1024],) for i in range(0, n, 1024)],
                self.averaged,
                device=trainer.device,
            )
        model = self.averaged.module
        metrics, details = final.metrics, final.details
        if trainer.val is not None:
            metrics, details = trainer.evaluate(model)
        trainer.emit("swa_final", epochs_averaged=int(self.averaged.n_averaged.item()))
        return Final(model, metrics, details, "swa")

    def state_dict(self) -> dict:
        return {"averaged": None if self.averaged is None else state_copy(self.averaged)}

    def load_state_dict(self, state: dict) -> None:
        if state["averaged"] is not None:
            self.averaged = AveragedModel(self.trainer.model)
            self.averaged.load_state_dict(state["averaged"])
