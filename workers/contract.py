"""What the web and the worker agree on. Imports neither Django nor torch.

The web enqueues training, and the reading of a large upload, by task name on the queues below;
the run spec is the experiment's validated config (every default filled in), whose option
names are listed here.
"""

from __future__ import annotations

import math

TRAINING_QUEUE = "training"
TRAIN_RUN_TASK = "downhill.train_run"
REQUEUE_STALE_TASK = "downhill.requeue_stale_runs"
# Large uploads are read on a queue of their own, so an hour of training never holds one up.
DATASETS_QUEUE = "datasets"
PROCESS_DATASET_TASK = "downhill.process_dataset"

TASKS = ("classification", "regression")

OPTIMIZERS = ("sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta")
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")

# Loss names by the task they fit; the first one is the task's default.
LOSSES_BY_TASK = {
    "classification": ("cross_entropy", "binary_cross_entropy", "hinge", "squared_hinge"),
    "regression": ("mse", "mae", "huber", "msle", "poisson"),
}
NON_NEGATIVE_TARGET_LOSSES = ("msle", "poisson")
BINARY_ONLY_LOSSES = ("binary_cross_entropy",)

MODEL_TYPES = ("mlp", "linear", "cnn")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
INIT_TYPES = (
    "default", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal", "orthogonal",
    "normal", "zeros",
)  # fmt: skip

LR_SCHEDULE_TYPES = (
    "constant", "step", "exponential", "cosine", "warm_restarts", "cyclic", "one_cycle", "plateau",
)  # fmt: skip
CYCLIC_MODES = ("triangular", "triangular2")
EARLY_STOPPING_MONITORS = {"val_loss": "min", "val_accuracy": "max"}
PRECISIONS = ("fp32", "bf16")


def loss_misfit(
    loss: str, task: str, n_classes: int | None, target_min: float | None
) -> str | None:
    """Why `loss` cannot train this target, naming what would fit; None when it fits."""
    fitting = LOSSES_BY_TASK[task]
    if loss not in fitting:
        return f"{loss} does not fit a {task} target; use one of: {', '.join(fitting)}."
    if loss in BINARY_ONLY_LOSSES and n_classes != 2:
        return f"{loss} needs exactly two classes; this target has {n_classes}. Use cross_entropy, hinge or squared_hinge."
    if loss in NON_NEGATIVE_TARGET_LOSSES and target_min is not None and target_min < 0:
        others = ", ".join(x for x in fitting if x not in NON_NEGATIVE_TARGET_LOSSES)
        return f"{loss} needs a target of counts or values >= 0; this one reaches {target_min:g}. Use {others}."
    return None


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


# Events the end of a run emits (its final model chosen). A cancelled run ends too, at its
# checkpoint's step; a run that goes on from it must not carry them.
END_OF_RUN_EVENTS = ("swa_final", "restore_best")
