"""Weight initialisation from the config's `init` object.

Schemes draw from torch's global RNG, which the loop seeds before building the model, so a
run's initial weights follow from its seed.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from workers.contract.choices import INIT_TYPES

_WEIGHT_INITS = {
    "xavier_uniform": nn.init.xavier_uniform_,
    "xavier_normal": nn.init.xavier_normal_,
    "he_uniform": partial(nn.init.kaiming_uniform_, nonlinearity="relu"),
    "he_normal": partial(nn.init.kaiming_normal_, nonlinearity="relu"),
    "orthogonal": nn.init.orthogonal_,
    # All-zero weights are a mistake worth being able to make: every unit of a layer gets the
    # same gradient, so hidden units stay identical and the network cannot learn.
    "zeros": nn.init.zeros_,
}

_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d)


@torch.no_grad()
def apply_init(model: nn.Module, spec: dict) -> None:
    """Re-initialise `model` in place: weights of Linear and Conv2d layers by `spec["type"]`,
    their biases to zero, batch norms to the identity (weight 1, bias 0).

    "default" keeps PyTorch's own initialisation (and draws nothing from the RNG).
    """
    kind = spec["type"]
    if kind == "default":
        return
    if kind == "normal":
        init_weight = partial(nn.init.normal_, mean=0.0, std=spec["std"])
    elif kind in _WEIGHT_INITS:
        init_weight = _WEIGHT_INITS[kind]
    else:
        raise ValueError(f"Unknown init type {kind!r}; expected one of {', '.join(INIT_TYPES)}.")
    for module in model.modules():
        if isinstance(module, nn.Linear | nn.Conv2d):
            init_weight(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, _BATCH_NORMS) and module.affine:
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
