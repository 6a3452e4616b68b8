"""Writes for experiments: validate a config, create the experiment and queue its run."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from downhill.datasets.selectors import datasets_visible_to
from downhill.runs.services import run_queue
from workers.contract.schedules import run_lr_preview
from workers.contract.spec import length
from workers.contract.splits import steps_per_epoch, train_rows

from .config import normalize_config
from .models import Experiment

MAX_NAME_LENGTH = 200


def experiment_create(*, owner, data: dict) -> Experiment:
    """Create an experiment from a request body (config keys plus an optional `name`) and
    queue its first run. Raises ValidationError; on error nothing is created."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The request body must be a JSON object."]})
    data = dict(data)
    name = data.pop("name", None)
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME_LENGTH):
        raise ValidationError({"name": [f"must be text of at most {MAX_NAME_LENGTH} characters."]})

    datasets = datasets_visible_to(owner)
    config = normalize_config(data, dataset_lookup=lambda pk: datasets.filter(pk=pk).first())
    with transaction.atomic():
        experiment = Experiment.objects.create(
            owner=owner,
            dataset_id=config["dataset"],
            name=(name or "").strip() or _default_name(config),
            config=config,
        )
        run_queue(experiment=experiment)
    return experiment


def _default_name(config: dict) -> str:
    return f"{config['optimizer']} lr={config['learning_rate']:g} bs={config['batch_size']}"


PREVIEW_MAX_POINTS = 2000


def experiment_preview(*, owner, data: dict) -> dict:
    """Validate a config as experiment_create would, create nothing, and plot its learning rate
    step by step (the same code the worker's loop follows). Raises ValidationError."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["The request body must be a JSON object."]})
    data = {key: value for key, value in data.items() if key != "name"}
    found = []  # the dataset the config names, as normalize_config looked it up

    def lookup(pk):
        found.append(datasets_visible_to(owner).filter(pk=pk).first())
        return found[-1]

    config = normalize_config(data, dataset_lookup=lookup)
    n_train = train_rows(found[-1].n_rows, config)
    epoch_steps = steps_per_epoch(n_train, config)
    lrs = run_lr_preview(config, epoch_steps)
    stride = max(1, -(-len(lrs) // PREVIEW_MAX_POINTS))
    steps = list(range(1, len(lrs) + 1, stride))
    if steps[-1] != len(lrs):
        steps.append(len(lrs))
    return {
        "config": config,
        "epoch_steps": epoch_steps,
        "total_steps": len(lrs),
        "lr": {"steps": steps, "values": [lrs[s - 1] for s in steps]},
        # What the unset settings resolved to, in words: the form shows it beside the field.
        "resolved": {"epochs": length.describe_length(n_train, config)}
        if data.get("epochs") is None
        else {},
    }
