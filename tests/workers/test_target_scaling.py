"""Regression targets standardized for training (target_scaling), read back in target units
everywhere a value is shown: metrics, the predicted-vs-actual sample, the exported model."""

from __future__ import annotations

import copy

import numpy as np
import torch

from tests.workers.test_engine import CPU, config, linear_table, schema_for
from tests.workers.test_training_options import (
    EventRecorder,
    StopAfterEpoch,
    assert_same_run,
    everything_resumable,
    run,
)
from workers.contract.inference import forward
from workers.engine import fit, prepare
from workers.engine.export import export_model
from workers.engine.losses import Regression


def shifted_table(n=200):
    """A target far from 0 with a spread far from 1, as most real targets are (mean ≈ 150)."""
    table = linear_table(n=n, noise=3.0)
    table["y"] = 150.0 + 7.0 * table["y"]
    return table


def scaled(**overrides) -> dict:
    base = {"target_scaling": "standardize", "optimizer": "adam", "momentum": None,
            "learning_rate": 0.01, "epochs": 30}  # fmt: skip
    return config(**{**base, **overrides})


def test_the_scale_is_the_training_rows_mean_and_std_and_only_for_scalable_losses():
    table = shifted_table()
    data = prepare(table, schema_for(table), scaled())
    y_train = data.y_train.numpy().astype(np.float64)[:, 0]
    scale = data.preprocessing["target_scale"]
    assert np.isclose(scale["mean"], y_train.mean()) and np.isclose(scale["std"], y_train.std())
    assert (
        "target_scale" not in prepare(table, schema_for(table), scaled(loss="msle")).preprocessing
    )
    assert "target_scale" not in prepare(table, schema_for(table), config()).preprocessing


def test_validation_metrics_and_predictions_are_in_target_units():
    table = shifted_table()
    cfg = scaled()
    result, _ = run(cfg, table=table)
    data = prepare(table, schema_for(table), cfg)
    scale = data.preprocessing["target_scale"]
    model = result.model.eval()
    with torch.no_grad():
        by_hand = model(data.x_val).double()[:, 0] * scale["std"] + scale["mean"]
    actual = data.y_val.double()[:, 0]
    error = by_hand - actual
    mae = float(error.abs().mean())
    r2 = 1 - float((error**2).sum() / ((actual - actual.mean()) ** 2).sum())
    assert np.isclose(result.summary["final_metrics"]["val_mae"], mae, rtol=1e-5)
    assert np.isclose(result.summary["final_metrics"]["val_r2"], r2, rtol=1e-4)
    assert r2 > 0.8, r2  # the noise leaves about 0.85; the raw target stays far below (next test)
    sample = result.summary["val_predictions"]
    assert np.allclose(sample["predicted"][:5], by_hand[:5].tolist(), rtol=1e-5)
    assert np.allclose(sample["actual"][:5], actual[:5].tolist())
    assert (
        result.summary["target_scale"] == scale and "standardized" in result.summary["loss_units"]
    )
    # The exported model answers in target units by itself (what the web's predict reads).
    exported = forward(export_model(result.model.cpu(), result.target_scale), data.x_val.numpy())
    assert np.allclose(exported[:, 0], by_hand.numpy(), rtol=1e-5)


def test_scaling_beats_the_raw_target_on_a_shifted_target():
    table = shifted_table()
    with_scale, _ = run(scaled(), table=table)
    raw, _ = run(scaled(target_scaling="none"), table=table)
    assert "target_scale" not in raw.summary and raw.target_scale is None
    r2 = with_scale.summary["final_metrics"]["val_r2"]
    assert r2 > raw.summary["final_metrics"]["val_r2"] + 0.2


def test_the_objective_reads_outputs_back_exactly():
    objective = Regression("mse", {"mean": 10.0, "std": 4.0})
    y = torch.tensor([[2.0], [14.0]])
    assert torch.equal(objective.encode_targets(y), torch.tensor([[-2.0], [1.0]]))
    assert torch.equal(objective.predict(torch.tensor([[-2.0], [1.0]])), y)


def test_a_scaled_run_with_switch_swa_and_early_stopping_resumes_exactly():
    cfg = {**everything_resumable(), "target_scaling": "standardize"}
    table = shifted_table()
    whole, whole_rec = run(cfg, table=table)
    assert whole.target_scale is not None
    first = StopAfterEpoch(5)
    data = prepare(table, schema_for(table), cfg)
    fit(cfg, data, [first], device=CPU, checkpoint_seconds=0.0)
    assert first.checkpoint["preprocessing"]["target_scale"] == whole.target_scale
    second = EventRecorder()
    resumed = fit(cfg, data, [second], device=CPU, resume=copy.deepcopy(first.checkpoint))
    steps = [p for p in first.points if p[0] <= first.checkpoint["step"]] + second.points
    assert steps == whole_rec.points
    assert_same_run(resumed, whole)
    assert resumed.summary["final_metrics"] == whole.summary["final_metrics"]
