"""Python client of a Downhill server. Start with `Client()`."""

from .client import Client
from .errors import ApiError, BadInput, ConfigError, DatasetFailed, DownhillError, ServerUnreachable
from .experiments import load_config
from .metrics import Metrics
from .models import (
    Dataset,
    Experiment,
    Progress,
    RangeTest,
    Run,
    Suggestions,
    Sweep,
    SweepProgress,
    Trial,
)
from .watch import Snapshot

__all__ = [
    "ApiError",
    "BadInput",
    "Client",
    "ConfigError",
    "Dataset",
    "DatasetFailed",
    "DownhillError",
    "Experiment",
    "Metrics",
    "Progress",
    "RangeTest",
    "Run",
    "ServerUnreachable",
    "Snapshot",
    "Suggestions",
    "Sweep",
    "SweepProgress",
    "Trial",
    "load_config",
]
__version__ = "0.1.0"
