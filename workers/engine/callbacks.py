"""Extension points of the loop. Subclass Callback and override the hooks you need."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TrainState:
    """What a callback may read; a callback stops the run by setting `stop_reason`."""

    epochs: int
    steps_per_epoch: int
    epoch: int = 0
    step: int = 0
    stop_reason: str | None = None

    @property
    def steps(self) -> int:
        return self.epochs * self.steps_per_epoch


class Callback:
    def on_train_begin(self, state: TrainState) -> None:
        """Before the first step."""

    def on_steps(self, state: TrainState, points: list[tuple[int, float, float]]) -> None:
        """A batch of (step, train_loss, lr), read from the device in one go."""

    def on_epoch_end(self, state: TrainState, metrics: dict[str, float]) -> None:
        """After an epoch and its validation; `metrics` holds val_* values (empty without validation)."""

    def on_train_end(self, state: TrainState) -> None:
        """After the last step, whatever the outcome (not called when the run raised)."""
