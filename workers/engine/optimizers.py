"""Optimizers by config name, with the config's hyperparameters."""

from __future__ import annotations

import torch


def build_optimizer(config: dict, params) -> torch.optim.Optimizer:
    name, lr, wd = config["optimizer"], config["learning_rate"], config["weight_decay"]
    if name == "sgd":
        return torch.optim.SGD(
            params,
            lr=lr,
            momentum=config["momentum"] or 0.0,
            nesterov=config["nesterov"],
            weight_decay=wd,
        )
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=lr, momentum=config["momentum"] or 0.0, weight_decay=wd
        )
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=wd)
    raise ValueError(f"unknown optimizer {name!r}")
