"""The Trainer: one run's training, its loop read top to bottom in `fit`.

Data stays resident on the device (small tabular sets fit; no per-sample DataLoader). Step
losses stay on the device too and are read to the host in batches, about once a second and at
every epoch's end: a `.item()` per step would stall a GPU on every step. The lr of every step
is workers.contract.schedules.RunSchedule's, the one the web's preview plots. What a run may
add to plain training (optimizer switch, SWA, best-model tracking, early stopping, the plateau
stop, checkpoints) is a callback in features/ that keeps its own state for a resume. With
`ranks` the same loop is one rank of a distributed run: each step trains this rank's share of
the global batch through DDP, and the losses and stop requests are agreed every SYNC_STEPS
steps (distributed.py says how the batch is split).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from workers.contract.schedules import RunSchedule
from workers.contract.splits import batch_sizes_per_epoch, steps_per_epoch

from .callbacks import Callback, Callbacks, Stop, TrainState
from .checkpoint import state_copy, upgrade_checkpoint
from .data import TrainingData
from .distributed import SYNC_STEPS, Ranks
from .evaluate import evaluate
from .features import build_features, run_summary
from .init import apply_init
from .losses import build_objective
from .models import build_model
from .optimizers import build_optimizer

CHECKPOINT_VERSION = 2  # 1: the flat layout of before the Trainer (checkpoint.py upgrades it)


class Diverged(RuntimeError):
    """The loss became NaN or infinite at `step`; the message tells the user what to try."""

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


@dataclass
class FitResult:
    model: torch.nn.Module  # the run's final model: SWA-averaged, restored best, or last
    state: TrainState
    summary: dict = field(default_factory=dict)
    checkpoints: dict[str, dict] = field(default_factory=dict)  # "best" and "last"
    target_scale: dict | None = None  # {"mean", "std"}: the model's outputs are standardized


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def divergence_message(what: str, value: float, step: int, epoch: int, lr: float) -> str:
    became = "NaN" if math.isnan(value) else "infinite"
    return (
        f"Training diverged: the {what} became {became} at step {step} (epoch {epoch}). "
        f"A learning rate too high for this model and data is the usual cause; "
        f"try {lr / 10:g} instead of {lr:g}."
    )


class Trainer:
    """Everything one run trains with, in one object: model, optimizer, schedule, data on the
    device, the state callbacks read, and the callbacks (features first, the caller's among them).
    """

    def __init__(self, config: dict, data: TrainingData, callbacks=(), *, device=None,
                 sync_seconds: float = 1.0, checkpoint_seconds: float | None = None,
                 ranks: Ranks | None = None):  # fmt: skip
        self.config, self.data, self.ranks = config, data, ranks
        self.device = device or pick_device()
        self.sync_seconds = sync_seconds
        torch.manual_seed(config["seed"])
        self.shuffle = torch.Generator().manual_seed(config["seed"])
        n_classes = len(data.classes) if data.classes else None
        self.objective = build_objective(config["loss"], data.task, n_classes,
                                         data.preprocessing.get("target_scale"))  # fmt: skip
        model = build_model(config["model"], data.n_features, self.objective.n_outputs)
        apply_init(model, config["init"])
        self.model = model.to(self.device)
        self.forward = self.model  # DDP's wrapper around it, with several ranks
        if ranks is not None:
            ids = [self.device] if self.device.type == "cuda" else None
            self.forward = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.optimizer = build_optimizer(config, self.model.parameters())
        self.x = data.x_train.to(self.device)
        self.y = self.objective.encode_targets(data.y_train.to(self.device))
        self.val = None  # (x, targets, labels) of the validation rows
        if data.x_val is not None:
            labels = data.y_val.to(self.device)
            self.val = (data.x_val.to(self.device), self.objective.encode_targets(labels), labels)
        self.n = len(self.x)
        self.batch_sizes = batch_sizes_per_epoch(self.n, config)
        self.epoch_steps = steps_per_epoch(self.n, config)
        self.schedule = RunSchedule(config, self.epoch_steps)
        self.lr = math.nan  # the lr the optimizer holds; NaN: set it at the next step
        self.state = TrainState(epochs=config["epochs"], steps_per_epoch=self.epoch_steps[0],
                                total_steps=sum(self.epoch_steps))  # fmt: skip
        self.features = build_features(self, checkpoint_seconds)
        self.callbacks = Callbacks(self.features.before + list(callbacks) + self.features.after)
        self._pending: list[tuple[torch.Tensor, int, float]] = []  # (loss on the device, step, lr)
        self._epoch_losses: list[float] = []
        self._next_sync = time.monotonic() + sync_seconds
        self._clip = _clipper(config.get("gradient_clipping") or {})
        self.bf16 = config.get("precision") == "bf16" and self.device.type == "cuda"

    def fit(self, resume: dict | None = None) -> FitResult:
        """Train to the last epoch or to a requested stop. Raises Diverged when the loss stops
        being finite. `resume` (a checkpoint) carries the run on from the step after it, as if
        it had never stopped: same weights, optimizer, schedule, random streams and features."""
        state, callbacks = self.state, self.callbacks
        try:
            callbacks.on_train_begin(state)
            if self.config.get("precision") == "bf16" and not self.bf16:
                self.emit(
                    "precision", message="bf16 needs a GPU; this run trained in fp32 on the CPU"
                )
            partial = self.restore(resume) if resume is not None else None
            self.model.train()
            for epoch in range(state.completed_epochs + 1, state.epochs + 1):
                state.epoch, state.steps_per_epoch = epoch, self.epoch_steps[epoch - 1]
                batch_size = self.batch_sizes[epoch - 1]
                skip = self.begin_epoch(epoch, partial)  # steps done before a mid-epoch resume
                epoch_rng = self.shuffle.get_state()  # kept for a checkpoint taken mid-epoch
                steps_done = self.train_epoch(batch_size, skip)
                self.sync()
                for event in self.schedule.drain_events():
                    callbacks.on_event(state, event)
                if state.stop:  # asked before the epoch's end: its validation is not done
                    callbacks.on_stopped_mid_epoch(state, {"epoch": epoch, "shuffle": epoch_rng,
                        "steps": steps_done, "losses": list(self._epoch_losses)})  # fmt: skip
                    break
                state.last_train_loss = sum(self._epoch_losses) / len(self._epoch_losses)
                metrics = self.validate()
                state.completed_epochs = epoch
                callbacks.on_epoch_end(state, metrics)  # features decide stops and checkpoints
                if self.ranks is not None:  # rank 0's callbacks may have asked for a stop
                    self.ranks.agree_stop(state, self.device)
                if state.stop:
                    break
        except BaseException as error:
            callbacks.on_exception(state, error)
            raise
        if state.stop is Stop.HAND_ON:  # the next attempt makes the final model, not this one
            callbacks.on_train_end(state)
            return FitResult(
                model=self.model, state=state, summary={"stop_reason": state.stop_reason}
            )
        final = self.features.final_model()  # SWA's average, the restored best, or the last
        callbacks.on_train_end(state)
        return FitResult(model=final.model, state=state, summary=run_summary(self, final),
                         checkpoints=self.features.checkpoints(),
                         target_scale=self.data.preprocessing.get("target_scale"))  # fmt: skip

    # --- the pieces of the loop ---
    def train_epoch(self, batch_size: int, skip: int) -> int:
        """The epoch's steps from step `skip` on, until its end or a requested stop; returns
        the steps of the epoch done."""
        state, n = self.state, self.n
        # Full batch: every step sees every row, so shuffling would only cost a gather.
        order = (
            None if batch_size >= n else torch.randperm(n, generator=self.shuffle).to(self.device)
        )
        steps_done = skip
        for i, start in enumerate(range(0, n, batch_size)):
            if i < skip:  # done before the checkpoint this run resumed from
                continue
            state.step, steps_done = state.step + 1, i + 1
            lr = self.schedule.lr_at(state.step)
            if lr != self.lr:  # a plain float comparison, no device work
                for group in self.optimizer.param_groups:
                    group["lr"] = lr
                self.lr = lr
            if self.ranks is not None:  # this rank's share of the global batch
                loss = self.train_shard(order, start, batch_size)
            elif order is None:
                loss = self.train_step(self.x, self.y)
            else:
                batch = order[start : start + batch_size]
                loss = self.train_step(self.x[batch], self.y[batch])
            self._pending.append((loss.detach(), state.step, lr))
            if self.sync_due():
                self.sync()
                self._next_sync = time.monotonic() + self.sync_seconds
                if state.stop:
                    break
        return steps_done

    def sync_due(self) -> bool:
        """Time to read the losses: about every sync_seconds on one process (the host clock
        only, no device sync); every SYNC_STEPS steps with several, the same step on all."""
        if self.ranks is None:
            return time.monotonic() >= self._next_sync
        return self.state.step % SYNC_STEPS == 0

    def train_shard(self, order: torch.Tensor | None, start: int, batch_size: int) -> torch.Tensor:
        """One update of the global batch at `start` of `order`, this rank taking its rows
        (workers/engine/distributed.py); returns this rank's scaled loss."""
        batch = order[start : start + batch_size] if order is not None else None
        if batch is None:  # full batch: the rows in their order
            batch = torch.arange(self.n, device=self.device)
        rows = self.ranks.shard(batch)
        weight = self.ranks.loss_weight(len(rows), len(batch))
        return self.train_step(self.x[rows], self.y[rows], weight)

    def train_step(
        self, xb: torch.Tensor, yb: torch.Tensor, weight: float | None = None
    ) -> torch.Tensor:
        """One optimizer update; the loss stays on the device. `weight` scales this rank's
        mean loss to its share of the global batch's (several ranks)."""
        with (
            torch.autocast("cuda", dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()
        ):
            if weight is None:
                loss = self.objective.loss(self.model(xb), yb)
            elif len(xb) == 0:  # the epoch's last batch left this rank no row: no gradient
                loss = self.forward(xb).sum() * 0.0
            else:
                loss = self.objective.loss(self.forward(xb), yb) * weight
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self._clip is not None:
            self._clip(self.model.parameters())
        self.optimizer.step()
        return loss

    def sync(self) -> None:
        """Read pending step losses to the host at once, check them, hand them to callbacks."""
        if not self._pending:
            return
        losses = torch.stack([loss for loss, _, _ in self._pending]).float()
        if self.ranks is not None:  # every rank's share summed: the global batches' losses
            losses = self.ranks.sum_losses(losses)
        losses = losses.tolist()  # a sync
        points = [(s, v, lr) for (_, s, lr), v in zip(self._pending, losses, strict=True)]
        self._pending.clear()
        for s, v, lr in points:
            if not math.isfinite(v):  # the points before the bad one are still worth keeping
                self.callbacks.on_steps(self.state, [p for p in points if p[0] < s])
                message = divergence_message("training loss", v, s, self.state.epoch, lr)
                raise Diverged(message, s)
        self._epoch_losses.extend(v for _, v, _ in points)
        self.callbacks.on_steps(self.state, points)
        if self.ranks is not None:
            self.ranks.agree_stop(self.state, self.device)

    def begin_epoch(self, epoch: int, partial: dict | None) -> int:
        """An epoch's start: its batch size and the features' epoch start, or, re-entering the
        epoch a checkpoint stopped in, its shuffle and losses. Returns the steps to skip."""
        self._epoch_losses.clear()
        if partial and epoch == partial["epoch"]:  # what the epoch's start did was done
            self._epoch_losses.extend(partial["losses"])
            self.shuffle.set_state(partial["shuffle"])  # the epoch's own order, drawn again
            return partial["steps"]
        if epoch == 1 or self.batch_sizes[epoch - 1] != self.batch_sizes[epoch - 2]:
            self.callbacks.on_batch_size(
                self.state, self.state.step + 1, self.batch_sizes[epoch - 1]
            )
        self.callbacks.on_epoch_start(self.state)
        return 0

    def validate(self) -> dict[str, float]:
        """The epoch's validation metrics (empty without validation rows)."""
        if self.val is None:
            return {}
        metrics, details = self.evaluate(self.model)
        if not math.isfinite(metrics["val_loss"]):
            value, state = metrics["val_loss"], self.state
            message = divergence_message("validation loss", value, state.step, state.epoch, self.lr)
            raise Diverged(message, state.step)
        self.state.last_metrics, self.state.last_details = metrics, details
        return metrics

    def evaluate(self, model: torch.nn.Module) -> tuple[dict, dict]:
        return evaluate(model, self.objective, *self.val)

    def emit(self, event_type: str, **details) -> None:
        event = {"type": event_type, "step": self.state.step, "epoch": self.state.epoch, **details}
        self.callbacks.on_event(self.state, event)

    def replace_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        self.optimizer, self.lr = optimizer, math.nan  # the next step sets its lr

    # --- checkpoints ---
    @property
    def spec(self) -> dict:
        """What a saved model needs to be rebuilt and used."""
        return {"config": self.config, "preprocessing": self.data.preprocessing,
                "n_features": self.data.n_features, "n_outputs": self.objective.n_outputs}  # fmt: skip

    def checkpoint(self, in_epoch: dict | None = None) -> dict:
        """All a resumed run needs (kept on the device; the caller moves it to storage)."""
        return {
            **self.spec, "version": CHECKPOINT_VERSION, "model": state_copy(self.model),
            "optimizer": copy.deepcopy(self.optimizer.state_dict()),
            "schedule": self.schedule.state_dict(), "step": self.state.step,
            "epoch": self.state.completed_epochs, "in_epoch": in_epoch,
            "rng": {"torch": torch.get_rng_state(), "shuffle": self.shuffle.get_state()},
            "trainer": copy.deepcopy(self.state.record()),
            "callbacks": copy.deepcopy(self.callbacks.state_dict()),
        }  # fmt: skip

    def restore(self, checkpoint: dict) -> dict | None:
        """Carry on from `checkpoint`; returns its place inside an epoch, if it stopped in one."""
        checkpoint = upgrade_checkpoint(checkpoint, self.config)
        self.model.load_state_dict(checkpoint["model"])
        self.callbacks.load_state_dict(checkpoint["callbacks"])  # an optimizer switch, SWA, ...
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.schedule.load_state_dict(checkpoint["schedule"])
        self.state.load_record(checkpoint["trainer"])
        torch.set_rng_state(checkpoint["rng"]["torch"])
        self.shuffle.set_state(checkpoint["rng"]["shuffle"])
        self.state.step, self.state.epoch = checkpoint["step"], checkpoint["epoch"]
        self.emit("resumed", from_step=self.state.step)
        return checkpoint["in_epoch"]


def _clipper(clipping: dict) -> Callable | None:
    if "max_norm" in clipping:
        return lambda params: torch.nn.utils.clip_grad_norm_(
            params, clipping["max_norm"], foreach=True
        )
    if "max_value" in clipping:
        return lambda params: torch.nn.utils.clip_grad_value_(
            params, clipping["max_value"], foreach=True
        )
    return None


def fit(config: dict, data: TrainingData, callbacks: list[Callback] = (), *, device=None,
        sync_seconds: float = 1.0, checkpoint_seconds: float | None = None,
        resume: dict | None = None, ranks: Ranks | None = None) -> FitResult:  # fmt: skip
    """Train `config`'s model on `data` (see Trainer.fit). With `checkpoint_seconds`, callbacks
    receive a resume checkpoint (on_checkpoint) at the first epoch end after that many seconds,
    and at the step where a cancel or a hand-on stops the run."""
    trainer = Trainer(config, data, callbacks, device=device, sync_seconds=sync_seconds,
                      checkpoint_seconds=checkpoint_seconds, ranks=ranks)  # fmt: skip
    return trainer.fit(resume)
