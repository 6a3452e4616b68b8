"""Model architectures built from the config's `model` object."""

from __future__ import annotations

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}


def build_model(spec: dict, n_features: int, n_outputs: int) -> nn.Module:
    if spec["type"] == "linear":
        return nn.Sequential(nn.Linear(n_features, n_outputs))
    layers: list[nn.Module] = []
    width = n_features
    for hidden in spec["hidden"]:
        layers += [nn.Linear(width, hidden), ACTIVATIONS[spec["activation"]]()]
        width = hidden
    layers.append(nn.Linear(width, n_outputs))
    return nn.Sequential(*layers)
