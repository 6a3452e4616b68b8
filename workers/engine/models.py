"""Model architectures built from the config's `model` object.

Every model is an `nn.Sequential` of standard layers, with nothing computed outside the
layers: `export.py` turns one into plain NumPy layers by walking it in order.
"""

from __future__ import annotations

import math

from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU}

Shape = int | tuple[int, int, int]  # tabular: n_features; images: (channels, height, width)


def build_model(spec: dict, n_features: Shape, n_outputs: int) -> nn.Sequential:
    """The model `spec` describes, for inputs of shape `n_features` and `n_outputs` outputs.

    Image inputs given to a linear or MLP model are flattened first, so logistic regression
    on pixels works without a separate model type.
    """
    if spec["type"] == "cnn":
        if isinstance(n_features, int):
            raise ValueError("A CNN needs image inputs of shape (channels, height, width).")
        return _cnn(spec, n_features, n_outputs)
    flatten: list[nn.Module] = []
    if not isinstance(n_features, int):
        flatten, n_features = [nn.Flatten()], math.prod(n_features)
    if spec["type"] == "linear":
        return nn.Sequential(*flatten, nn.Linear(n_features, n_outputs))
    if spec["type"] == "mlp":
        return nn.Sequential(*flatten, *_mlp_layers(spec, n_features, n_outputs))
    raise ValueError(f"Unknown model type {spec['type']!r}.")


def _mlp_layers(spec: dict, n_features: int, n_outputs: int) -> list[nn.Module]:
    # dropout and batch_norm are optional here so older specs without them still build.
    dropout, batch_norm = spec.get("dropout", 0.0), spec.get("batch_norm", False)
    layers: list[nn.Module] = []
    width = n_features
    for hidden in spec["hidden"]:
        layers.append(nn.Linear(width, hidden))
        if batch_norm:
            layers.append(nn.BatchNorm1d(hidden))
        layers.append(ACTIVATIONS[spec["activation"]]())
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width = hidden
    layers.append(nn.Linear(width, n_outputs))
    return layers


def _cnn(spec: dict, shape: tuple[int, int, int], n_outputs: int) -> nn.Sequential:
    """A small VGG-style stack: [conv 3x3 -> (BN) -> activation -> max-pool 2] per entry.

    Why this shape: 3x3 convolutions with padding 1 keep the spatial size, so only the pools
    shrink it and each block doubles the receptive field; the global average pool at the end
    makes the head independent of the image size, so any height x width (odd ones included)
    works with the same spec. Two blocks of 32 and 64 channels is the classic size for
    MNIST/CIFAR-scale images and stays trainable on a CPU. Pooling stops once a side is down to
    1 pixel, since MaxPool2d(2) cannot shrink it further.
    """
    dropout, batch_norm = spec.get("dropout", 0.0), spec.get("batch_norm", False)
    channels_in, height, width = shape
    layers: list[nn.Module] = []
    for channels in spec["channels"]:
        layers.append(nn.Conv2d(channels_in, channels, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(channels))
        layers.append(ACTIVATIONS[spec["activation"]]())
        if min(height, width) >= 2:
            layers.append(nn.MaxPool2d(2))
            height, width = height // 2, width // 2
        channels_in = channels
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(channels_in, n_outputs))
    return nn.Sequential(*layers)
