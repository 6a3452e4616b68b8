"""Loss landscapes (Goodfellow et al. 2015, "Qualitatively characterizing neural network
optimization problems"; Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets").

- line: the loss along theta(a) = start + a (end - start), a from below 0 to past 1 (the
  straight line from the initial weights to the final ones, and past both ends).
- surface: the loss on a grid theta(a, b) = origin + a d1 + b d2 around the final weights.
  `filter_normalized_direction` draws d1 and d2 as Li et al. do: Gaussian, each filter (a row
  along a weight's first axis) scaled to the norm of the same filter of the weights, biases
  and batch-norm parameters (every parameter of one axis) left at zero. For the trajectory,
  d1 and d2 are the first two principal directions of the path instead (`trajectory`).
- trajectory: the weight snapshots of a run minus its final weights, projected on their first
  two principal components (PCA by SVD), with the share of variance each explains.

Every cell is evaluated without gradients on fixed sets of rows (train, validation), each in
batches of `batch_rows`: the cost is exactly cells x sum of ceil(rows / batch_rows) forward
passes, and the result reports the number counted. The weights of a cell are written into the
model's own parameters in place (no per-cell copies), and the losses of a block of cells (a
grid row, or the part of one a pass computes) stay on the device until the block ends: one host
sync per block (workers.contract.landscape orders a grid's cells coarse sub-grid first).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from workers.contract.landscape import Block

Rows = tuple[torch.Tensor, torch.Tensor]  # (features, targets as the objective takes them)


@dataclass
class Surface:
    # per set of rows: (len(betas), len(alphas)); a line: (len(alphas),)
    losses: dict[str, np.ndarray]
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


def batches(rows: int, batch_rows: int) -> int:
    return math.ceil(rows / batch_rows)


def forward_passes(cells: int, rows: int | Sequence[int], batch_rows: int) -> int:
    """The cost shown before a landscape starts: cells x the batches of every set of rows."""
    sizes = [rows] if isinstance(rows, int) else rows
    return cells * sum(batches(n, batch_rows) for n in sizes if n)


class _Evaluator:
    """The mean loss of `model` over fixed sets of rows at weights written in place, counting
    forward passes. Losses stay on the device until `read` (a host sync)."""

    def __init__(self, model, objective, sets: dict[str, Rows], batch_rows: int, bf16: bool):
        self.model, self.objective, self.batch_rows = model, objective, batch_rows
        self.sets = {name: rows for name, rows in sets.items() if len(rows[0])}
        self.params = list(model.parameters())
        self.autocast = bf16
        self.passes = 0

    def set_weights(self, origin, d1, a: float, d2=None, b: float = 0.0) -> None:
        """The model's parameters become origin + a d1 (+ b d2), written in place."""
        torch._foreach_copy_(self.params, origin)
        torch._foreach_add_(self.params, d1, alpha=a)
        if d2 is not None:
            torch._foreach_add_(self.params, d2, alpha=b)

    def losses(self) -> torch.Tensor:
        """The mean loss of each set (in `sets` order), on the device."""
        means = []
        bf16 = torch.autocast("cuda", dtype=torch.bfloat16) if self.autocast else None
        with bf16 or contextlib.nullcontext():
            for x, targets in self.sets.values():
                total = None
                for start in range(0, len(x), self.batch_rows):
                    out = self.model(x[start : start + self.batch_rows]).float()
                    part = self.objective.loss_sum(out, targets[start : start + self.batch_rows])
                    total = part if total is None else total + part
                    self.passes += 1
                means.append(total.double() / len(x))
        return torch.stack(means)

    def read(self, rows: list[torch.Tensor]) -> np.ndarray:
        """(cells, sets) on the host, one sync."""
        return torch.stack(rows).cpu().numpy()


@contextlib.contextmanager
def _evaluating(model, objective, sets, batch_rows, bf16):
    """An evaluator whose model gets its own weights and mode back afterwards."""
    keep = [p.detach().clone() for p in model.parameters()]
    was_training = model.training
    model.eval()
    ev = _Evaluator(model, objective, sets, batch_rows, bf16)
    try:
        with torch.no_grad():
            yield ev
    finally:
        with torch.no_grad():
            torch._foreach_copy_(ev.params, keep)
        model.train(was_training)


def _as_sets(sets) -> dict[str, Rows]:
    return sets if isinstance(sets, dict) else {"train": sets}


def line(model, objective, sets, start, end, alphas, *, batch_rows=2000, bf16=False) -> Surface:
    """The loss at start + a (end - start) for each a of `alphas` (start, end: lists of
    tensors, one per parameter), on each set of rows ({"train": (x, targets), ...}, or one
    (x, targets) pair). The model's own weights are put back after."""
    with _evaluating(model, objective, _as_sets(sets), batch_rows, bf16) as ev:
        step = torch._foreach_sub(list(end), list(start))
        cells = []
        for a in alphas:
            ev.set_weights(start, step, float(a))
            cells.append(ev.losses())
        values = ev.read(cells)
    return Surface({name: values[:, k] for k, name in enumerate(ev.sets)}, ev.passes)


def row_blocks(n_rows: int, n_cols: int) -> list[Block]:
    """The grid row after row."""
    return [[(i, j) for j in range(n_cols)] for i in range(n_rows)]


def surface(model, objective, sets, origin, d1, d2, alphas, betas, *, batch_rows=2000,
            bf16=False, blocks: list[Block] | None = None,
            on_block: Callable | None = None) -> Surface:  # fmt: skip
    """The loss at origin + a d1 + b d2 over the grid (rows: betas, columns: alphas), on each
    set of rows, evaluated in `blocks` (default: row after row; cells of no block stay NaN).
    `on_block(block, {set: losses of its cells})` hears each finished block (progress; it may
    raise to cancel). The model's own weights are put back after."""
    blocks = row_blocks(len(betas), len(alphas)) if blocks is None else blocks
    with _evaluating(model, objective, _as_sets(sets), batch_rows, bf16) as ev:
        grids = {name: np.full((len(betas), len(alphas)), np.nan) for name in ev.sets}
        for block in blocks:
            cells = []
            for i, j in block:
                ev.set_weights(origin, d1, float(alphas[j]), d2, float(betas[i]))
                cells.append(ev.losses())
            values = ev.read(cells)  # one host sync per block (a row of the grid, or part of one)
            rows, cols = np.array(block).T
            for k, name in enumerate(ev.sets):
                grids[name][rows, cols] = values[:, k]
            if on_block is not None:
                on_block(block, {name: values[:, k] for k, name in enumerate(ev.sets)})
    return Surface(grids, ev.passes)


def flat(weights: list[torch.Tensor]) -> np.ndarray:
    return torch.cat([w.detach().reshape(-1).double().cpu() for w in weights]).numpy()


def unflat(vector: np.ndarray, like: list[torch.Tensor]) -> list[torch.Tensor]:
    """A flat vector cut back into tensors shaped (and typed, and placed) like `like`."""
    out, at = [], 0
    for t in like:
        n = t.numel()
        out.append(torch.from_numpy(vector[at : at + n].copy()).reshape(t.shape).to(t))
        at += n
    return out


def trajectory(snapshots: list[np.ndarray], final: np.ndarray) -> dict:
    """PCA of the snapshots minus the final weights: the path's coordinates on the first two
    components (x, y), the components themselves (unit vectors) and the variance each explains."""
    centered = np.stack(snapshots) - final
    _, singular, vt = np.linalg.svd(centered, full_matrices=False)
    components = vt[:2]
    if len(components) < 2:  # one snapshot: any second direction orthogonal to the first
        extra = np.zeros_like(final)
        extra[np.argmin(np.abs(components[0]))] = 1.0
        extra -= components[0] * (components[0] @ extra)
        components = np.vstack([components, extra / np.linalg.norm(extra)])
    coords = centered @ components.T
    variance = singular**2
    explained = np.zeros(2)
    if variance.sum() > 0:
        explained[: min(2, len(variance))] = (variance / variance.sum())[:2]
    return {"x": coords[:, 0], "y": coords[:, 1], "components": components, "explained": explained}
