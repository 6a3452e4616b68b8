"""How a run's training rows become epochs and steps."""

from __future__ import annotations

import math


def batch_sizes_per_epoch(n_train: int, config: dict) -> list[int]:
    """The batch size of every epoch: `batch_size` ("full" = every row), grown by
    `batch_size_schedule` ({"every_epochs": k, "factor": f, "max": m}) every k epochs up to m,
    never above the training rows."""
    if config["batch_size"] == "full":
        return [n_train] * config["epochs"]
    schedule = config.get("batch_size_schedule")
    sizes = []
    for epoch in range(config["epochs"]):
        size = config["batch_size"]
        if schedule:
            size = min(
                schedule["max"],
                int(size * schedule["factor"] ** (epoch // schedule["every_epochs"])),
            )
        sizes.append(max(1, min(size, n_train)))
    return sizes


def steps_per_epoch(n_train: int, config: dict) -> list[int]:
    return [math.ceil(n_train / size) for size in batch_sizes_per_epoch(n_train, config)]
