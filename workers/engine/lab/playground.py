"""The playground: optimizers rolling down the exact loss surface of a two-parameter model.

The model is y = w·x + b and the loss the mean squared error over all points, so the surface
over (w, b) is the quadratic

    L(w, b) = w² E[x²] + 2wb E[x] + b² - 2w E[xy] - 2b E[y] + E[y²]

computed from the data's moments in float64 (a two-parameter model's landscape axes are the
parameters themselves: the landscape feature with exact axes). Its minimum, the least-squares
solution, comes from NumPy's `lstsq`. Each optimizer is built by the engine's own table
(`build_optimizer`, the one every run uses) over the two parameters and takes `steps` updates
on batches of the points (batch 0: all of them), reshuffled each pass with the seed; its path
records (w, b) and the full-data loss before the first step and after each one, so a path
of `steps` updates has `steps + 1` points. A path stops early where it diverges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..optimizers import build_optimizer

# Past this the path has left the drawing for good: stop it and say at which step.
DIVERGED_LOSS_FACTOR = 1e6


@dataclass(frozen=True)
class Moments:
    """E[x], E[x²], E[y], E[xy], E[y²] of the points: all the surface needs."""

    x: float
    xx: float
    y: float
    xy: float
    yy: float

    @classmethod
    def of(cls, x: np.ndarray, y: np.ndarray) -> Moments:
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        return cls(x.mean(), (x * x).mean(), y.mean(), (x * y).mean(), (y * y).mean())

    def loss(self, w, b):
        """The MSE at (w, b); arrays broadcast."""
        return (w * w * self.xx + 2 * w * b * self.x + b * b - 2 * w * self.xy
                - 2 * b * self.y + self.yy)  # fmt: skip

    def max_stable_lr(self) -> float:
        """Full-batch gradient descent diverges above 2 / λ_max of the Hessian 2[[E x², E x],
        [E x, 1]]."""
        hessian = 2 * np.array([[self.xx, self.x], [self.x, 1.0]])
        return float(2 / np.linalg.eigvalsh(hessian)[-1])


def line_points(slope: float, intercept: float, noise: float, seed: int, n: int,
                x_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """n points of y = slope·x + intercept + Gaussian noise, x uniform on x_range."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(*x_range, size=n)
    return x, slope * x + intercept + noise * rng.standard_normal(n)


def least_squares(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    design = np.stack([x, np.ones_like(x)], axis=1)
    (w, b), *_ = np.linalg.lstsq(design, y, rcond=None)
    return float(w), float(b)


def surface(moments: Moments, ws: np.ndarray, bs: np.ndarray) -> np.ndarray:
    """The MSE on the grid: rows follow b (bs), columns w (ws)."""
    return moments.loss(ws[np.newaxis, :], bs[:, np.newaxis])


def grid_axes(points: list[tuple[float, float]], cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Axes that frame the points (the start, the solution, the paths that stayed near) with a
    margin, at least one unit wide each."""
    ws, bs = np.array(points, dtype=np.float64).T
    axes = []
    for values in (ws, bs):
        low, high = float(values.min()), float(values.max())
        middle, half = (low + high) / 2, max((high - low) / 2, 0.5) * 1.15
        axes.append(np.linspace(middle - half, middle + half, cells))
    return axes[0], axes[1]


def optimizer_path(x: np.ndarray, y: np.ndarray, choice: dict, start: tuple[float, float],
                   seed: int) -> dict:  # fmt: skip
    """One optimizer's path from `start`: w, b and the full-data loss per point, and the step
    at which it diverged (None when it did not)."""
    moments = Moments.of(x, y)
    xt, yt = (
        torch.from_numpy(np.asarray(x, np.float64)),
        torch.from_numpy(np.asarray(y, np.float64)),
    )
    w = torch.tensor(start[0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(start[1], dtype=torch.float64, requires_grad=True)
    config = {**choice, "weight_decay": 0.0}
    optimizer = build_optimizer(config, [w, b])
    batches = _batches(len(xt), choice["batch_size"], seed)
    path = {"w": [start[0]], "b": [start[1]], "loss": [float(moments.loss(*start))]}
    limit = DIVERGED_LOSS_FACTOR * max(path["loss"][0], 1.0)
    diverged_at = None
    for step in range(1, choice["steps"] + 1):
        rows = next(batches)
        optimizer.zero_grad(set_to_none=True)
        ((w * xt[rows] + b - yt[rows]) ** 2).mean().backward()
        optimizer.step()
        at = (w.item(), b.item())  # two numbers: the path needs every step on the host
        loss = float(moments.loss(*at))
        if not np.isfinite(loss) or loss > limit:
            diverged_at = step
            break
        path["w"].append(at[0]), path["b"].append(at[1]), path["loss"].append(loss)
    return {**path, "diverged_at": diverged_at}


def _batches(n: int, batch_size: int, seed: int):
    """Row indices per step: all rows for batch 0, else shuffled passes over the rows."""
    if batch_size == 0 or batch_size >= n:
        rows = torch.arange(n)
        while True:
            yield rows
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(n, generator=generator)
        for begin in range(0, n - batch_size + 1, batch_size):  # a short last batch is dropped
            yield order[begin : begin + batch_size]


def playground(x: np.ndarray, y: np.ndarray, optimizers: list[dict], *,
               start: tuple[float, float], seed: int, grid: int) -> dict:  # fmt: skip
    """Everything the page draws: the least-squares point, each optimizer's path, and the MSE
    surface on a grid framing them."""
    moments = Moments.of(x, y)
    w_star, b_star = least_squares(x, y)
    paths = [{**choice, **optimizer_path(x, y, choice, start, seed)} for choice in optimizers]
    frame = [start, (w_star, b_star)]
    reach = 3 * max(abs(start[0] - w_star), abs(start[1] - b_star), 1.0)
    for path in paths:  # the points that stay within reach of the start and the solution
        frame += [(pw, pb) for pw, pb in zip(path["w"], path["b"], strict=True)
                  if abs(pw - w_star) <= reach and abs(pb - b_star) <= reach]  # fmt: skip
    ws, bs = grid_axes(frame, grid)
    return {
        "least_squares": {"w": w_star, "b": b_star, "loss": float(moments.loss(w_star, b_star))},
        "max_stable_lr": moments.max_stable_lr(),
        "surface": {"w": ws.tolist(), "b": bs.tolist(), "loss": surface(moments, ws, bs).tolist()},
        "paths": paths,
        "n_points": len(x),
    }
