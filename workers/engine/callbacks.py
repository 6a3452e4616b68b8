"""Extension points of the Trainer. Subclass Callback and override the hooks you need.

A run stops when someone asks: `state.request_stop(Stop.CANCEL)` from a callback (or from a
thread of its own). The engine knows what each kind of stop means for the run's end, never
who asked or why (a user, a schedule, the process around it going away).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Stop(enum.Enum):
    """Why a run stops before its last epoch, as far as the engine must know."""

    COMPLETE = "complete"  # its work is done early on purpose (e.g. the lr fell below min_lr)
    EARLY_STOP = "early_stopping"  # validation stopped improving
    CANCEL = "cancelled"  # asked to stop; may go on later from the checkpoint of that step
    HAND_ON = "handed_on"  # another attempt carries it on: checkpoint, no final model


# Stops after which the run may go on later: the engine hands out a checkpoint of that step.
CHECKPOINT_ON_STOP = (Stop.CANCEL, Stop.HAND_ON)


@dataclass
class TrainState:
    """What a callback may read, and the run's running record (saved in its checkpoints)."""

    epochs: int
    steps_per_epoch: int  # of the current epoch (a batch-size schedule changes it)
    total_steps: int
    epoch: int = 0
    step: int = 0
    stop: Stop | None = None
    stop_reason: str | None = None  # the stop in words, for the summary
    completed_epochs: int = 0
    last_train_loss: float | None = None  # the mean over the last completed epoch
    last_metrics: dict = field(default_factory=dict)  # the last validation's
    last_details: dict = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return self.total_steps

    def request_stop(self, stop: Stop, reason: str | None = None) -> None:
        """Ask the run to stop at its next chance; the first request stands."""
        if self.stop is None:
            self.stop, self.stop_reason = stop, reason or stop.value

    def record(self) -> dict:
        """The part a checkpoint keeps."""
        return {
            "completed_epochs": self.completed_epochs,
            "last_train_loss": self.last_train_loss,
            "last_metrics": self.last_metrics,
            "last_details": self.last_details,
        }

    def load_record(self, record: dict) -> None:
        self.completed_epochs = record["completed_epochs"]
        self.last_train_loss = record["last_train_loss"]
        self.last_metrics, self.last_details = record["last_metrics"], record["last_details"]


class Callback:
    """No-op hooks. A callback with state to carry across a resume names it `state_key` and
    implements state_dict()/load_state_dict(); the checkpoint keeps it under that key."""

    state_key: str | None = None

    def on_train_begin(self, state: TrainState) -> None:
        """Before the first step."""

    def on_epoch_start(self, state: TrainState) -> None:
        """Before an epoch's first step (not for an epoch a resume re-enters midway)."""

    def on_steps(self, state: TrainState, points: list[tuple[int, float, float]]) -> None:
        """A batch of (step, train_loss, lr), read from the device in one go."""

    def on_batch_size(self, state: TrainState, step: int, batch_size: int) -> None:
        """The batch size from `step` on (at the start, and whenever a schedule changes it)."""

    def on_event(self, state: TrainState, event: dict) -> None:
        """Something worth marking on the curves: {"type", "step", "epoch", ...details}."""

    def on_epoch_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        """After an epoch and its validation; `metrics` holds val_* values (empty without validation)."""

    def on_stopped_mid_epoch(self, state: TrainState, in_epoch: dict) -> None:
        """A stop came before the epoch's end: `in_epoch` is how far into it the run got."""

    def on_checkpoint(self, state: TrainState, checkpoint: dict) -> None:
        """A resume checkpoint (a plain dict, on the device); keep it somewhere."""

    def on_weights(self, state: TrainState, name: str, weights: dict) -> None:
        """A copy of the model's weights worth keeping (a state dict on the device): "initial"
        before the first step, "epoch-000012" at the end of a snapshot epoch."""

    def on_train_end(self, state: TrainState) -> None:
        """After the last step, whatever the outcome (not called when the run raised)."""

    def on_exception(self, state: TrainState, error: BaseException) -> None:
        """The run raised `error` (a divergence, bad data, a bug); it is re-raised after."""

    def state_dict(self) -> dict:
        """What a resumed run needs of this callback."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what state_dict returned."""


class Callbacks:
    """The run's callbacks, called in order: each hook of each, as one."""

    def __init__(self, callbacks: list[Callback]):
        self.items = list(callbacks)

    def __getattr__(self, hook: str):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args) -> None:
            for callback in self.items:
                getattr(callback, hook)(*args)

        return call

    def state_dict(self) -> dict:
        return {c.state_key: c.state_dict() for c in self.items if c.state_key}

    def load_state_dict(self, states: dict) -> None:
        for callback in self.items:
            if callback.state_key and callback.state_key in states:
                callback.load_state_dict(states[callback.state_key])
