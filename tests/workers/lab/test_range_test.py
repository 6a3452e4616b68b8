"""The LR range test on a problem whose divergence point is known exactly: full-batch gradient
descent on least squares diverges above 2 / lambda_max of the loss's Hessian."""

from __future__ import annotations

import numpy as np
import pytest

from tests.workers.test_engine import CPU, config, linear_table, schema_for
from workers.engine import prepare
from workers.engine.lab.range_test import RangeSpec, range_test
from workers.engine.lab.suggest import _disagreement, suggest

FULL_BATCH = {"validation_split": 0.0, "batch_size": "full", "optimizer": "sgd", "momentum": 0.0}


def least_squares(seed=0):
    table = linear_table(n=300, d=2, seed=seed, noise=0.5)
    cfg = config(**FULL_BATCH)
    data = prepare(table, schema_for(table), cfg)
    design = np.hstack([data.x_train.double().numpy(), np.ones((len(data.x_train), 1))])
    hessian = 2.0 / len(design) * design.T @ design  # of mean((Xw + b - y)^2)
    return cfg, data, 2.0 / np.linalg.eigvalsh(hessian).max()


@pytest.mark.parametrize("seed", [0, 1])
def test_stop_lies_just_past_two_over_lambda_max_and_every_suggestion_below(seed):
    cfg, data, threshold = least_squares(seed)
    result = range_test(cfg, data, RangeSpec(start_lr=1e-4, end_lr=10.0, steps=300), device=CPU)
    assert result["stop_reason"].startswith("the smoothed loss passed 4x")
    # Below 2/lambda_max every step contracts every eigendirection of the error: the raw loss
    # never rises (float32 noise aside); the smoothed loss's lag (beta 0.98, about 50 steps,
    # here 60 steps a decade) puts the stop within a factor 3 past the threshold.
    lr, loss = np.array(result["lr"]), np.array(result["loss"])
    below = loss[lr < threshold]
    assert np.all(np.diff(below) <= 1e-5 * below[:-1])
    assert threshold < result["stop_lr"] < 3 * threshold
    for rule in ("steepest", "min_div_10", "valley"):
        assert result["suggestions"][rule] < threshold, rule


def test_series_are_per_step_and_the_lr_grows_as_asked():
    cfg, data, _ = least_squares()
    spec = RangeSpec(start_lr=1e-3, end_lr=1e-2, steps=20)
    result = range_test(cfg, data, spec, device=CPU)
    assert result["stop_reason"] == "the last step of the range"
    assert len(result["lr"]) == len(result["loss"]) == len(result["smoothed"]) == 20
    assert result["lr"][0] == pytest.approx(1e-3) and result["lr"][-1] == pytest.approx(1e-2)
    ratios = np.diff(np.log(result["lr"]))
    assert np.allclose(ratios, ratios[0])
    linear = range_test(cfg, data, RangeSpec(1e-3, 1e-2, steps=20, mode="linear"), device=CPU)
    assert np.allclose(np.diff(linear["lr"]), (1e-2 - 1e-3) / 19)


def test_smoothed_loss_is_the_debiased_moving_average():
    cfg, data, _ = least_squares()
    result = range_test(cfg, data, RangeSpec(1e-3, 1e-1, steps=10), device=CPU)
    average = 0.0
    for i, (raw, smooth) in enumerate(zip(result["loss"], result["smoothed"], strict=True)):
        average = 0.98 * average + 0.02 * raw
        assert smooth == pytest.approx(average / (1 - 0.98 ** (i + 1)))


def test_rules_that_disagree_by_more_than_ten_times_warn():
    lrs = list(np.logspace(-6, 0, 61))
    # A spike early (falls fastest at 1e-5) and a minimum at 1e-1: steepest and min/10 disagree.
    loss = [5.0 - 4.0 * (lr > 1e-5) - 0.5 * (lr > 1e-2) - 0.4 * (lr > 5e-2) for lr in lrs]
    found = suggest(lrs, loss)
    assert found["steepest"] < 2e-5 and found["min_div_10"] > 4e-3
    assert "disagree" in found["warning"]
    assert _disagreement({"steepest": 1e-3, "min_div_10": 5e-3, "valley": 9e-3}) is None
    assert "11x" in _disagreement({"steepest": 1e-3, "min_div_10": 5e-3, "valley": 1.1e-2})


def test_a_minimum_at_the_first_steps_still_gets_every_suggestion():
    lrs = list(np.logspace(-6, 0, 40))
    for best in (0, 1, 5):
        loss = [1.0 + abs(i - best) for i in range(40)]
        found = suggest(lrs, loss)
        assert all(found[k] is not None for k in ("steepest", "min_div_10", "valley")), best
