"""The training engine: pure PyTorch and NumPy, no Django.

`fit(config, data, callbacks)` trains one run; everything about the outside world (metrics
storage, progress, cancel) arrives through callbacks.
"""

from .callbacks import Callback, TrainState
from .data import DataError, TrainingData, prepare
from .loop import Diverged, FitResult, fit, pick_device

__all__ = [
    "Callback",
    "DataError",
    "Diverged",
    "FitResult",
    "TrainState",
    "TrainingData",
    "fit",
    "pick_device",
    "prepare",
]
