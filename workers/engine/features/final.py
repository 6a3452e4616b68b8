from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Final:
    """The model a run ends with and the validation it is reported with."""

    model: torch.nn.Module
    metrics: dict
    details: dict
    source: str = "last"  # "last", "swa" or "best"
