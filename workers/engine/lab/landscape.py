"""Loss landscapes (Goodfellow et al. 2015, "Qualitatively characterizing neural network
optimization problems"; Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets").

- line: the loss along theta(a) = start + a (end - start), a from below 0 to past 1 (the
  straight line from the initial weights to the final ones, and past both ends).
- surface: the loss on a grid theta(a, b) = origin + a d1 + b d2 around the final weights.
  `filter_normalized_direction` draws d1 and d2 as Li et al. do: Gaussian, each filter (a row
  along a weight's first axis) scaled to the norm of the same filter of the weights, biases
  and batch-norm parameters (every parameter of one axis) left at zero.
- trajectory: the weight snapshots of a run minus its final weights, projected on their first
  two principal components (PCA by SVD), with the share of variance each explains.

Every cell is evaluated without gradients on a fixed set of rows, in batches of
`batch_rows`: the cost is exactly cells x ceil(rows / batch_rows) forward passes, and the
result reports the number counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass
class Surface:
    losses: np.ndarray  # (len(betas), len(alphas)); a line: (len(alphas),)
    forward_passes: int


def filter_normalized_direction(model: nn.Module, generator: torch.Generator) -> list[torch.Tensor]:
    direction = []
    for p in model.parameters():
        d = torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
        if p.dim() <= 1:
            d.zero_()  # a bias or a batch-norm scale or shift
        else:
            weight_norms = p.detach().flatten(1).norm(dim=1)
            d_norms = d.flatten(1).norm(dim=1).clamp_min(1e-12)
            d *= (weight_norms / d_norms).view(-1, *([1] * (p.dim() - 1)))
        direction.append(d)
    return direction


def forward_passes(cells: int, rows: int, batch_rows: int) -> int:
    """The cost shown before a landscape starts."""
    return cells * math.ceil(rows / batch_rows)


class _Evaluator:
    """The mean loss of `model` at given weights over fixed rows, counting forward passes."""

    def __init__(self, model, objective, x, targets, batch_rows: int):
        self.model, self.objective = model, objective
        self.x, self.targets, self.batch_rows = x, targets, batch_rows
        self.passes = 0

    @torch.no_grad()
    def loss_at(self, weights: list[torch.Tensor]) -> float:
        for p, w in zip(self.model.parameters(), weights, strict=True):
            p.copy_(w)
        total = torch.zeros((), dtype=torch.float64, device=self.x.device)
        for start in range(0, len(self.x), self.batch_rows):
            out = self.model(self.x[start : start + self.batch_rows]).float()
            total += self.objective.loss_sum(out, self.targets[start : start + self.batch_rows])
            self.passes += 1
        return float(total / len(self.x))


def _evaluator(model, objective, x, targets, batch_rows):
    model.eval()
    return _Evaluator(model, objective, x, targets, batch_rows)


def line(model, objective, x, targets, start, end, alphas, *, batch_rows=2000) -> Surface:
    """The loss at start + a (end - start) for each a of `alphas` (lists of tensors, one per
    parameter). The model's own weights are put back after."""
    keep = [p.detach().clone() for p in model.parameters()]
    ev = _evaluator(model, objective, x, targets, batch_rows)
    losses = [
        ev.loss_at([s + a * (e - s) for s, e in zip(start, end, strict=True)]) for a in alphas
    ]
    ev.loss_at(keep)
    return Surface(np.array(losses), ev.passes - math.ceil(len(x) / batch_rows))


def surface(model, objective, x, targets, origin, d1, d2, alphas, betas, *,
            batch_rows=2000, on_row=None) -> Surface:  # fmt: skip
    """The loss at origin + a d1 + b d2 over the grid (rows: betas, columns: alphas).
    `on_row(i, losses)` hears each finished row (progress; it may raise to cancel)."""
    keep = [p.detach().clone() for p in model.parameters()]
    ev = _evaluator(model, objective, x, targets, batch_rows)
    grid = np.empty((len(betas), len(alphas)))
    for i, b in enumerate(betas):
        for j, a in enumerate(alphas):
            weights = [o + a * u + b * v for o, u, v in zip(origin, d1, d2, strict=True)]
            grid[i, j] = ev.loss_at(weights)
        if on_row is not None:
            on_row(i, grid[i])
    passes = ev.passes
    ev.loss_at(keep)
    return Surface(grid, passes)


def flat(weights: list[torch.Tensor]) -> np.ndarray:
    return torch.cat([w.detach().reshape(-1).double().cpu() for w in weights]).numpy()


def trajectory(snapshots: list[np.ndarray], final: np.ndarray) -> dict:
    """PCA of the snapshots minus the final weights: the path's coordinates on the first two
    components (x, y), the components themselves and the variance each explains."""
    centered = np.stack(snapshots) - final
    _, singular, vt = np.linalg.svd(centered, full_matrices=False)
    components = vt[:2]
    coords = centered @ components.T
    variance = singular**2
    explained = variance[:2] / variance.sum() if variance.sum() > 0 else np.zeros(2)
    return {"x": coords[:, 0], "y": coords[:, 1] if coords.shape[1] > 1 else np.zeros(len(coords)),
            "components": components, "explained": explained}  # fmt: skip
