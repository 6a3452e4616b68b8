"""The engine with the length an unset `epochs` resolves to (workers.contract.spec.length):
early stopping with restore-best ends the run at its best epoch, a resume continues it exactly,
and SWA and the optimizer switch follow the resolved epochs. The step budget is lowered here
so that the runs stay short; the rule is the same."""

from __future__ import annotations

import copy

import pytest

from tests.workers.test_engine import CPU, config, schema_for
from tests.workers.test_target_scaling import shifted_table
from tests.workers.test_training_options import EventRecorder, StopAfterEpoch, assert_same_run
from workers.contract.spec import length
from workers.engine import fit, prepare

ROWS = 150  # 120 training rows: 4 steps an epoch at batch 32


@pytest.fixture(autouse=True)
def short_budget(monkeypatch):
    monkeypatch.setattr(length, "STEP_BUDGET", 400)


def resolved(**overrides) -> dict:
    """A regression config as normalize_config resolves it when `epochs` is not given."""
    cfg = config(optimizer="adam", momentum=None, learning_rate=0.01, target_scaling="standardize",
                 model={"type": "mlp", "hidden": [16], "activation": "relu", "dropout": 0.0,
                        "batch_norm": False}, **overrides)  # fmt: skip
    cfg["epochs"] = length.default_epochs(ROWS - round(ROWS * cfg["validation_split"]), 32)
    cfg["early_stopping"] = length.default_early_stopping(cfg)
    return cfg


def train(cfg, callbacks=(), **kwargs):
    table = shifted_table(n=ROWS)
    data = prepare(table, schema_for(table), cfg)
    return fit(cfg, data, list(callbacks), device=CPU, **kwargs), data


def test_the_resolved_length_stops_early_and_ends_with_the_best_epochs_model():
    cfg = resolved()
    assert cfg["epochs"] == 100 and cfg["early_stopping"]["patience_epochs"] == 10

    recorder = EventRecorder()
    result, _ = train(cfg, [recorder])

    summary = result.summary
    assert summary["epochs_completed"] < cfg["epochs"], "a shifted linear target plateaus early"
    assert summary["stop_reason"]
    assert summary["epochs_completed"] == summary["best_epoch"] + 10
    assert summary["final_val_loss"] == summary["best_val_loss"]
    (restored,) = [e for e in recorder.events if e["type"] == "restore_best"]
    assert restored["best_epoch"] == summary["best_epoch"]


def test_a_run_of_the_resolved_length_resumes_exactly():
    cfg = resolved()
    whole_recorder = EventRecorder()
    whole, _ = train(cfg, [whole_recorder])
    stop_at = whole.summary["best_epoch"] + 3  # inside the patience: early stopping's counter runs

    first = StopAfterEpoch(stop_at)
    train(cfg, [first], checkpoint_seconds=0.0)
    second = EventRecorder()
    resumed, _ = train(cfg, [second], resume=copy.deepcopy(first.checkpoint))

    steps = [p for p in first.points if p[0] <= first.checkpoint["step"]] + second.points
    assert steps == whole_recorder.points
    assert_same_run(resumed, whole)
    assert resumed.summary["epochs_completed"] == whole.summary["epochs_completed"]


def test_swa_averages_the_last_quarter_of_the_resolved_epochs():
    cfg = resolved(swa={"start_epoch": 0, "lr": 0.001})
    assert cfg["early_stopping"] is None  # the average is the final model
    cfg["swa"]["start_epoch"] = round(cfg["epochs"] * 0.75)  # its default
    recorder = EventRecorder()

    result, _ = train(cfg, [recorder])

    assert result.summary["epochs_completed"] == cfg["epochs"]
    (final,) = [e for e in recorder.events if e["type"] == "swa_final"]
    assert final["epochs_averaged"] == cfg["epochs"] - cfg["swa"]["start_epoch"] + 1


def test_the_optimizer_switch_happens_at_half_the_resolved_epochs():
    switch = {"at_epoch": 0, "optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9}
    cfg = resolved(optimizer_switch=switch)
    assert cfg["early_stopping"] is None  # its second half is the user's plan
    cfg["optimizer_switch"]["at_epoch"] = cfg["epochs"] // 2  # its default
    recorder = EventRecorder()

    result, _ = train(cfg, [recorder])

    (switched,) = [e for e in recorder.events if e["type"] == "optimizer_switch"]
    assert switched["epoch"] == cfg["epochs"] // 2
    assert result.summary["epochs_completed"] == cfg["epochs"]
