"""Extension points of the loop. Subclass Callback and override the hooks you need."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainState:
    """What a callback may read; a callback stops the run by setting `stop_reason`."""

    epochs: int
    steps_per_epoch: int  # of the current epoch (a batch-size schedule changes it)
    total_steps: int
    epoch: int = 0
    step: int = 0
    stop_reason: str | None = None

    @property
    def steps(self) -> int:
        return self.total_steps


class Callback:
    def on_train_begin(self, state: TrainState) -> None:
        """Before the first step."""

    def on_steps(self, state: TrainState, points: list[tuple[int, float, float]]) -> None:
        """A batch of (step, train_loss, lr), read from the device in one go."""

    def on_batch_size(self, state: TrainState, step: int, batch_size: int) -> None:
        """The batch size from `step` on (at the start, and whenever a schedule changes it)."""

    def on_event(self, state: TrainState, event: dict) -> None:
        """Something worth marking on the curves: {"type", "step", "epoch", ...details}."""

    def on_checkpoint(self, state: TrainState, checkpoint: dict) -> None:
        """A resume checkpoint at an epoch end (see fit's `checkpoint_seconds`); keep it somewhere."""

    def on_epoch_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        """After an epoch and its validation; `metrics` holds val_* values (empty without validation)."""

    def on_train_end(self, state: TrainState) -> None:
        """After the last step, whatever the outcome (not called when the run raised)."""
