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


SWEEP_FINISHED = ("finished", "cancelled")


@dataclass
class SweepProgress:
    """Trials per state, how many were asked for of `max_trials`, and the server's ETA."""

    running: int = 0
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    cancelled: int = 0
    asked: int = 0
    max_trials: int = 0
    eta_seconds: float | None = None

    @property
    def done(self) -> int:
        return self.complete + self.pruned + self.failed + self.cancelled


@dataclass
class Trial(_FromApi):
    number: int
    state: str
    params: dict = field(default_factory=dict)
    value: float | None = None
    intermediate: dict = field(default_factory=dict)
    prune: dict = field(default_factory=dict)
    error: str = ""
    run: int | None = None
    run_status: str | None = None
    created_at: str | None = None
    finished_at: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def why(self) -> str:
        """Why it was pruned (the pruner's own words) or why it failed; "" otherwise."""
        return (self.prune or {}).get("message") or self.error or ""


@dataclass
class Sweep(_FromApi):
    id: int
    name: str
    status: str
    dataset: int | None = None
    method: str = ""
    objective: str = ""
    direction: str = ""
    max_trials: int = 0
    max_concurrent: int = 0
    seed: int | None = None
    base: dict = field(default_factory=dict)
    space: dict = field(default_factory=dict)
    pruner: dict = field(default_factory=dict)
    progress: SweepProgress = field(default_factory=SweepProgress)
    best: Trial | None = None
    created_at: str | None = None
    finished_at: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if isinstance(self.progress, dict):
            known = vars(SweepProgress())
            self.progress = SweepProgress(**{k: v for k, v in self.progress.items() if k in known})
        if isinstance(self.best, dict):
            self.best = Trial.from_api(self.best)

    @property
    def finished(self) -> bool:
        return self.status in SWEEP_FINISHED


@dataclass
class Suggestions:
    """Learning rates a range test suggests; `warning` says when they disagree by over 10x."""

    steepest: float | None = None
    min_div_10: float | None = None
    valley: float | None = None
    warning: str | None = None


@dataclass
class RangeTest(_FromApi):
    id: int
    experiment: int
    status: str
    params: dict = field(default_factory=dict)
    series: dict = field(default_factory=dict)  # lr, loss, smoothed: one value per step
    suggestions: Suggestions = field(default_factory=Suggestions)
    stop_reason: str = ""
    error: str = ""
    created_at: str | None = None
    finished_at: str | None = None
    raw: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if isinstance(self.suggestions, dict) or self.suggestions is None:
            known = vars(Suggestions())
            given = self.suggestions or {}
            self.suggestions = Suggestions(**{k: v for k, v in given.items() if k in known})
        self.error = self.error or ""
        self.stop_reason = self.stop_reason or ""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"
