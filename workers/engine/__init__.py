"""The training engine: pure PyTorch and NumPy, no Django.

`fit(config, data, callbacks)` (a Trainer) trains one run; everything about the outside world (metrics
storage, progress, cancel) arrives through callbacks.
"""

from .callbacks import Callback, Stop, TrainState
from .data import DataError, TrainingData, prepare
from .trainer import Diverged, FitResult, Trainer, fit, pick_device

__all__ = [
    "Callback",
    "DataError",
    "Diverged",
    "FitResult",
    "Stop",
    "TrainState",
    "Trainer",
    "TrainingData",
    "fit",
    "pick_device",
    "prepare",
]
