"""The training loop: one function, read top to bottom.

Data stays resident on the device (small tabular sets fit; no per-sample DataLoader). Step
losses stay on the device too and are read to the host in batches, about once a second and at
every epoch's end: a `.item()` per step would stall a GPU on every step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from .callbacks import Callback, TrainState
from .data import TrainingData, batch_count
from .losses import build_loss
from .models import build_model
from .optimizers import build_optimizer

EVAL_CHUNK_ROWS = 65_536  # validation in chunks bounds memory on large sets


class Diverged(RuntimeError):
    """The loss became NaN or infinite at `step`; the message tells the user what to try."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


@dataclass
class FitResult:
    model: torch.nn.Module
    state: TrainState
    summary: dict = field(default_factory=dict)


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def _divergence_message(what: str, value: float, step: int, epoch: int, config: dict) -> str:
    lr = config["learning_rate"]
    became = "NaN" if math.isnan(value) else "infinite"
    return (
        f"Training diverged: the {what} became {became} at step {step} (epoch {epoch}). "
        f"A learning rate too high for this model and data is the usual cause; "
        f"try {lr / 10:g} instead of {lr:g}."
    )


@torch.no_grad()
def evaluate(model, loss_sum, x: torch.Tensor, y: torch.Tensor, task: str) -> dict[str, float]:
    """Validation loss (mean over rows) and, for classification, accuracy; one host sync."""
    model.eval()
    total = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device)
    for start in range(0, len(x), EVAL_CHUNK_ROWS):
        xb, yb = x[start : start + EVAL_CHUNK_ROWS], y[start : start + EVAL_CHUNK_ROWS]
        out = model(xb)
        total += loss_sum(out, yb)
        if task == "classification":
            correct += (out.argmax(dim=1) == yb).sum()
    model.train()
    loss, n_correct = torch.stack([total, correct]).tolist()  # the one sync point of validation
    metrics = {"val_loss": loss / len(x)}
    if task == "classification":
        metrics["val_accuracy"] = n_correct / len(x)
    return metrics


def fit(
    config: dict,
    data: TrainingData,
    callbacks: list[Callback] = (),
    *,
    device: torch.device | None = None,
    sync_seconds: float = 1.0,
) -> FitResult:
    """Train `config`'s model on `data`. Raises Diverged when the loss stops being finite."""
    device = device or pick_device()
    torch.manual_seed(config["seed"])
    shuffle = torch.Generator().manual_seed(config["seed"])

    model = build_model(config["model"], data.n_features, data.n_outputs).to(device)
    loss_fn = build_loss(config["loss"])
    loss_sum = build_loss(config["loss"], reduction="sum")
    optimizer = build_optimizer(config, model.parameters())

    x, y = data.x_train.to(device), data.y_train.to(device)
    has_val = data.x_val is not None
    if has_val:
        x_val, y_val = data.x_val.to(device), data.y_val.to(device)
    n = len(x)
    batch_size, steps_per_epoch = batch_count(n, config["batch_size"])
    state = TrainState(epochs=config["epochs"], steps_per_epoch=steps_per_epoch)
    for cb in callbacks:
        cb.on_train_begin(state)

    pending_losses: list[torch.Tensor] = []  # on the device until the next sync
    pending_meta: list[tuple[int, float]] = []  # (step, lr) for each pending loss
    epoch_losses: list[float] = []
    best = {"val_loss": math.inf, "epoch": 0}
    history: dict[str, float] = {}
    completed_epochs = 0

    def sync() -> None:
        """Read pending step losses to the host at once, check them, hand them to callbacks."""
        if not pending_losses:
            return
        values = torch.stack(pending_losses).tolist()  # host-device sync point
        points = [(s, v, lr) for (s, lr), v in zip(pending_meta, values, strict=True)]
        pending_losses.clear()
        pending_meta.clear()
        for s, v, _ in points:
            if not math.isfinite(v):
                for cb in callbacks:  # the points before the bad one are still worth keeping
                    cb.on_steps(state, [p for p in points if p[0] < s])
                raise Diverged(_divergence_message("training loss", v, s, state.epoch, config), s)
        epoch_losses.extend(v for _, v, _ in points)
        for cb in callbacks:
            cb.on_steps(state, points)

    next_sync = time.monotonic() + sync_seconds
    model.train()
    for epoch in range(1, config["epochs"] + 1):
        state.epoch = epoch
        epoch_losses.clear()
        # Full batch: every step sees every row, so shuffling would only cost a gather.
        order = None if batch_size == n else torch.randperm(n, generator=shuffle).to(device)
        for start in range(0, n, batch_size):
            if order is None:
                xb, yb = x, y
            else:
                batch = order[start : start + batch_size]
                xb, yb = x[batch], y[batch]
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            state.step += 1
            pending_losses.append(loss.detach())
            pending_meta.append((state.step, optimizer.param_groups[0]["lr"]))
            if time.monotonic() >= next_sync:  # host clock only: no device sync here
                sync()
                next_sync = time.monotonic() + sync_seconds
                if state.stop_reason:
                    break
        sync()
        if state.stop_reason:
            break

        metrics: dict[str, float] = {}
        if has_val:
            metrics = evaluate(model, loss_sum, x_val, y_val, data.task)
            if not math.isfinite(metrics["val_loss"]):
                raise Diverged(
                    _divergence_message(
                        "validation loss", metrics["val_loss"], state.step, epoch, config
                    ),
                    state.step,
                )
            if metrics["val_loss"] < best["val_loss"]:
                best = {"val_loss": metrics["val_loss"], "epoch": epoch, **metrics}
        history = {"train_loss": sum(epoch_losses) / len(epoch_losses), **metrics}
        completed_epochs = epoch
        for cb in callbacks:
            cb.on_epoch_end(state, metrics)
        if state.stop_reason:
            break

    for cb in callbacks:
        cb.on_train_end(state)
    summary = {
        "final_train_loss": history.get("train_loss"),
        "epochs_completed": completed_epochs,
        "steps_completed": state.step,
        "batch_size": batch_size,
        "steps_per_epoch": steps_per_epoch,
        "rows": data.sizes,
    }
    if has_val and best["epoch"]:
        summary.update(
            final_val_loss=history.get("val_loss"),
            best_val_loss=best["val_loss"],
            best_epoch=best["epoch"],
        )
        if data.task == "classification":
            summary.update(
                val_accuracy=history.get("val_accuracy"), best_val_accuracy=best["val_accuracy"]
            )
    if state.stop_reason:
        summary["stop_reason"] = state.stop_reason
    if data.preprocessing.get("ignored_columns"):
        summary["ignored_columns"] = data.preprocessing["ignored_columns"]
    return FitResult(model=model, state=state, summary=summary)
