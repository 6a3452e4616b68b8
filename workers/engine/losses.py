"""Loss functions by config name. Regression targets are (n, 1) floats; classification
targets are class indices."""

from torch import nn

LOSSES = {
    "cross_entropy": nn.CrossEntropyLoss,
    "mse": nn.MSELoss,
    "mae": nn.L1Loss,
    "huber": nn.HuberLoss,
}


def build_loss(name: str, reduction: str = "mean") -> nn.Module:
    return LOSSES[name](reduction=reduction)
