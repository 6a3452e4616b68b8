"""The optimizers a config may name, with their defaults. Registering one here puts it in the
validation, the API schema, the form and the run page; the engine builds it by name."""

from __future__ import annotations

from .types import Optimizer, Registry

# Defaults are the libraries' conventional ones (PyTorch for SGD, Adagrad and Adadelta, Keras
# for Adam and RMSprop); on the bundled iris, wine and breast-cancer sets each reaches >= 90 %
# validation accuracy within the default 20 epochs at batch size 32 (tests/workers/test_engine.py).
_MEASURED = (
    "reaches >= 90 % validation accuracy on iris, wine and breast-cancer in 20 epochs at batch 32"
)

OPTIMIZERS: Registry = Registry()

for _optimizer in (
    Optimizer("sgd", 0.01, f"PyTorch's convention; {_MEASURED}", momentum=True, nesterov=True),
    Optimizer("rmsprop", 0.001, f"Keras' convention; {_MEASURED}", momentum=True),
    Optimizer("adam", 0.001, f"Keras' convention; {_MEASURED}"),
    # AdamW exists for its decoupled weight decay; at 0 it would be Adam. 0.01 is PyTorch's default.
    Optimizer("adamw", 0.001, f"Keras' convention; {_MEASURED}", default_weight_decay=0.01),
    Optimizer("adagrad", 0.01, f"PyTorch's convention; {_MEASURED}"),
    Optimizer("adadelta", 1.0, f"PyTorch's convention; {_MEASURED}"),
):
    OPTIMIZERS.register(_optimizer)

DEFAULT_OPTIMIZER = "adam"


def optimizer_names() -> tuple[str, ...]:
    return tuple(OPTIMIZERS)


def momentum_optimizers() -> tuple[str, ...]:
    return tuple(name for name, o in OPTIMIZERS.items() if o.momentum)


def nesterov_optimizers() -> tuple[str, ...]:
    return tuple(name for name, o in OPTIMIZERS.items() if o.nesterov)


def default_learning_rates() -> dict[str, float]:
    return {name: o.default_lr for name, o in OPTIMIZERS.items()}
