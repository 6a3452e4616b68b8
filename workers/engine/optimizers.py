"""Optimizers by config name, with the config's hyperparameters. A new optimizer is one entry in
OPTIMIZERS here and its name in workers/contract/choices.py (a test holds the two equal)."""

from __future__ import annotations

from collections.abc import Callable

import torch


def _momentum(config: dict) -> float:
    return config["momentum"] or 0.0


OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": lambda params, c, lr, wd: torch.optim.SGD(
        params, lr=lr, momentum=_momentum(c), nesterov=c["nesterov"], weight_decay=wd
    ),
    "rmsprop": lambda params, c, lr, wd: torch.optim.RMSprop(
        params, lr=lr, momentum=_momentum(c), weight_decay=wd
    ),
    "adam": lambda params, c, lr, wd: torch.optim.Adam(params, lr=lr, weight_decay=wd),
    "adamw": lambda params, c, lr, wd: torch.optim.AdamW(params, lr=lr, weight_decay=wd),
    "adagrad": lambda params, c, lr, wd: torch.optim.Adagrad(params, lr=lr, weight_decay=wd),
    "adadelta": lambda params, c, lr, wd: torch.optim.Adadelta(params, lr=lr, weight_decay=wd),
}


def build_optimizer(config: dict, params) -> torch.optim.Optimizer:
    build = OPTIMIZERS.get(config["optimizer"])
    if build is None:
        raise ValueError(f"unknown optimizer {config['optimizer']!r}")
    return build(params, config, config["learning_rate"], config["weight_decay"])
