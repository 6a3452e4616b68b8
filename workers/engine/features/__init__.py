"""What a run may add to plain training, each a callback that owns its state (state_dict /
load_state_dict, kept in the checkpoint under its `state_key`), so a resume restores it without
the loop knowing. `build_features` chooses them from the config, in the order their hooks run:
before the caller's callbacks the ones that change the model or record the epoch, after them
the ones that decide whether the run stops and whether a checkpoint is due.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .best import BestCheckpoint
from .cadence import CheckpointCadence
from .early_stopping import EarlyStopping
from .final import Final
from .optimizer_switch import OptimizerSwitch
from .plateau_stop import PlateauStop
from .snapshots import WeightSnapshots
from .summary import run_summary
from .swa import StochasticWeightAveraging

__all__ = ["Features", "Final", "build_features", "run_summary"]


@dataclass
class Features:
    trainer: object
    best: BestCheckpoint
    swa: StochasticWeightAveraging | None = None
    early_stopping: EarlyStopping | None = None
    before: list = field(default_factory=list)  # hooks run before the caller's callbacks
    after: list = field(default_factory=list)  # and these after them

    def final_model(self) -> Final:
        """The model the run ends with: SWA's average, else the restored best, else the last."""
        state = self.trainer.state
        final = Final(self.trainer.model, state.last_metrics, state.last_details)
        for feature in (self.swa, self.early_stopping):
            if feature is not None:
                final = feature.finish(final)
        return final

    def checkpoints(self) -> dict[str, dict]:
        """ "last" (a resume checkpoint of the end) and "best" (the best epoch's weights)."""
        checkpoints = {"last": self.trainer.checkpoint()}
        best = self.best.checkpoint(self.trainer.spec)
        if best is not None:
            checkpoints["best"] = best
        return checkpoints


def build_features(trainer, checkpoint_seconds: float | None) -> Features:
    config = trainer.config
    stopping, switch, swa = (config.get(k) for k in ("early_stopping", "optimizer_switch", "swa"))
    best = BestCheckpoint(trainer, stopping["monitor"] if stopping else "val_loss")
    features = Features(trainer, best)
    if switch:
        features.before.append(OptimizerSwitch(trainer, switch))
    if swa:
        features.swa = StochasticWeightAveraging(trainer, swa)
        features.before.append(features.swa)
    features.before.append(best)
    features.before.append(WeightSnapshots(trainer))
    features.after.append(PlateauStop(trainer))
    if stopping:
        features.early_stopping = EarlyStopping(trainer, stopping, best)
        features.after.append(features.early_stopping)
    if checkpoint_seconds is not None:
        features.after.append(CheckpointCadence(trainer, checkpoint_seconds))
    return features
