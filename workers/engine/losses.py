"""Objectives: a loss by its config name, and how the model's raw outputs become predictions.

For n rows with raw outputs o and targets y, every loss is the mean over rows of a row loss:

classification (y is a class index, C >= 2 classes)
  cross_entropy         C outputs; -log softmax(o)[y]; probabilities softmax(o).
  binary_cross_entropy  C = 2 and ONE output; t = 1 for class 1, else 0;
                        -(t log sigmoid(o) + (1 - t) log(1 - sigmoid(o)));
                        probabilities [1 - sigmoid(o), sigmoid(o)].
  hinge                 C outputs; (1/C) sum over j != y of max(0, 1 - o[y] + o[j])
                        (torch's MultiMarginLoss, p=1, margin 1); no probabilities.
  squared_hinge         as hinge with each term squared (p=2).
  Predicted class: the argmax of the outputs (for binary_cross_entropy: class 1 when o > 0).

regression (y is a float, one output)
  mse      (o - y)^2
  mae      |o - y|
  huber    (o - y)^2 / 2 where |o - y| <= 1, else |o - y| - 1/2 (delta 1)
  msle     (log(1 + max(o, 0)) - log(1 + y))^2, clamped as Keras does; prediction max(o, 0).
           Where o < 0 the clamp passes no gradient.
  poisson  exp(o) - y o: o is the log rate, log(y!) is left out (torch's PoissonNLLLoss,
           log_input=True, full=False); prediction exp(o).

`loss_sum` is the sum of the same row losses, so a validation set summed in chunks and divided
by its row count gives exactly what `loss` gives on the whole set.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from workers.contract.losses import LOSSES_BY_TASK, NON_NEGATIVE_TARGET_LOSSES
from workers.contract.transforms import OUTPUT_TRANSFORMS

from .data import DataError

# The transforms are named in workers.contract.transforms; the objectives below apply them in torch.

Tensor = torch.Tensor


class Objective:
    """A loss and the reading of raw outputs that goes with it; see the module docstring."""

    name: str
    task: str
    n_outputs: int
    n_classes: int | None  # None for regression

    def __init__(self, name: str, n_outputs: int, n_classes: int | None = None):
        self.name = name
        self.n_outputs = n_outputs
        self.n_classes = n_classes

    def encode_targets(self, y: Tensor) -> Tensor:
        """Class indices (n,) or floats (n, 1) into what `loss` takes; once per dataset."""
        raise NotImplementedError

    def row_losses(self, output: Tensor, target: Tensor) -> Tensor:
        """One loss per row, shape (n,) or (n, 1)."""
        raise NotImplementedError

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        """Mean over rows."""
        return self.row_losses(output, target).mean()

    def loss_sum(self, output: Tensor, target: Tensor) -> Tensor:
        """Sum over rows."""
        return self.row_losses(output, target).sum()

    def predict(self, output: Tensor) -> Tensor:
        """Class indices (long, (n,)) or values (n, 1)."""
        raise NotImplementedError

    def probabilities(self, output: Tensor) -> Tensor | None:
        """(n, n_classes) rows that sum to 1, or None where the loss gives no probabilities."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, n_classes={self.n_classes})"


class _Classification(Objective):
    task = "classification"

    def __init__(self, name: str, n_classes: int):
        super().__init__(name, n_outputs=n_classes, n_classes=n_classes)

    def encode_targets(self, y: Tensor) -> Tensor:
        return y.reshape(-1).long()

    def predict(self, output: Tensor) -> Tensor:
        return output.argmax(dim=1)


class CrossEntropy(_Classification):
    def row_losses(self, output: Tensor, target: Tensor) -> Tensor:
        return F.cross_entropy(output, target, reduction="none")

    def loss(self, output: Tensor, target: Tensor) -> Tensor:
        # The fused mean: row losses then .mean() cost an op and a backward node more, about
        # 5 % of a batch-32 step on a CPU (bench/engine).
        return F.cross_entropy(output, target)

    def probabilities(self, output: Tensor) -> Tensor:
        return output.softmax(dim=1)


class MultiMargin(_Classification):
    """hinge (p=1) and squared_hinge (p=2)."""

    def __init__(self, name: str, n_classes: int):
        super().__init__(name, n_classes)
        self.p = {"hinge": 1, "squared_hinge": 2}[name]

    def row_losses(self, output: Tensor, target: Tensor) -> Tensor:
        # Per row this already divides by the number of classes, as reduction="mean" would.
        return F.multi_margin_loss(output, target, p=self.p, margin=1.0, reduction="none")


class BinaryCrossEntropy(_Classification):
    """Two classes from one logit: the log-odds of class 1."""

    def __init__(self, name: str, n_classes: int = 2):
        super().__init__(name, n_classes)
        self.n_outputs = 1

    def encode_targets(self, y: Tensor) -> Tensor:
        return y.reshape(-1, 1).float()

    def row_losses(self, output: Tensor, target: Tensor) -> Tensor:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")

    def predict(self, output: Tensor) -> Tensor:
        return (output[:, 0] > 0).long()

    def probabilities(self, output: Tensor) -> Tensor:
        # sigmoid(-o) rather than 1 - sigmoid(o): it keeps its precision when sigmoid(o) nears 1.
        return torch.cat([torch.sigmoid(-output), torch.sigmoid(output)], dim=1)


_REGRESSION_ROW_LOSSES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "mse": lambda o, y: F.mse_loss(o, y, reduction="none"),
    "mae": lambda o, y: F.l1_loss(o, y, reduction="none"),
    "huber": lambda o, y: F.huber_loss(o, y, reduction="none", delta=1.0),
    "msle": lambda o, y: (torch.log1p(o.clamp_min(0)) - torch.log1p(y)).square(),
    "poisson": lambda o, y: F.poisson_nll_loss(o, y, log_input=True, full=False, reduction="none"),
}
_PREDICTIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "identity": lambda o: o,
    "clamp_min0": lambda o: o.clamp_min(0),
    "exp": torch.exp,
}


class Regression(Objective):
    """With `scale` ({"mean", "std"} of the training rows, see data.fit_target_scale) the loss
    compares outputs with the standardized target and `predict` answers in the target's units."""

    task = "regression"

    def __init__(self, name: str, scale: dict | None = None):
        super().__init__(name, n_outputs=1)
        self._row_loss = _REGRESSION_ROW_LOSSES[name]
        self._predict = _PREDICTIONS[OUTPUT_TRANSFORMS[name]]
        self.scale = scale

    def encode_targets(self, y: Tensor) -> Tensor:
        y = y.reshape(-1, 1).float()
        # A prediction that is never negative cannot fit a negative target: msle would turn
        # NaN (the log of a number below 0), poisson would fall without bound.
        if self.name in NON_NEGATIVE_TARGET_LOSSES and bool((y < 0).any()):  # a sync, once
            others = [
                n for n in LOSSES_BY_TASK["regression"] if n not in NON_NEGATIVE_TARGET_LOSSES
            ]
            raise DataError(
                f"{self.name} needs a target of counts or values >= 0 and this one has negative "
                f"values; use one of: {', '.join(others)}."
            )
        if self.scale is not None:
            return (y - self.scale["mean"]) / self.scale["std"]
        return y

    def row_losses(self, output: Tensor, target: Tensor) -> Tensor:
        return self._row_loss(output, target)

    def predict(self, output: Tensor) -> Tensor:
        values = self._predict(output)
        if self.scale is not None:
            return values * self.scale["std"] + self.scale["mean"]
        return values


_CLASSIFICATION = {
    "cross_entropy": CrossEntropy,
    "binary_cross_entropy": BinaryCrossEntropy,
    "hinge": MultiMargin,
    "squared_hinge": MultiMargin,
}


def build_objective(
    name: str, task: str, n_classes: int | None, target_scale: dict | None = None
) -> Objective:
    """The objective for loss `name` on a `task` target with `n_classes` classes (None for
    regression). A loss that does not fit the task is a ValueError; one that does not fit the
    data's classes is a DataError (also a ValueError), whose message the run shows its user."""
    if name not in OUTPUT_TRANSFORMS:
        raise ValueError(f"unknown loss {name!r}; choose one of: {', '.join(OUTPUT_TRANSFORMS)}.")
    if task not in LOSSES_BY_TASK:
        raise ValueError(f"unknown task {task!r}; choose one of: {', '.join(LOSSES_BY_TASK)}.")
    if name not in LOSSES_BY_TASK[task]:
        fitting = ", ".join(LOSSES_BY_TASK[task])
        raise ValueError(f"{name} does not fit a {task} target; use one of: {fitting}.")
    if task == "regression":
        if n_classes is not None:
            raise ValueError(f"a regression target has no classes; got n_classes={n_classes}.")
        return Regression(name, target_scale)
    if n_classes is None or n_classes < 2:
        raise DataError(f"{name} needs a target with at least 2 classes; it has {n_classes}.")
    if name == "binary_cross_entropy":
        if n_classes != 2:
            others = [n for n in LOSSES_BY_TASK["classification"] if n != name]
            raise DataError(
                f"binary_cross_entropy needs exactly 2 classes and the target has {n_classes}; "
                f"use one of: {', '.join(others)}."
            )
        return BinaryCrossEntropy(name)
    return _CLASSIFICATION[name](name, n_classes)
