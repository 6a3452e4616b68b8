"""The names an experiment config chooses among, as plain tuples for the engine and the
pages' filters. They are declared in the spec (workers.contract.spec); these are its names at
import time, so a choice registered later is read from the spec's registries directly."""

from workers.contract.spec.lr_schedules import CYCLIC_MODES, schedule_names
from workers.contract.spec.optimizers import momentum_optimizers, optimizer_names
from workers.contract.spec.settings import (
    ACTIVATIONS,
    EARLY_STOPPING_MONITORS,
    INIT_TYPES,
    MODEL_TYPES,
    PRECISIONS,
    TASKS,
)

OPTIMIZERS = optimizer_names()
MOMENTUM_OPTIMIZERS = momentum_optimizers()
LR_SCHEDULE_TYPES = schedule_names()

__all__ = [
    "ACTIVATIONS", "CYCLIC_MODES", "EARLY_STOPPING_MONITORS", "INIT_TYPES", "LR_SCHEDULE_TYPES",
    "MODEL_TYPES", "MOMENTUM_OPTIMIZERS", "OPTIMIZERS", "PRECISIONS", "TASKS",
]  # fmt: skip
