"""A trained model as plain NumPy layers, for prediction without torch.

`export_layers` walks an `nn.Sequential` (as `models.build_model` makes them) and returns the
layer list that `workers.contract.inference.forward` evaluates; the list's format and its `.npz` form
are documented in `workers/contract/inference.py`, which holds the reading side because the web
process, which never imports torch, has to load it. `layers_to_npz_dict` and
`layers_from_npz` are re-exported here so the engine has one place to import from.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from workers.contract.inference import layers_from_npz, layers_to_npz_dict

from .models import ACTIVATIONS

__all__ = ["export_layers", "export_model", "layers_from_npz", "layers_to_npz_dict"]

_ACTIVATIONS = {module: name for name, module in ACTIVATIONS.items()}
_IDENTITY_AT_INFERENCE = (nn.Dropout, nn.Identity)


def export_layers(model: nn.Sequential) -> list[dict]:
    """The layers of `model` with eval-mode semantics; raises ValueError for any layer (or
    layer setting) that `workers.contract.inference` cannot reproduce exactly."""
    layers: list[dict] = []
    for module in model:
        if isinstance(module, nn.Sequential):
            layers += export_layers(module)
        elif not isinstance(module, _IDENTITY_AT_INFERENCE):
            layers.append(_export_layer(module))
    return layers


def export_model(model: nn.Sequential, target_scale: dict | None = None) -> list[dict]:
    """A run's final model for NumPy inference. A model trained on a standardized target
    (data.fit_target_scale) ends with one more linear layer, o * std + mean, so the exported
    file answers in the target's units by itself (only the identity-output losses are scaled)."""
    layers = export_layers(model)
    if target_scale is not None:
        layers.append({"op": "linear", "weight": np.array([[target_scale["std"]]], dtype=np.float32),
                       "bias": np.array([target_scale["mean"]], dtype=np.float32)})  # fmt: skip
    return layers


def _export_layer(module: nn.Module) -> dict:
    kind = type(module)
    if kind in _ACTIVATIONS:
        if kind is nn.GELU and module.approximate != "none":
            raise ValueError("Only the exact (erf) GELU can be exported.")
        return {"op": _ACTIVATIONS[kind]}
    exporter = _EXPORTERS.get(kind)
    if exporter is None:
        raise ValueError(f"Cannot export layer {module}: no NumPy equivalent.")
    return exporter(module)


def _linear(module: nn.Linear) -> dict:
    return {"op": "linear", "weight": _array(module.weight), "bias": _bias(module)}


def _max_pool2d(module: nn.MaxPool2d) -> dict:
    k = module.kernel_size
    if not isinstance(k, int) or (module.stride, module.padding, module.dilation) != (k, 0, 1):
        raise ValueError(f"Only square MaxPool2d with stride = kernel exports: {module}.")
    if module.ceil_mode:
        raise ValueError(f"Only MaxPool2d with floor rounding exports: {module}.")
    return {"op": "max_pool2d", "kernel": k}


def _global_avg_pool(module: nn.AdaptiveAvgPool2d) -> dict:
    if module.output_size not in (1, (1, 1)):
        raise ValueError(f"Only AdaptiveAvgPool2d(1) exports: {module}.")
    return {"op": "global_avg_pool"}


def _flatten(module: nn.Flatten) -> dict:
    if (module.start_dim, module.end_dim) != (1, -1):
        raise ValueError(f"Only Flatten() over all but the batch dimension exports: {module}.")
    return {"op": "flatten"}


def _conv2d(module: nn.Conv2d) -> dict:
    padding = module.padding
    plain = (
        module.stride == (1, 1)
        and module.dilation == (1, 1)
        and module.groups == 1
        and module.padding_mode == "zeros"
        and isinstance(padding, tuple)  # not "same"/"valid"
        and padding[0] == padding[1]
    )
    if not plain:
        raise ValueError(f"Only stride-1, ungrouped, evenly zero-padded Conv2d exports: {module}.")
    return {
        "op": "conv2d",
        "weight": _array(module.weight),
        "bias": _bias(module),
        "padding": padding[0],
    }


def _batch_norm(module: nn.BatchNorm1d | nn.BatchNorm2d) -> dict:
    if module.running_mean is None:
        raise ValueError(f"{module} keeps no running statistics, so it has no eval-mode form.")
    channels = module.num_features
    affine = module.affine
    return {
        "op": "batch_norm",
        "mean": _array(module.running_mean),
        "var": _array(module.running_var),
        "weight": _array(module.weight) if affine else np.ones(channels, dtype=np.float32),
        "bias": _array(module.bias) if affine else np.zeros(channels, dtype=np.float32),
        "eps": float(module.eps),
    }


def _bias(module: nn.Linear | nn.Conv2d) -> np.ndarray:
    if module.bias is None:
        return np.zeros(module.weight.shape[0], dtype=np.float32)
    return _array(module.bias)


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to(device="cpu", dtype=torch.float32).numpy().copy()


_EXPORTERS = {
    nn.Linear: _linear,
    nn.Conv2d: _conv2d,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.MaxPool2d: _max_pool2d,
    nn.AdaptiveAvgPool2d: _global_avg_pool,
    nn.Flatten: _flatten,
}
