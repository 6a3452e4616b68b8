"""Predictions from an exported model with NumPy alone.

The web process imports this module to answer predict requests, and the web process never
imports torch: nothing here may import torch or `workers.engine`, not even indirectly
(`tests/workers/test_inference.py` checks it in a fresh interpreter).

A model arrives as a list of layers (`workers.engine.export.export_layers` makes them from a
trained `nn.Sequential`), each a dict with an "op" and its parameters as float32 arrays:

    {"op": "linear", "weight": (out, in), "bias": (out,)}
    {"op": "conv2d", "weight": (out, in, kh, kw), "bias": (out,), "padding": int}  # stride 1
    {"op": "batch_norm", "mean", "var", "weight", "bias": (channels,), "eps": float}
    {"op": "relu" | "tanh" | "sigmoid" | "gelu"}   # gelu: the exact erf form
    {"op": "max_pool2d", "kernel": int}            # stride = kernel, no padding, floor
    {"op": "global_avg_pool"}                      # (n, c, h, w) -> (n, c, 1, 1)
    {"op": "flatten"}                              # (n, ...) -> (n, rest)

`forward` follows the model in eval mode (dropout is not exported: it is the identity there;
batch norm uses its running statistics). It computes in float64, so it is at least as
accurate as torch's float32 forward; outputs agree with it to about 1e-6 on outputs of
order 1.

On disk the list is one `.npz` file, written with `np.savez(path, **layers_to_npz_dict(layers))`
and read with `layers_from_npz(np.load(path, allow_pickle=False))`. Its entries:

    "format_version"  0-d int64, currently 1
    "{i}.op"          0-d unicode string: layer i's op (layers numbered from 0, in order)
    "{i}.{field}"     layer i's other fields: arrays as they are, ints as 0-d int64 and
                      floats as 0-d float64 arrays

Nothing needs pickle, so a file from anywhere can be loaded safely.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from workers.contract.transforms import sigmoid

FORMAT_VERSION = 1


def layers_to_npz_dict(layers: list[dict]) -> dict[str, np.ndarray]:
    """`layers` as flat named arrays for `np.savez` (format in the module docstring)."""
    arrays = {"format_version": np.array(FORMAT_VERSION, dtype=np.int64)}
    for i, layer in enumerate(layers):
        for field, value in layer.items():
            if isinstance(value, str):
                array = np.array(value, dtype=np.str_)
            elif isinstance(value, bool | np.bool_):
                raise ValueError(f"Layer {i} field {field!r}: booleans are not part of the format.")
            elif isinstance(value, int | np.integer):
                array = np.array(value, dtype=np.int64)
            elif isinstance(value, float | np.floating):
                array = np.array(value, dtype=np.float64)
            else:
                array = np.asarray(value)
            arrays[f"{i}.{field}"] = array
    return arrays


def layers_from_npz(mapping: Mapping[str, np.ndarray]) -> list[dict]:
    """The layer list from `layers_to_npz_dict`'s arrays, or from `np.load` of a saved file."""
    names = list(mapping.keys())
    if "format_version" not in names:
        raise ValueError("Not an exported model: the file has no format_version entry.")
    version = int(mapping["format_version"])
    if version != FORMAT_VERSION:
        raise ValueError(f"Exported model format {version} is not supported here.")
    layers: dict[int, dict] = {}
    for name in names:
        if name == "format_version":
            continue
        index, _, field = name.partition(".")
        if not index.isdigit() or not field:
            raise ValueError(f"Unexpected entry {name!r} in the exported model.")
        value = np.asarray(mapping[name])
        layers.setdefault(int(index), {})[field] = value.item() if value.ndim == 0 else value
    if sorted(layers) != list(range(len(layers))):
        raise ValueError("The exported model's layers are not numbered 0, 1, 2, ...")
    ordered = [layers[i] for i in range(len(layers))]
    for i, layer in enumerate(ordered):
        if "op" not in layer:
            raise ValueError(f"Layer {i} of the exported model has no op.")
    return ordered


def forward(layers: list[dict], x: np.ndarray) -> np.ndarray:
    """The model's outputs for inputs `x`: (n, features) or, for images, (n, c, h, w)."""
    out = np.asarray(x, dtype=np.float64)
    for i, layer in enumerate(layers):
        op = _OPS.get(layer["op"])
        if op is None:
            raise ValueError(f"Layer {i} has unknown op {layer['op']!r}.")
        out = op(layer, out)
    return out


def _linear(layer: dict, x: np.ndarray) -> np.ndarray:
    return x @ layer["weight"].T.astype(np.float64) + layer["bias"]


def _batch_norm(layer: dict, x: np.ndarray) -> np.ndarray:
    # Parameters are per channel (axis 1), for (n, c) and (n, c, h, w) inputs alike.
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = layer["weight"] / np.sqrt(layer["var"].astype(np.float64) + layer["eps"])
    return (x - layer["mean"].reshape(shape)) * scale.reshape(shape) + layer["bias"].reshape(shape)


def _conv2d(layer: dict, x: np.ndarray) -> np.ndarray:
    """Stride-1 convolution as one matrix product over a strided view of the windows."""
    weight, p = layer["weight"].astype(np.float64), layer["padding"]
    _, _, kh, kw = weight.shape
    padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    # windows: (n, c, h_out, w_out, kh, kw), a view; tensordot copies it once (im2col), which
    # costs n * h_out * w_out * c * kh * kw floats: fine for the small batches of a request.
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kh, kw), axis=(2, 3))
    out = np.tensordot(windows, weight, axes=([1, 4, 5], [1, 2, 3]))  # (n, h_out, w_out, out)
    return out.transpose(0, 3, 1, 2) + layer["bias"].reshape(1, -1, 1, 1)


def _max_pool2d(layer: dict, x: np.ndarray) -> np.ndarray:
    k = layer["kernel"]
    n, c, h, w = x.shape
    h_out, w_out = h // k, w // k  # floor: trailing rows and columns are dropped, as in torch
    cropped = x[:, :, : h_out * k, : w_out * k]
    return cropped.reshape(n, c, h_out, k, w_out, k).max(axis=(3, 5))


def _gelu(x: np.ndarray) -> np.ndarray:
    # x * Phi(x) with Phi(x) = erfc(-x / sqrt(2)) / 2: the erfc form keeps full relative
    # accuracy in Phi's tail for very negative x, where 1 + erf(x / sqrt(2)) would cancel.
    return 0.5 * x * erfc(-x / math.sqrt(2.0))


_ERFC_SERIES_BELOW = 2.5
_ERFC_TERMS = 40  # both expansions converge to double precision within 40 terms on their range


def erfc(z: np.ndarray) -> np.ndarray:
    """The complementary error function, elementwise, to near double precision.

    For |z| < 2.5: erf(|z|) = 2/sqrt(pi) * exp(-z^2) * sum_n (2 z^2)^n |z| / (1*3*...*(2n+1)),
    a series of positive terms (no cancellation); for |z| >= 2.5, Laplace's continued fraction
    erfc(|z|) = exp(-z^2)/sqrt(pi) / (|z| + (1/2)/(|z| + 1/(|z| + (3/2)/(|z| + ...)))). Both are
    truncated at 40 terms. Measured against `math.erfc` on 400,000 points of [-6, 26.5]: the
    absolute error is below 2e-15, the relative error below 2e-12 (worst just under 2.5,
    where erfc = 1 - erf) and below 6e-14 from 2.5 on, until erfc turns subnormal near 26.6.
    NumPy has no erf, and scipy is not a web dependency.
    """
    z = np.asarray(z, dtype=np.float64)
    a = np.abs(z)
    out = np.empty_like(a)
    near = a < _ERFC_SERIES_BELOW
    out[near] = 1.0 - _erf_series(a[near])
    out[~near] = _erfc_continued_fraction(a[~near])  # NaN lands here and stays NaN
    return np.where(z < 0, 2.0 - out, out)


def _erf_series(a: np.ndarray) -> np.ndarray:
    two_a2 = 2.0 * a * a
    term = a.copy()
    total = a.copy()
    for n in range(1, _ERFC_TERMS + 1):
        term = term * two_a2 / (2 * n + 1)
        total += term
    return 2.0 / math.sqrt(math.pi) * np.exp(-a * a) * total


def _erfc_continued_fraction(a: np.ndarray) -> np.ndarray:
    denominator = a.copy()
    for k in range(_ERFC_TERMS, 0, -1):  # evaluated from the tail up
        denominator = a + (k / 2.0) / denominator
    return np.exp(-a * a) / math.sqrt(math.pi) / denominator


_OPS: dict[str, Callable[[dict, np.ndarray], np.ndarray]] = {
    "linear": _linear,
    "conv2d": _conv2d,
    "batch_norm": _batch_norm,
    "relu": lambda _, x: np.maximum(x, 0.0),
    "tanh": lambda _, x: np.tanh(x),
    "sigmoid": lambda _, x: sigmoid(x),
    "gelu": lambda _, x: _gelu(x),
    "max_pool2d": _max_pool2d,
    "global_avg_pool": lambda _, x: x.mean(axis=(2, 3), keepdims=True),
    "flatten": lambda _, x: x.reshape(len(x), -1),
}
