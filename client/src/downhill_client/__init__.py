"""Python client of a Downhill server. Start with `Client()`."""

from .client import Client
from .errors import ApiError, BadInput, ConfigError, DatasetFailed, DownhillError, ServerUnreachable
from .experiments import load_config
from .metrics import Metrics
from .models import Dataset, Experiment, Progress, Run
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
    "Run",
    "ServerUnreachable",
    "Snapshot",
    "load_config",
]
__version__ = "0.1.0"
