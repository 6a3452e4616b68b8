"""How a dataset's rows become training, validation and test rows, and those epochs and steps.

The engine splits with these functions and the web plans a config's steps (its preview, its
step limit) with the same arithmetic.
"""

from __future__ import annotations

import math

import numpy as np


def held_out_counts(n: int, validation_split: float, test_split: float) -> tuple[int, int]:
    """(validation rows, test rows) of `n` rows split without classes: each share rounded, at
    least one row when the share is above 0."""
    n_val = max(1, round(n * validation_split)) if validation_split > 0 else 0
    n_test = max(1, round(n * test_split)) if test_split > 0 else 0
    return n_val, n_test


def train_rows(n_rows: int, config: dict) -> int:
    """About how many of a dataset's rows train (exact without classes; a stratified split
    rounds per class, and rows without a target are left out): what the step counts of a
    config are planned on."""
    n_val, n_test = held_out_counts(n_rows, config["validation_split"], config["test_split"])
    return max(1, n_rows - n_val - n_test)


def split_indices(
    n: int,
    validation_split: float,
    seed: int,
    labels: np.ndarray | None,
    test_split: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, validation, test) row indices, shuffled with the run's seed; stratified by class
    for classification. The validation rows are drawn first, so a test split leaves the
    validation rows of a run without one as they were."""
    rng = np.random.default_rng(seed)
    none = np.array([], dtype=np.int64)
    if validation_split <= 0 and test_split <= 0:
        return rng.permutation(n), none, none
    if labels is None:
        order = rng.permutation(n)
        n_val, n_test = held_out_counts(n, validation_split, test_split)
        return (
            np.sort(order[n_val + n_test :]),
            np.sort(order[:n_val]),
            np.sort(order[n_val : n_val + n_test]),
        )
    train, val, test = [], [], []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_val = round(len(members) * validation_split)
        n_test = round(len(members) * test_split)
        val.append(members[:n_val])
        test.append(members[n_val : n_val + n_test])
        train.append(members[n_val + n_test :])
    return tuple(np.sort(np.concatenate(part)) for part in (train, val, test))


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
