"""Landscapes: filter-normalized directions, the exact surface of a two-parameter model, the
forward-pass count, and the PCA projection of a straight path."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from workers.contract.landscape import coarse_first_blocks, part_cells
from workers.engine.lab.landscape import (
    filter_normalized_direction,
    forward_passes,
    line,
    surface,
    trajectory,
)
from workers.engine.losses import build_objective
from workers.engine.models import build_model


def mlp():
    torch.manual_seed(0)
    return build_model({"type": "mlp", "hidden": [16, 8], "activation": "relu"}, 5, 3)


def test_each_direction_filter_has_its_weight_filters_norm_and_biases_stay_zero():
    model = mlp()
    direction = filter_normalized_direction(model, torch.Generator().manual_seed(1))
    for p, d in zip(model.parameters(), direction, strict=True):
        if p.dim() <= 1:
            assert torch.count_nonzero(d) == 0
        else:
            torch.testing.assert_close(d.flatten(1).norm(dim=1), p.flatten(1).norm(dim=1),
                                       rtol=1e-5, atol=1e-5)  # fmt: skip


def two_parameters(n=50):
    rng = np.random.default_rng(4)
    x = torch.tensor(rng.normal(size=(n, 1)), dtype=torch.float64)
    y = 3.0 * x + 0.5 + 0.3 * torch.tensor(rng.normal(size=(n, 1)))
    model = build_model({"type": "linear"}, 1, 1).double()
    return model, build_objective("mse", "regression", None), x, y


def test_two_parameter_surface_is_the_analytic_mse_and_passes_are_cells_times_batches():
    model, objective, x, y = two_parameters()
    origin = [p.detach().clone() for p in model.parameters()]
    w0, b0 = origin[0].item(), origin[1].item()
    d1 = [torch.ones_like(origin[0]), torch.zeros_like(origin[1])]  # the axes are the parameters
    d2 = [torch.zeros_like(origin[0]), torch.ones_like(origin[1])]
    alphas, betas = np.linspace(-2, 2, 7), np.linspace(-1, 1, 5)
    result = surface(model, objective, (x, y), origin, d1, d2, alphas, betas, batch_rows=16)
    xs, ys = x.numpy()[:, 0], y.numpy()[:, 0]
    for i, b in enumerate(betas):
        for j, a in enumerate(alphas):
            exact = np.mean(((w0 + a) * xs + b0 + b - ys) ** 2)
            assert result.losses["train"][i, j] == pytest.approx(exact, abs=1e-6, rel=1e-6)
    assert result.forward_passes == forward_passes(35, 50, 16) == 35 * math.ceil(50 / 16)
    for p, o in zip(model.parameters(), origin, strict=True):
        assert torch.equal(p, o)  # the model's weights are put back


def test_line_from_initial_to_final_passes_both_ends():
    model, objective, x, y = two_parameters()
    start = [torch.zeros_like(p) for p in model.parameters()]
    end = [torch.full_like(p, v) for p, v in zip(model.parameters(), (3.0, 0.5), strict=True)]
    result = line(model, objective, (x, y), start, end, np.linspace(-0.5, 1.5, 9), batch_rows=50)
    losses = result.losses["train"]
    assert losses[2] == pytest.approx(float((y**2).mean()), rel=1e-9)  # a = 0: the start
    assert np.argmin(losses) == 6  # a = 1: the final weights, near least squares
    assert result.forward_passes == 9


def test_a_straight_path_projects_onto_a_line():
    rng = np.random.default_rng(0)
    final, step = rng.normal(size=40), rng.normal(size=40)
    snapshots = [final + (1 - t / 20) ** 2 * step for t in range(21)]  # uneven steps, one line
    path = trajectory(snapshots, final)
    assert path["explained"][0] == pytest.approx(1.0, abs=1e-9)
    assert np.allclose(path["y"], 0.0, atol=1e-9)
    assert np.allclose(
        np.abs(path["x"]), [(1 - t / 20) ** 2 * np.linalg.norm(step) for t in range(21)]
    )


class CountingModel(torch.nn.Module):
    """A model that counts the batches it is called on: the passes really made."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls = inner, 0

    def forward(self, x):
        self.calls += 1
        return self.inner(x)


def test_forward_passes_are_exactly_cells_times_batches_of_every_set_of_rows():
    model = CountingModel(mlp())
    objective = build_objective("cross_entropy", "classification", 3)
    generator = torch.Generator().manual_seed(0)
    sets = {
        "train": (torch.randn(130, 5, generator=generator),
                  objective.encode_targets(torch.randint(0, 3, (130,), generator=generator))),
        "validation": (torch.randn(41, 5, generator=generator),
                       objective.encode_targets(torch.randint(0, 3, (41,), generator=generator))),
    }  # fmt: skip
    origin = [p.detach().clone() for p in model.parameters()]
    d1 = filter_normalized_direction(model, generator)
    d2 = filter_normalized_direction(model, generator)
    alphas, betas = np.linspace(-1, 1, 6), np.linspace(-1, 1, 4)
    result = surface(model, objective, sets, origin, d1, d2, alphas, betas, batch_rows=32)
    expected = 24 * (math.ceil(130 / 32) + math.ceil(41 / 32))
    assert result.forward_passes == model.calls == forward_passes(24, (130, 41), 32) == expected
    assert set(result.losses) == {"train", "validation"}
    assert result.losses["validation"].shape == (4, 6)
    for p, o in zip(model.parameters(), origin, strict=True):
        assert torch.equal(p, o)


def test_the_surface_at_its_centre_is_the_models_own_loss():
    model = mlp()
    objective = build_objective("cross_entropy", "classification", 3)
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(2))
    y = objective.encode_targets(torch.arange(64) % 3)
    origin = [p.detach().clone() for p in model.parameters()]
    d = filter_normalized_direction(model, torch.Generator().manual_seed(3))
    result = surface(model, objective, (x, y), origin, d, d, [-1.0, 0.0, 1.0], [0.0], batch_rows=64)
    with torch.no_grad():
        expected = float(objective.loss(model.eval()(x).float(), y))
    assert result.losses["train"][0, 1] == pytest.approx(expected, rel=1e-6)


def test_coarse_first_computes_the_coarse_sub_grid_first_and_every_cell_once():
    model = CountingModel(mlp())
    objective = build_objective("cross_entropy", "classification", 3)
    generator = torch.Generator().manual_seed(5)
    x = torch.randn(70, 5, generator=generator)
    y = objective.encode_targets(torch.arange(70) % 3)
    origin = [p.detach().clone() for p in model.parameters()]
    d1 = filter_normalized_direction(model, generator)
    d2 = filter_normalized_direction(model, generator)
    axis = np.linspace(-1, 1, 7)
    by_rows = surface(model, objective, (x, y), origin, d1, d2, axis, axis, batch_rows=32)
    model.calls, heard = 0, []
    blocks = coarse_first_blocks(7, 7)
    coarse = surface(model, objective, (x, y), origin, d1, d2, axis, axis, batch_rows=32,
                     blocks=blocks, on_block=lambda block, _: heard.extend(block))  # fmt: skip
    assert heard[:16] == [(i, j) for i in range(0, 7, 2) for j in range(0, 7, 2)]  # 4 x 4 first
    assert sorted(heard) == [(i, j) for i in range(7) for j in range(7)]  # each cell once
    assert coarse.forward_passes == model.calls == 49 * math.ceil(70 / 32)
    np.testing.assert_array_equal(coarse.losses["train"], by_rows.losses["train"])
    assert [len(b) for b in coarse_first_blocks(4, 4)] == [2, 2, 2, 4, 2, 4]  # an even grid


@pytest.mark.parametrize(("grid", "parts"), [(21, 1), (21, 2), (21, 5), (8, 8), (3, 3)])
def test_parts_share_every_cell_once_each_part_coarse_cells_first(grid, parts):
    shares = [part_cells(grid, p, parts) for p in range(parts)]
    assert sorted(cell for share in shares for cell in share) == [
        (i, j) for i in range(grid) for j in range(grid)
    ]
    for share in shares:
        coarse = [i % 2 == 0 == j % 2 for i, j in share]
        assert coarse == sorted(coarse, reverse=True)  # its coarse cells, then the rest
