"""Typed objects of the API's representations. Fields the server adds later stay in `raw`."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Self

FINISHED = ("succeeded", "failed", "cancelled")


class _FromApi:
    raw: dict

    @classmethod
    def from_api(cls, data: dict) -> Self:
        known = {f.name for f in fields(cls)} - {"raw"}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in data.items() if k in known}, raw=data)


@dataclass
class Dataset(_FromApi):
    id: int
    name: str
    status: str
    error: str = ""
    format: str = ""
    size_bytes: int = 0
    sha256: str = ""
    n_rows: int = 0
    columns: list = field(default_factory=list)
    target: str | None = None
    task: str | None = None
    created_at: str | None = None
    raw: dict = field(default_factory=dict, repr=False)


@dataclass
class Experiment(_FromApi):
    id: int
    name: str
    dataset: int
    config: dict
    runs: list[int] = field(default_factory=list)
    created_at: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def run(self) -> int | None:
        """The latest run's id (the first one, right after create)."""
        return self.runs[-1] if self.runs else None


@dataclass
class Progress:
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    steps: int = 0


@dataclass
class Run(_FromApi):
    id: int
    experiment: int
    status: str
    dataset: int | None = None
    attempt: int = 1
    progress: Progress = field(default_factory=Progress)
    device: str = ""
    worker: str = ""
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str = ""
    summary: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if isinstance(self.progress, dict):
            self.progress = Progress(**{k: self.progress.get(k) or 0 for k in vars(Progress())})
        self.error = self.error or ""
        self.summary = self.summary or {}

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"
