"""The engine's options do what they say: schedules drive the `lr` of every step, clipping
bounds the update, the batch grows on schedule, the optimizer switches, early stopping stops,
SWA averages, and every optimizer learns a real dataset."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tests.workers.test_engine import CPU, Recorder, config, linear_table, schema_for
from workers.contract.events import END_OF_RUN_EVENTS
from workers.contract.schedules import build_schedule
from workers.contract.splits import batch_sizes_per_epoch
from workers.engine import Stop, fit, prepare
from workers.engine.evaluate import evaluate
from workers.engine.losses import build_objective


class EventRecorder(Recorder):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.events: list[dict] = []
        self.batch_sizes: list[tuple[int, int]] = []

    def on_event(self, state, event):
        self.events.append(event)

    def on_batch_size(self, state, step, batch_size):
        self.batch_sizes.append((step, batch_size))


def run(cfg: dict, table=None, recorder=None):
    table = table if table is not None else linear_table()
    recorder = recorder or EventRecorder()
    result = fit(cfg, prepare(table, schema_for(table), cfg), [recorder], device=CPU)
    return result, recorder


def wine_table():
    from sklearn.datasets import load_wine

    wine = load_wine()
    table = {name: wine.data[:, i] for i, name in enumerate(wine.feature_names)}
    table["y"] = np.array([f"c{t}" for t in wine.target], dtype=object)
    return table


CLASSIFY = {
    "task": "classification",
    "loss": "cross_entropy",
    "model": {"type": "mlp", "hidden": [32], "activation": "relu"},
}


@pytest.mark.parametrize(
    "schedule",
    [
        {"type": "step", "every_epochs": 2, "gamma": 0.5, "warmup_epochs": 0},
        {"type": "cosine", "min_lr": 0.01, "warmup_epochs": 1},
        {
            "type": "warm_restarts",
            "first_cycle_epochs": 2,
            "cycle_mult": 2.0,
            "min_lr": 0.0,
            "warmup_epochs": 0,
        },
        {
            "type": "cyclic",
            "mode": "triangular2",
            "min_lr": 0.01,
            "max_lr": 0.1,
            "half_cycle_epochs": 1.5,
            "warmup_epochs": 0,
        },
        {"type": "one_cycle", "max_lr": 0.2, "warmup_epochs": 0},
    ],
    ids=lambda s: s["type"],
)
def test_every_steps_lr_follows_the_schedule_under_a_growing_batch(schedule):
    cfg = config(epochs=6, batch_size=8, lr_schedule=schedule,
                 batch_size_schedule={"every_epochs": 2, "factor": 2.0, "max": 32})  # fmt: skip
    result, recorder = run(cfg)
    n_train = result.summary["rows"]["train"]
    epoch_steps = [math.ceil(n_train / b) for b in batch_sizes_per_epoch(n_train, cfg)]
    reference = build_schedule(schedule, cfg["learning_rate"], epoch_steps)
    expected = []
    for epoch, steps in enumerate(epoch_steps, start=1):
        for i in range(steps):
            expected.append(reference.lr(len(expected) + 1, epoch, i))
    assert [lr for _, _, lr in recorder.points] == expected
    assert recorder.batch_sizes == [
        (1, 8),
        (1 + 2 * epoch_steps[0], 16),
        (1 + 2 * epoch_steps[0] + 2 * epoch_steps[2], 32),
    ]


def test_warm_restarts_are_reported_as_events_at_the_cycle_starts():
    cfg = config(epochs=7, lr_schedule={"type": "warm_restarts", "first_cycle_epochs": 1, "cycle_mult": 2.0,
                                        "min_lr": 0.0, "warmup_epochs": 0})  # fmt: skip
    result, recorder = run(cfg)
    per_epoch = result.summary["steps_per_epoch"]
    restarts = [e["step"] for e in recorder.events if e["type"] == "restart"]
    assert restarts == [1 + per_epoch, 1 + 3 * per_epoch]  # cycles of 1, 2, 4 epochs


def test_gradient_clipping_by_norm_bounds_every_update():
    cfg = config(batch_size="full", epochs=1, learning_rate=0.5, validation_split=0.0,
                 gradient_clipping={"max_norm": 0.01})  # fmt: skip
    table = linear_table()
    data = prepare(table, schema_for(table), cfg)
    torch.manual_seed(cfg["seed"])
    from workers.engine.models import build_model

    before = torch.cat(
        [p.flatten() for p in build_model(cfg["model"], data.n_features, 1).parameters()]
    )
    result = fit(cfg, data, device=CPU)
    after = torch.cat([p.detach().flatten() for p in result.model.parameters()])
    moved = (after - before).norm().item()
    assert moved == pytest.approx(
        0.5 * 0.01, rel=1e-4
    )  # lr × max_norm: the raw gradient is far larger


def test_optimizer_switch_changes_optimizer_and_rate_at_its_epoch():
    cfg = config(optimizer="adam", learning_rate=0.01, momentum=None, epochs=4,
                 optimizer_switch={"at_epoch": 3, "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9})  # fmt: skip
    result, recorder = run(cfg)
    per_epoch = result.summary["steps_per_epoch"]
    (switch,) = [e for e in recorder.events if e["type"] == "optimizer_switch"]
    assert switch["epoch"] == 3 and switch["optimizer"] == "sgd"
    lrs = [lr for _, _, lr in recorder.points]
    assert set(lrs[: 2 * per_epoch]) == {0.01} and set(lrs[2 * per_epoch :]) == {0.05}
    assert result.checkpoints["last"]["optimizer"]["param_groups"][0]["momentum"] == 0.9


def test_early_stopping_stops_after_patience_and_restores_the_best_model():
    # A learning rate that overshoots once the loss is small: validation stops improving.
    cfg = config(epochs=200, learning_rate=0.02, batch_size=4,
                 early_stopping={"patience_epochs": 3, "min_delta": 0.0, "monitor": "val_loss", "restore_best": True})  # fmt: skip
    result, recorder = run(cfg, table=linear_table(n=120, noise=2.0))
    assert result.summary["stop_reason"] == "early_stopping"
    epochs = len(recorder.epochs)
    assert epochs < 200
    losses = [m["val_loss"] for m in recorder.epochs]
    best_epoch = int(np.argmin(losses)) + 1
    assert result.summary["best_epoch"] == best_epoch and epochs == best_epoch + 3
    assert result.summary["final_val_loss"] == pytest.approx(min(losses))
    assert [e["type"] for e in recorder.events][-2:] == ["early_stop", "restore_best"]


def test_swa_final_model_is_the_average_of_the_epochs_it_saw():
    base = config(epochs=6, learning_rate=0.05, validation_split=0.0)
    swa_result, recorder = run({**base, "swa": {"start_epoch": 4, "lr": 0.05}})
    snapshots = []
    for epochs in (4, 5, 6):  # the same trajectory, stopped after each averaged epoch
        result, _ = run({**base, "epochs": epochs})
        snapshots.append(torch.cat([p.detach().flatten() for p in result.model.parameters()]))
    averaged = torch.cat([p.detach().flatten() for p in swa_result.model.parameters()])
    torch.testing.assert_close(averaged, torch.stack(snapshots).mean(dim=0))
    types = [e["type"] for e in recorder.events]
    assert "swa_start" in types and recorder.events[-1]["epochs_averaged"] == 3


def test_plateau_decays_then_stops_once_the_rate_falls_below_min_lr():
    cfg = config(epochs=300, learning_rate=0.05, batch_size=8,
                 lr_schedule={"type": "plateau", "factor": 0.5, "patience_epochs": 0, "min_lr": 0.01, "warmup_epochs": 0})  # fmt: skip
    result, recorder = run(cfg, table=linear_table(n=100, noise=3.0))
    decays = [e for e in recorder.events if e["type"] == "decay"]
    assert [round(e["lr"], 6) for e in decays] == [0.025, 0.0125]
    assert result.summary["stop_reason"] == "lr_below_min"
    assert len(recorder.epochs) < 300


@pytest.mark.parametrize("optimizer", ["sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta"])
def test_every_optimizer_learns_wine_with_its_default_rate(optimizer):
    from workers.contract.spec import OPTIMIZERS

    momentum = 0.9 if optimizer == "sgd" else (0.0 if optimizer == "rmsprop" else None)
    cfg = config(target="y", optimizer=optimizer, learning_rate=OPTIMIZERS[optimizer].default_lr,
                 momentum=momentum, epochs=30, **CLASSIFY)  # fmt: skip
    result, _ = run(cfg, table=wine_table())
    assert result.summary["val_accuracy"] >= 0.9, result.summary


def test_validation_metrics_match_scikit_learn():
    from sklearn.metrics import f1_score, mean_absolute_error, mean_squared_error, r2_score

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 4)
    x, labels = torch.randn(500, 3), torch.randint(0, 4, (500,))
    objective = build_objective("cross_entropy", "classification", 4)
    metrics, details = evaluate(model, objective, x, objective.encode_targets(labels), labels)
    predicted = model(x).argmax(dim=1).numpy()
    assert metrics["val_f1"] == pytest.approx(f1_score(labels.numpy(), predicted, average="macro"))
    assert metrics["val_accuracy"] == pytest.approx((predicted == labels.numpy()).mean())
    assert np.array(details["confusion_matrix"]).sum() == 500

    model = torch.nn.Linear(3, 1)
    y = torch.randn(500, 1)
    objective = build_objective("mse", "regression", None)
    metrics, _ = evaluate(model, objective, x, objective.encode_targets(y), y)
    out = model(x).detach().numpy().ravel()
    assert metrics["val_mae"] == pytest.approx(mean_absolute_error(y.numpy().ravel(), out))
    assert metrics["val_rmse"] == pytest.approx(mean_squared_error(y.numpy().ravel(), out) ** 0.5)
    assert metrics["val_r2"] == pytest.approx(r2_score(y.numpy().ravel(), out))
    assert metrics["val_loss"] == pytest.approx(
        mean_squared_error(y.numpy().ravel(), out), rel=1e-5
    )


def test_bf16_on_a_cpu_trains_in_fp32_and_says_so():
    _, recorder = run(config(precision="bf16", epochs=1))
    assert recorder.events[0]["type"] == "precision" and "fp32" in recorder.events[0]["message"]


def test_checkpoints_hold_the_model_optimizer_and_preprocessing():
    result, _ = run(config(epochs=3))
    last, best = result.checkpoints["last"], result.checkpoints["best"]
    assert last["step"] == result.state.step and last["epoch"] == 3
    assert set(last) >= {"model", "optimizer", "schedule", "config", "preprocessing"}
    assert best["monitor"] == "val_loss" and best["value"] == pytest.approx(
        result.summary["best_val_loss"]
    )


def test_the_lr_preview_plots_exactly_the_rates_the_loop_sets():
    from workers.contract.schedules import run_lr_preview

    cfg = config(epochs=8, optimizer="adam", momentum=None, learning_rate=0.01,
                 lr_schedule={"type": "warm_restarts", "first_cycle_epochs": 2, "cycle_mult": 1.0, "min_lr": 0.001, "warmup_epochs": 1},
                 optimizer_switch={"at_epoch": 4, "optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9},
                 swa={"start_epoch": 7, "lr": 0.02},
                 batch_size_schedule={"every_epochs": 3, "factor": 2.0, "max": 64})  # fmt: skip
    result, recorder = run(cfg)
    n_train = result.summary["rows"]["train"]
    epoch_steps = [math.ceil(n_train / b) for b in batch_sizes_per_epoch(n_train, cfg)]
    assert run_lr_preview(cfg, epoch_steps) == [lr for _, _, lr in recorder.points]


def test_a_regression_summary_holds_predicted_against_actual_for_the_validation_rows():
    result, _ = run(config(epochs=30))
    sample = result.summary["val_predictions"]
    assert len(sample["actual"]) == len(sample["predicted"]) == result.summary["rows"]["validation"]
    errors = np.array(sample["predicted"]) - np.array(sample["actual"])
    assert np.sqrt((errors**2).mean()) == pytest.approx(
        result.summary["final_metrics"]["val_rmse"], rel=1e-4
    )


class StopAfterEpoch(EventRecorder):
    """Keeps the resume checkpoint of `epoch` and stops the run there."""

    def __init__(self, epoch: int):
        super().__init__()
        self.stop_epoch = epoch
        self.checkpoint = None

    def on_epoch_end(self, state, metrics):
        super().on_epoch_end(state, metrics)
        if state.epoch == self.stop_epoch:
            state.request_stop(Stop.CANCEL)

    def on_checkpoint(self, state, checkpoint):
        if state.epoch == self.stop_epoch:
            self.checkpoint = checkpoint


def everything_resumable() -> dict:
    """A config using every option a checkpoint must carry: dropout and batch norm (random and
    running state), a schedule with warmup, an optimizer switch, a growing batch, SWA."""
    return config(
        epochs=9, optimizer="adam", momentum=None, learning_rate=0.01,
        model={"type": "mlp", "hidden": [16], "activation": "relu", "dropout": 0.3, "batch_norm": True},
        lr_schedule={"type": "cosine", "min_lr": 0.0, "warmup_epochs": 1},
        optimizer_switch={"at_epoch": 3, "optimizer": "sgd", "learning_rate": 0.002, "momentum": 0.9},
        batch_size_schedule={"every_epochs": 4, "factor": 2.0, "max": 64},
        swa={"start_epoch": 7, "lr": 0.001},
        early_stopping={"patience_epochs": 9, "min_delta": 0.0, "monitor": "val_loss", "restore_best": False},
    )  # fmt: skip


def assert_same_run(resumed, whole) -> None:
    for a, b in zip(resumed.model.parameters(), whole.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert resumed.summary["best_val_loss"] == whole.summary["best_val_loss"]


def test_a_run_resumed_from_its_checkpoint_continues_exactly_as_if_never_stopped():
    import copy

    cfg = everything_resumable()
    table = linear_table(n=200)
    whole, whole_rec = run(cfg, table=table)

    for stop_at in (4, 8):  # after the switch; inside SWA
        first = StopAfterEpoch(stop_at)
        data = prepare(table, schema_for(table), cfg)
        fit(cfg, data, [first], device=CPU, checkpoint_seconds=0.0)
        assert first.checkpoint["epoch"] == stop_at
        second = EventRecorder()
        resumed = fit(cfg, data, [second], device=CPU, resume=copy.deepcopy(first.checkpoint))
        steps = [p for p in first.points if p[0] <= first.checkpoint["step"]] + second.points
        assert steps == whole_rec.points
        assert first.epochs[:stop_at] + second.epochs == whole_rec.epochs
        assert (
            second.events[0]["type"] == "resumed"
            and second.events[0]["from_step"] == first.checkpoint["step"]
        )
        assert_same_run(resumed, whole)


class CancelAtStep(EventRecorder):
    """Asks the run to stop (as a cancel does) once `step` is reported; keeps its checkpoints."""

    def __init__(self, step: int):
        super().__init__(stop_after_step=step)
        self.checkpoints: list[dict] = []

    def on_checkpoint(self, state, checkpoint):
        self.checkpoints.append(checkpoint)


# 160 training rows: epochs 1-4 have 5 steps of 32 (the switch at epoch 3: steps 11-15), then
# 3 steps of 64 (SWA from epoch 7: steps 27-29). Stops: the switch epoch's first and second
# step, an epoch's last step (all its steps done, not yet validated), inside SWA's first epoch.
@pytest.mark.parametrize(
    ("stop_step", "epoch", "steps_into_it"), [(11, 3, 1), (12, 3, 2), (20, 4, 5), (28, 7, 2)]
)
def test_a_run_cancelled_mid_epoch_checkpoints_that_step_and_resumes_exactly(
    stop_step, epoch, steps_into_it
):
    import copy

    cfg = everything_resumable()
    table = linear_table(n=200)
    whole, whole_rec = run(cfg, table=table)
    data = prepare(table, schema_for(table), cfg)

    first = CancelAtStep(stop_step)
    stopped = fit(cfg, data, [first], device=CPU, sync_seconds=0.0, checkpoint_seconds=3600)
    assert stopped.state.stop is Stop.CANCEL and stopped.state.stop_reason == "cancelled"
    assert [c["step"] for c in first.checkpoints] == [stop_step]  # only the one it stopped at
    checkpoint = first.checkpoints[0]
    assert (checkpoint["in_epoch"]["epoch"], checkpoint["in_epoch"]["steps"]) == (
        epoch,
        steps_into_it,
    )
    second = EventRecorder()
    resumed = fit(cfg, data, [second], device=CPU, resume=copy.deepcopy(checkpoint))
    assert first.points + second.points == whole_rec.points
    assert first.epochs + second.epochs == whole_rec.epochs
    assert first.batch_sizes + second.batch_sizes == whole_rec.batch_sizes
    # Less what only the end of a run emits (the stopped one ended too) and the resume itself.
    events = [e for e in first.events if e["type"] not in END_OF_RUN_EVENTS]
    events += [e for e in second.events if e["type"] != "resumed"]
    assert events == whole_rec.events
    assert_same_run(resumed, whole)


def test_a_worker_shutdown_checkpoints_and_makes_no_final_model():
    """The run goes on in the next attempt from the checkpoint: SWA's average, the summary and
    the test rows are that attempt's to make, and a stopping worker stops fast."""
    cfg = everything_resumable()
    cfg["test_split"] = 0.1
    table = linear_table(n=200)

    class ShutDownAtStep(CancelAtStep):  # as the worker asks when it is stopping
        def on_steps(self, state, points):
            if state.step >= self.stop_after_step:
                state.request_stop(Stop.HAND_ON, "worker_shutdown")
            super().on_steps(state, points)

    stopping = ShutDownAtStep(28)  # inside SWA
    data = prepare(table, schema_for(table), cfg)
    result = fit(cfg, data, [stopping], device=CPU, sync_seconds=0.0, checkpoint_seconds=3600)

    assert [c["step"] for c in stopping.checkpoints] == [28]
    assert result.summary == {"stop_reason": "worker_shutdown"}
    assert not [e for e in stopping.events if e["type"] in END_OF_RUN_EVENTS]
