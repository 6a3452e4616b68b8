"""From a table of raw columns to tensors: split, impute, encode, standardize.

A table of images (one image column and the target) becomes (n, channels, height, width)
tensors, scaled to [0, 1] and standardized per channel.

Every statistic (medians, means, standard deviations, categories) is fitted on the training
split only, so nothing of the validation or test rows leaks into training. The fitted preprocessing is
a plain dict (workers/contract/preprocessing.py), kept with the run so raw rows can be transformed the
same way later, by the web process too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from workers.contract.losses import target_scale_applies
from workers.contract.preprocessing import fit_features, transform
from workers.contract.splits import split_indices


class DataError(ValueError):
    """The data cannot be trained as configured; the message says what to change."""


@dataclass
class TrainingData:
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor | None
    y_val: torch.Tensor | None
    task: str
    classes: list[str] | None
    preprocessing: dict
    # Held out from everything, validation included: measured once, on the final model.
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None

    @property
    def n_features(self) -> int | tuple[int, int, int]:
        """Features per row; for images their shape (channels, height, width)."""
        if self.x_train.dim() == 4:
            return tuple(self.x_train.shape[1:])
        return self.x_train.shape[1]

    @property
    def sizes(self) -> dict[str, int]:
        return {
            "train": len(self.x_train),
            "validation": 0 if self.x_val is None else len(self.x_val),
            "test": 0 if self.x_test is None else len(self.x_test),
        }


def _class_order(labels: np.ndarray) -> list[str]:
    """Classes sorted numerically when they are all numbers, else as text."""
    unique = set(labels.tolist())
    try:
        return sorted(unique, key=float)
    except ValueError:
        return sorted(unique)


def fit_target_scale(y_train: np.ndarray) -> dict[str, float]:
    """The training rows' target mean and standard deviation (1 for a constant target): the
    model learns (y - mean) / std and its outputs o are read as o * std + mean."""
    values = y_train.astype(np.float64)
    std = float(values.std())
    return {"mean": float(values.mean()), "std": std if std > 0 else 1.0}


def prepare(table: dict[str, np.ndarray], schema: list[dict], config: dict) -> TrainingData:
    """Split, fit preprocessing on the training rows, and build tensors (on the CPU)."""
    target, task = config["target"], config["task"]
    y_raw = table[target]
    if y_raw.dtype == object:  # a text column: None marks a missing value
        keep = np.array([v is not None for v in y_raw], dtype=bool)
    else:
        keep = ~np.isnan(y_raw.astype(np.float64))  # numeric targets mark missing with NaN
    rows = np.flatnonzero(keep)
    if len(rows) < 2:
        raise DataError(
            f"Only {len(rows)} row(s) have a value in the target column '{target}'; at least 2 are needed."
        )
    table = {name: values[rows] for name, values in table.items()}
    y_raw = table[target]

    labels = None
    classes = None
    if task == "classification":
        # Numbers are read as floats (1.0); name the classes as the file wrote them (1).
        y_text = np.array(
            [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in y_raw],
            dtype=object,
        )
        classes = _class_order(y_text)
        if len(classes) < 2:
            raise DataError(
                f"The target column '{target}' has a single class; classification needs at least two."
            )
        class_index = {c: i for i, c in enumerate(classes)}
        labels = np.array([class_index[v] for v in y_text], dtype=np.int64)
        y = labels
    else:
        y = y_raw.astype(np.float32)

    train, val, test = split_indices(
        len(rows), config["validation_split"], config["seed"], labels, config.get("test_split", 0)
    )
    if len(train) == 0:
        raise DataError(
            "The validation and test splits leave no training rows; lower validation_split "
            "or test_split."
        )
    features = [c["name"] for c in schema if c["name"] != target]
    preprocessing = fit_features(table, schema, features, train)
    preprocessing.update(target=target, task=task, classes=classes)
    if target_scale_applies(config):
        preprocessing["target_scale"] = fit_target_scale(y[train])
    # Each split transformed on its own: no full-size copy of the features besides the splits.
    x_train = transform(table, preprocessing, train)
    if x_train.shape[1] == 0:
        raise DataError("No feature columns are left besides the target.")
    y_tensor = (
        torch.from_numpy(y) if task == "classification" else torch.from_numpy(y).reshape(-1, 1)
    )
    has_val, has_test = len(val) > 0, len(test) > 0
    return TrainingData(
        x_train=torch.from_numpy(x_train),
        y_train=y_tensor[torch.from_numpy(train)],
        x_val=torch.from_numpy(transform(table, preprocessing, val)) if has_val else None,
        y_val=y_tensor[torch.from_numpy(val)] if has_val else None,
        task=task,
        classes=classes,
        preprocessing=preprocessing,
        x_test=torch.from_numpy(transform(table, preprocessing, test)) if has_test else None,
        y_test=y_tensor[torch.from_numpy(test)] if has_test else None,
    )
