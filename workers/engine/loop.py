"""The training loop: one function, read top to bottom.

Data stays resident on the device (small tabular sets fit; no per-sample DataLoader). Step
losses stay on the device too and are read to the host in batches, about once a second and at
every epoch's end: a `.item()` per step would stall a GPU on every step. The `lr` of every step
comes from the run's schedule (schedules.py documents each formula).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import time
from dataclasses import dataclass, field

import torch
from torch.optim.swa_utils import AveragedModel, update_bn

from workers.contract.choices import EARLY_STOPPING_MONITORS
from workers.contract.schedules import RunSchedule
from workers.contract.splits import batch_sizes_per_epoch, steps_per_epoch

from .callbacks import Callback, TrainState
from .data import TrainingData
from .evaluate import evaluate
from .init import apply_init
from .losses import build_objective
from .models import build_model
from .optimizers import build_optimizer

VAL_PREDICTION_SAMPLE = 500
# Stops after which the run may go on later (resumed as a new run, or by the next worker), so
# the loop hands out a checkpoint at the step where it stopped.
CHECKPOINT_ON_STOP = ("cancelled", "worker_shutdown")
# Stops after which another attempt carries the run on: no final model, summary or test
# evaluation to make (a stopping worker should stop fast).
HANDED_ON = ("worker_shutdown", "lease_lost")


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


def pick_device() -> torch.device:
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def _divergence_message(what: str, value: float, step: int, epoch: int, lr: float) -> str:
    became = "NaN" if math.isnan(value) else "infinite"
    return (
        f"Training diverged: the {what} became {became} at step {step} (epoch {epoch}). "
        f"A learning rate too high for this model and data is the usual cause; "
        f"try {lr / 10:g} instead of {lr:g}."
    )


def _improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


@dataclass
class Tracker:
    """The loop's running record of the run, kept in checkpoints so a resumed run goes on."""

    best: dict = field(default_factory=lambda: {
        "value": None, "epoch": 0, "metrics": {}, "details": {}, "weights": None, "step": 0,
    })  # fmt: skip
    last_metrics: dict = field(default_factory=dict)
    last_details: dict = field(default_factory=dict)
    last_train_loss: float | None = None  # the mean over the last completed epoch
    completed_epochs: int = 0
    bad_epochs: int = 0  # epochs without an improvement of min_delta, for early stopping
    stopping_best: float | None = None
    min_val_loss: float = math.inf
    lr_scale: float = 1.0  # an optimizer switch rescales the schedule to the new base rate


def _state_copy(model: torch.nn.Module) -> dict:
    """A detached copy of the weights, kept on the device (no host sync, no disk)."""
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def fit(
    config: dict,
    data: TrainingData,
    callbacks: list[Callback] = (),
    *,
    device: torch.device | None = None,
    sync_seconds: float = 1.0,
    checkpoint_seconds: float | None = None,
    resume: dict | None = None,
) -> FitResult:
    """Train `config`'s model on `data`. Raises Diverged when the loss stops being finite.

    With `checkpoint_seconds`, callbacks receive a resume checkpoint (on_checkpoint) at the
    first epoch end after that many seconds, and at the step where a cancel or a worker
    shutdown stops the run (mid-epoch: the checkpoint records how far into the epoch it got).
    `resume` (such a checkpoint) carries a run on from the step after it, as if it had never
    stopped: same weights, optimizer, schedule, random streams and running record, so a CPU
    run's series continue exactly."""
    device = device or pick_device()
    torch.manual_seed(config["seed"])
    shuffle = torch.Generator().manual_seed(config["seed"])

    objective = build_objective(
        config["loss"], data.task, len(data.classes) if data.classes else None
    )
    model = build_model(config["model"], data.n_features, objective.n_outputs)
    apply_init(model, config["init"])
    model = model.to(device)
    optimizer = build_optimizer(config, model.parameters())

    x, labels = data.x_train.to(device), data.y_train.to(device)
    y = objective.encode_targets(labels)
    has_val = data.x_val is not None
    if has_val:
        x_val, labels_val = data.x_val.to(device), data.y_val.to(device)
        y_val = objective.encode_targets(labels_val)
    n = len(x)
    batch_sizes = batch_sizes_per_epoch(n, config)
    epoch_steps = steps_per_epoch(n, config)
    schedule = RunSchedule(config, epoch_steps)
    clipping = config.get("gradient_clipping") or {}
    switch, swa, stopping = (
        config.get("optimizer_switch"),
        config.get("swa"),
        config.get("early_stopping"),
    )
    bf16 = config.get("precision") == "bf16" and device.type == "cuda"
    autocast = (
        (lambda: torch.autocast(device_type="cuda", dtype=torch.bfloat16))
        if bf16
        else contextlib.nullcontext
    )

    state = TrainState(
        epochs=config["epochs"], steps_per_epoch=epoch_steps[0], total_steps=sum(epoch_steps)
    )
    for cb in callbacks:
        cb.on_train_begin(state)

    def emit(event_type: str, **details) -> None:
        event = {"type": event_type, "step": state.step, "epoch": state.epoch, **details}
        for cb in callbacks:
            cb.on_event(state, event)

    if config.get("precision") == "bf16" and not bf16:
        emit("precision", message="bf16 needs a GPU; this run trained in fp32 on the CPU")

    pending_losses: list[torch.Tensor] = []  # on the device until the next sync
    pending_meta: list[tuple[int, float]] = []  # (step, lr) for each pending loss
    epoch_losses: list[float] = []
    monitor = stopping["monitor"] if stopping else "val_loss"
    mode = EARLY_STOPPING_MONITORS[monitor]
    track = Tracker()  # everything a resumed run must carry on with
    swa_model = None
    current_lr = math.nan
    start_epoch = 1
    # A checkpoint taken mid-epoch: the epoch, its shuffle, its steps done and their losses.
    partial = resume.get("in_epoch") if resume is not None else None
    if resume is not None:
        model.load_state_dict(resume["model"])
        resumed_epoch = partial["epoch"] if partial else resume["epoch"]
        if switch and resumed_epoch >= switch["at_epoch"]:  # the switch had happened
            optimizer = build_optimizer({**config, **switch, "nesterov": False}, model.parameters())
        optimizer.load_state_dict(resume["optimizer"])
        schedule.load_state_dict(resume["schedule"])
        if resume["swa"] is not None:
            swa_model = AveragedModel(model)
            swa_model.load_state_dict(resume["swa"])
        tracker = dict(resume["tracker"])
        if "history" in tracker:  # a checkpoint of before 2026-11-21: the epoch's means
            tracker["last_train_loss"] = tracker.pop("history").get("train_loss")
        track = Tracker(**tracker)
        torch.set_rng_state(resume["rng"]["torch"])
        shuffle.set_state(resume["rng"]["shuffle"])
        state.step, state.epoch = resume["step"], resume["epoch"]
        start_epoch = resume["epoch"] + 1  # == partial["epoch"] when it stopped mid-epoch
        emit("resumed", from_step=state.step)
    spec = {"config": config, "preprocessing": data.preprocessing, "n_features": data.n_features,
            "n_outputs": objective.n_outputs}  # fmt: skip

    def training_checkpoint(in_epoch: dict | None = None) -> dict:
        """All a resumed run needs (kept on the device; the caller moves it to storage)."""
        return {
            **spec, "model": _state_copy(model), "optimizer": copy.deepcopy(optimizer.state_dict()),
            "schedule": schedule.state_dict(), "swa": None if swa_model is None else _state_copy(swa_model),
            "tracker": dataclasses.asdict(track), "step": state.step, "epoch": track.completed_epochs,
            "rng": {"torch": torch.get_rng_state(), "shuffle": shuffle.get_state()}, "in_epoch": in_epoch,
        }  # fmt: skip

    last_checkpoint = time.monotonic()

    def sync() -> None:
        """Read pending step losses to the host at once, check them, hand them to callbacks."""
        if not pending_losses:
            return
        values = torch.stack(pending_losses).float().tolist()  # host-device sync point
        points = [(s, v, lr) for (s, lr), v in zip(pending_meta, values, strict=True)]
        pending_losses.clear()
        pending_meta.clear()
        for s, v, lr in points:
            if not math.isfinite(v):
                for cb in callbacks:  # the points before the bad one are still worth keeping
                    cb.on_steps(state, [p for p in points if p[0] < s])
                raise Diverged(_divergence_message("training loss", v, s, state.epoch, lr), s)
        epoch_losses.extend(v for _, v, _ in points)
        for cb in callbacks:
            cb.on_steps(state, points)

    next_sync = time.monotonic() + sync_seconds
    model.train()
    for epoch in range(start_epoch, config["epochs"] + 1):
        state.epoch = epoch
        state.steps_per_epoch = epoch_steps[epoch - 1]
        epoch_losses.clear()
        batch_size = batch_sizes[epoch - 1]
        # Resuming mid-epoch: what the epoch's start did (batch size, switch, SWA) was done.
        skip = 0
        if partial and epoch == partial["epoch"]:
            skip = partial["steps"]
            epoch_losses.extend(partial["losses"])
            shuffle.set_state(partial["shuffle"])  # the epoch's own order, drawn again
        elif epoch == 1 or batch_size != batch_sizes[epoch - 2]:
            for cb in callbacks:
                cb.on_batch_size(state, state.step + 1, batch_size)
        if switch and epoch == switch["at_epoch"] and not skip:
            optimizer = build_optimizer({**config, **switch, "nesterov": False}, model.parameters())
            track.lr_scale = switch["learning_rate"] / config["learning_rate"]
            current_lr = math.nan
            emit(
                "optimizer_switch",
                optimizer=switch["optimizer"],
                learning_rate=switch["learning_rate"],
            )
        if swa and epoch == swa["start_epoch"] and not skip:
            swa_model = AveragedModel(model)
            emit("swa_start", lr=swa["lr"])

        # Full batch: every step sees every row, so shuffling would only cost a gather.
        epoch_shuffle = shuffle.get_state()  # kept for a checkpoint taken mid-epoch
        order = None if batch_size >= n else torch.randperm(n, generator=shuffle).to(device)
        steps_done = skip  # steps of this epoch so far
        for step_in_epoch, start in enumerate(range(0, n, batch_size)):
            if step_in_epoch < skip:  # done before the checkpoint this run resumed from
                continue
            state.step += 1
            steps_done = step_in_epoch + 1
            lr = schedule.lr_at(state.step)  # as the preview plots it
            if lr != current_lr:  # a plain float comparison, no device work
                for group in optimizer.param_groups:
                    group["lr"] = lr
                current_lr = lr
            if order is None:
                xb, yb = x, y
            else:
                batch = order[start : start + batch_size]
                xb, yb = x[batch], y[batch]
            with autocast():
                loss = objective.loss(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if "max_norm" in clipping:
                torch.nn.utils.clip_grad_norm_(
                    model.parameters(), clipping["max_norm"], foreach=True
                )
            elif "max_value" in clipping:
                torch.nn.utils.clip_grad_value_(
                    model.parameters(), clipping["max_value"], foreach=True
                )
            optimizer.step()
            pending_losses.append(loss.detach())
            pending_meta.append((state.step, lr))
            if time.monotonic() >= next_sync:  # host clock only: no device sync here
                sync()
                next_sync = time.monotonic() + sync_seconds
                if state.stop_reason:
                    break
        sync()
        for event in schedule.drain_events():
            for cb in callbacks:
                cb.on_event(state, event)
        stop = state.stop_reason  # read once: the writer thread may set it at any moment
        if stop:
            if checkpoint_seconds is not None and stop in CHECKPOINT_ON_STOP:
                in_epoch = {"epoch": epoch, "shuffle": epoch_shuffle, "steps": steps_done,
                            "losses": list(epoch_losses)}  # fmt: skip
                for cb in callbacks:
                    cb.on_checkpoint(state, training_checkpoint(in_epoch))
            break

        if swa_model is not None:
            swa_model.update_parameters(model)
        metrics: dict[str, float] = {}
        if has_val:
            metrics, details = evaluate(model, objective, x_val, y_val, labels_val)
            if not math.isfinite(metrics["val_loss"]):
                raise Diverged(
                    _divergence_message(
                        "validation loss", metrics["val_loss"], state.step, epoch, current_lr
                    ),
                    state.step,
                )
            track.last_metrics, track.last_details = metrics, details
            if _improved(metrics[monitor], track.best["value"], mode):
                track.best = {"value": metrics[monitor], "epoch": epoch, "step": state.step, "metrics": metrics,
                        "details": details, "weights": _state_copy(model)}  # fmt: skip
                emit("best_checkpoint", monitor=monitor, value=metrics[monitor])
            track.min_val_loss = min(track.min_val_loss, metrics["val_loss"])
            if stopping:  # improvement by at least min_delta resets the patience
                if _improved(metrics[monitor], track.stopping_best, mode, stopping["min_delta"]):
                    track.stopping_best, track.bad_epochs = metrics[monitor], 0
                else:
                    track.bad_epochs += 1
        track.last_train_loss = sum(epoch_losses) / len(epoch_losses)
        track.completed_epochs = epoch
        for cb in callbacks:
            cb.on_epoch_end(state, metrics)
        schedule.end_epoch(epoch, metrics.get("val_loss"))
        if schedule.stop_reason and not state.stop_reason:
            state.stop_reason = "lr_below_min"
            emit("stop", reason=schedule.stop_reason)
        stop = state.stop_reason
        if checkpoint_seconds is not None and (
            stop in CHECKPOINT_ON_STOP or time.monotonic() - last_checkpoint >= checkpoint_seconds
        ):
            checkpoint = training_checkpoint()
            for cb in callbacks:
                cb.on_checkpoint(state, checkpoint)
            last_checkpoint = time.monotonic()
        if stopping and track.bad_epochs >= stopping["patience_epochs"] and not stop:
            stop = state.stop_reason = "early_stopping"
            emit(
                "early_stop",
                monitor=monitor,
                best_epoch=track.best["epoch"],
                best_value=track.best["value"],
            )
        if stop:
            break

    if state.stop_reason in HANDED_ON:
        for cb in callbacks:
            cb.on_train_end(state)
        return FitResult(model=model, state=state, summary={"stop_reason": state.stop_reason})

    final_model = model
    summary_metrics = track.last_metrics
    if swa_model is not None:
        # Batch-norm statistics belong to the weights they normalize: recompute them for the average.
        if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            update_bn([(x[i : i + 1024],) for i in range(0, n, 1024)], swa_model, device=device)
        final_model = swa_model.module
        if has_val:
            summary_metrics, track.last_details = evaluate(
                final_model, objective, x_val, y_val, labels_val
            )
        emit("swa_final", epochs_averaged=int(swa_model.n_averaged.item()))
    elif stopping and stopping["restore_best"] and track.best["weights"] is not None:
        model.load_state_dict(track.best["weights"])
        summary_metrics, track.last_details = track.best["metrics"], track.best["details"]
        emit("restore_best", best_epoch=track.best["epoch"])

    for cb in callbacks:
        cb.on_train_end(state)

    summary = {
        "final_train_loss": track.last_train_loss,
        "epochs_completed": track.completed_epochs,
        "steps_completed": state.step,
        "batch_size": batch_sizes[0],
        "steps_per_epoch": epoch_steps[0],
        "rows": data.sizes,
    }
    if has_val and track.best["epoch"]:
        summary.update(
            final_val_loss=summary_metrics.get("val_loss"),
            best_val_loss=track.min_val_loss,
            best_epoch=track.best["epoch"],
            final_metrics=summary_metrics,
            **track.last_details,
        )
        if data.task == "classification":
            summary.update(
                val_accuracy=summary_metrics.get("val_accuracy"),
                best_val_accuracy=track.best["metrics"]["val_accuracy"],
            )
        else:  # for a predicted-vs-actual plot: the final model on the first validation rows
            with torch.no_grad():
                final_model.eval()
                rows = slice(0, VAL_PREDICTION_SAMPLE)
                predicted = objective.predict(final_model(x_val[rows]).float())
            summary["val_predictions"] = {
                "actual": labels_val[rows].flatten().tolist(),
                "predicted": predicted.flatten().tolist(),
            }
    if data.x_test is not None:  # once, on the final model: the test rows chose nothing
        test_labels = data.y_test.to(device)
        test_metrics, _ = evaluate(
            final_model, objective, data.x_test.to(device),
            objective.encode_targets(test_labels), test_labels,
        )  # fmt: skip
        summary["test_metrics"] = {
            "test_" + name.removeprefix("val_"): value for name, value in test_metrics.items()
        }
    if state.stop_reason:
        summary["stop_reason"] = state.stop_reason
    if data.preprocessing.get("ignored_columns"):
        summary["ignored_columns"] = data.preprocessing["ignored_columns"]

    checkpoints = {"last": training_checkpoint()}
    if track.best["weights"] is not None:
        checkpoints["best"] = {**spec, "model": track.best["weights"], "step": track.best["step"], "epoch": track.best["epoch"],
                               "monitor": monitor, "value": track.best["value"]}  # fmt: skip
    return FitResult(model=final_model, state=state, summary=summary, checkpoints=checkpoints)
