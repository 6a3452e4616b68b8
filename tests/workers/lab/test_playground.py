"""The playground's engine: the surface is the exact MSE, gradient descent with a small rate
lands on the least-squares solution, each path has one point per step plus the start, the
optimizers are the engine's own, and a rate above 2/λ_max diverges where it should."""

from __future__ import annotations

import numpy as np
import pytest

from workers.contract.playground import OPTIMIZERS, POINTS, X_RANGE, playground_params
from workers.engine.lab.playground import (
    Moments,
    least_squares,
    line_points,
    optimizer_path,
    playground,
    surface,
)


def points(seed=0, noise=0.5):
    return line_points(2.0, -1.0, noise, seed, POINTS, X_RANGE)


def choice(kind, **overrides):
    params, errors = playground_params({"optimizers": [{"kind": kind, **overrides}]})
    assert not errors, errors
    return params["optimizers"][0]


def test_the_surface_is_the_mean_squared_error_of_each_cell():
    x, y = points(seed=3)
    ws, bs = np.linspace(-4, 6, 23), np.linspace(-5, 5, 19)
    grid = surface(Moments.of(x, y), ws, bs)
    assert grid.shape == (len(bs), len(ws))
    for i, b in enumerate(bs):
        for j, w in enumerate(ws):
            assert grid[i, j] == pytest.approx(np.mean((w * x + b - y) ** 2), abs=1e-6, rel=1e-9)


def test_least_squares_is_the_surface_minimum():
    x, y = points(seed=5)
    w, b = least_squares(x, y)
    m = Moments.of(x, y)
    around = [m.loss(w + dw, b + db) for dw in (-1e-3, 0, 1e-3) for db in (-1e-3, 0, 1e-3)]
    assert min(around) == pytest.approx(m.loss(w, b), abs=1e-12)
    assert (w, b) == pytest.approx(np.polyfit(x, y, 1), abs=1e-9)


def test_gradient_descent_with_a_small_rate_converges_to_least_squares():
    x, y = points()
    w, b = least_squares(x, y)
    path = optimizer_path(x, y, choice("gd", learning_rate=0.1, steps=1000), (-1.0, 3.0), 0)
    assert path["diverged_at"] is None
    assert (path["w"][-1], path["b"][-1]) == pytest.approx((w, b), abs=1e-6)
    assert path["loss"][-1] == pytest.approx(Moments.of(x, y).loss(w, b), abs=1e-9)
    assert np.all(np.diff(path["loss"]) <= 1e-12)  # downhill only


@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_a_path_has_the_start_and_one_point_per_step(kind):
    x, y = points()
    path = optimizer_path(x, y, choice(kind, steps=37), (-1.0, 3.0), 0)
    assert path["diverged_at"] is None
    assert len(path["w"]) == len(path["b"]) == len(path["loss"]) == 38
    assert (path["w"][0], path["b"][0]) == (-1.0, 3.0)
    m = Moments.of(x, y)
    assert path["loss"][5] == pytest.approx(m.loss(path["w"][5], path["b"][5]))


def test_the_optimizers_are_the_engines_own_torch_optimizers():
    """Momentum's first step is plain descent's; Nesterov's differs; Adam's first step moves
    each parameter by its lr (the sign of the gradient, Adam's bias-corrected first step)."""
    x, y = points()
    first = {k: optimizer_path(x, y, choice(k, learning_rate=0.01, steps=2), (-1.0, 3.0), 0)
             for k in ("gd", "momentum", "nesterov", "adam")}  # fmt: skip
    assert first["momentum"]["w"][1] == pytest.approx(first["gd"]["w"][1], abs=1e-12)
    assert first["nesterov"]["w"][1] != pytest.approx(first["gd"]["w"][1], abs=1e-9)
    assert abs(first["adam"]["w"][1] - -1.0) == pytest.approx(0.01, rel=1e-6)


def test_batch_one_wanders_where_the_full_batch_does_not():
    x, y = points()
    gd = optimizer_path(x, y, choice("gd", learning_rate=0.02, steps=60), (-1.0, 3.0), 0)
    sgd = optimizer_path(x, y, choice("sgd", learning_rate=0.02, steps=60), (-1.0, 3.0), 0)
    assert np.sum(np.diff(sgd["loss"]) > 0) > 5 and np.sum(np.diff(gd["loss"]) > 0) == 0
    again = optimizer_path(x, y, choice("sgd", learning_rate=0.02, steps=60), (-1.0, 3.0), 0)
    assert again["w"] == sgd["w"]  # the seed fixes the batches


def test_a_rate_above_two_over_the_largest_curvature_diverges():
    x, y = points()
    limit = Moments.of(x, y).max_stable_lr()
    below = optimizer_path(
        x, y, choice("gd", learning_rate=0.95 * limit, steps=400), (-1.0, 3.0), 0
    )
    above = optimizer_path(
        x, y, choice("gd", learning_rate=1.1 * limit, steps=1000), (-1.0, 3.0), 0
    )
    assert below["diverged_at"] is None
    assert above["diverged_at"] is not None and len(above["w"]) == above["diverged_at"]


def test_the_result_frames_the_start_and_the_solution():
    x, y = points()
    params, _ = playground_params({})
    result = playground(x, y, params["optimizers"], start=(-1.0, 3.0), seed=0, grid=21)
    s = result["surface"]
    assert len(s["w"]) == len(s["b"]) == 21 and len(s["loss"]) == 21
    ls = result["least_squares"]
    for w, b in ((-1.0, 3.0), (ls["w"], ls["b"])):
        assert s["w"][0] < w < s["w"][-1] and s["b"][0] < b < s["b"][-1]
    assert [p["kind"] for p in result["paths"]] == ["gd", "sgd", "momentum", "adam"]


def test_the_full_batch_defaults_reach_the_minimum_in_their_100_steps():
    """The contract's default rates, on the default data: within 2% of the least-squares loss."""
    x, y = points()
    params, _ = playground_params({"optimizers": [{"kind": k} for k in OPTIMIZERS]})
    result = playground(x, y, params["optimizers"], start=(-1.0, 3.0), seed=0, grid=11)
    best = result["least_squares"]["loss"]
    for path in result["paths"]:
        if path["kind"] != "sgd":
            assert path["loss"][-1] < 1.02 * best, path["kind"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"optimizers": [{"kind": "gd", "learning_rate": 0}]}, "optimizers[0].learning_rate"),
        ({"optimizers": [{"kind": "gd", "learning_rate": -0.1}]}, "optimizers[0].learning_rate"),
        ({"optimizers": [{"kind": "gd", "steps": 1001}]}, "optimizers[0].steps"),
        ({"optimizers": [{"kind": "adam"}, {"kind": "lbfgs"}]}, "optimizers[1].kind"),
        ({"optimizers": [{"kind": "nesterov", "momentum": 0}]}, "optimizers[0].momentum"),
        ({"optimizers": [{"kind": "gd", "beta": 2}]}, "optimizers[0].beta"),
        ({"optimizers": []}, "optimizers"),
        ({"noise": -1}, "noise"),
        ({"slope": "steep"}, "slope"),
        ({"seed": 1.5}, "seed"),
        ({"grid": 500}, "grid"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_settings_are_named(body, field):
    _, errors = playground_params(body)
    assert field in errors, errors
