"""Rows for the dashboard's tests: datasets, runs with their configs, metric points."""

from __future__ import annotations

import re

from django.utils import timezone

from downhill.datasets.models import Dataset
from downhill.experiments.models import Experiment
from downhill.runs.models import Run

PASSWORD = "correct-horse-battery-1"  # the `user` fixture's

IRIS_COLUMNS = [
    {"name": "petal_length", "dtype": "numeric", "missing": 2, "distinct": 43, "integer": False,
     "distinct_capped": False, "min": 1.0, "max": 6.9, "mean": 3.758, "std": 1.759,
     "histogram": {"edges": [1.0, 2.475, 3.95, 5.425, 6.9], "counts": [50, 3, 61, 34],
                   "estimated": False}},
    {"name": "species", "dtype": "categorical", "missing": 0, "distinct": 3, "integer": False,
     "distinct_capped": False,
     "top_values": [["setosa", 50], ["versicolor", 50], ["virginica", 50]]},
]  # fmt: skip


def make_dataset(owner, name="iris", *, task="classification", columns=None, **fields):
    defaults = {"status": Dataset.Status.READY, "target": "y", "n_rows": 150}
    columns = columns or [{"name": "x", "dtype": "numeric"}, {"name": "y", "dtype": "categorical"}]
    return Dataset.objects.create(
        owner=owner,
        name=name,
        file=f"datasets/{name}.csv",
        columns=columns,
        task=task,
        **{**defaults, **fields},
    )


def make_run(
    owner,
    *,
    dataset_name="iris",
    dataset=None,
    status=Run.Status.SUCCEEDED,
    task="classification",
    **config,
):
    dataset = dataset or make_dataset(owner, dataset_name, task=task)
    config = {
        "dataset": dataset.id, "target": "y", "task": task,
        "model": {"type": "mlp", "hidden": [64, 64], "activation": "relu"},
        "loss": "cross_entropy" if task == "classification" else "mse",
        "optimizer": "adam", "learning_rate": 0.001, "momentum": None, "nesterov": False,
        "weight_decay": 0.0, "batch_size": 32, "epochs": 20, "validation_split": 0.2, "seed": 7,
        "lr_schedule": {"type": "constant", "warmup_epochs": 0},
        **config,
    }  # fmt: skip
    experiment = Experiment.objects.create(owner=owner, dataset=dataset, name="exp", config=config)
    return Run.objects.create(
        experiment=experiment, status=status, epochs=config["epochs"], sent_at=timezone.now()
    )


def row_of(html: str, run: Run) -> str:
    """The runs-table row of one run."""
    match = re.search(rf'<tr data-run="{run.id}"[^>]*>.*?</tr>', html, re.S)
    assert match, f"run {run.id} is not listed"
    return match.group(0)


def listed_ids(html: str) -> list[int]:
    """Run ids in the order the runs table lists them."""
    return [int(i) for i in re.findall(r'<tr data-run="(\d+)"', html)]
