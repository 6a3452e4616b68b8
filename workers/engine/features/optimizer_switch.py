"""Switch to another optimizer at the start of epoch `at_epoch` (e.g. Adam, then SGD)."""

from __future__ import annotations

from ..callbacks import Callback, TrainState
from ..optimizers import build_optimizer


class OptimizerSwitch(Callback):
    state_key = "optimizer_switch"

    def __init__(self, trainer, spec: dict):
        self.trainer, self.spec = trainer, spec
        self.switched = False

    def on_epoch_start(self, state: TrainState) -> None:
        if state.epoch == self.spec["at_epoch"]:
            self._switch()
            self.trainer.emit(
                "optimizer_switch",
                optimizer=self.spec["optimizer"],
                learning_rate=self.spec["learning_rate"],
            )

    def _switch(self) -> None:
        # The lr of every step from here on is RunSchedule's, rescaled to the new base rate.
        trainer = self.trainer
        config = {**trainer.config, **self.spec, "nesterov": False}
        trainer.replace_optimizer(build_optimizer(config, trainer.model.parameters()))
        self.switched = True

    def state_dict(self) -> dict:
        return {"switched": self.switched}

    def load_state_dict(self, state: dict) -> None:
        if state["switched"]:  # before the optimizer's own state is loaded into it
            self._switch()
