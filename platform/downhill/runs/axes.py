"""A run's steps on other x axes: fractional epochs, samples seen, seconds since its start.

Answered from what the server stores: the config's batch sizes per epoch (with its batch-size
schedule) on the run's training rows (its summary's, or planned from the dataset and checked
against the step total its worker reported), and each point's wall time."""

from __future__ import annotations

import json
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from workers.contract.splits import batch_sizes_per_epoch, steps_per_epoch, train_rows

from .metric_chunks import series_first_wall, series_walls_at
from .models import Run

AXES = ("step", "epoch", "samples", "time")
AXIS_LABELS = {
    "step": "optimizer step",
    "epoch": "epoch",
    "samples": "samples seen",
    "time": "seconds since start",
}
# How far from the planned training rows to look for the count that gives the run's reported
# step total (a stratified split rounds per class, so the plan can be a few rows off).
_ROWS_SEARCH = 32


@dataclass(frozen=True)
class EpochPlan:
    """Rows trained per epoch and each epoch's batch size: where its steps fall."""

    n_train: int
    batch_sizes: list[int]
    epoch_steps: list[int]

    def __post_init__(self):
        object.__setattr__(self, "ends", [0, *accumulate(self.epoch_steps)])

    def _place(self, step: int) -> tuple[int, int]:
        """(0-based epoch, steps into it) of a step; past the plan, the last epoch goes on."""
        epoch = min(max(bisect_left(self.ends, step) - 1, 0), len(self.epoch_steps) - 1)
        return epoch, step - self.ends[epoch]

    def epoch(self, step: int) -> float:
        epoch, into = self._place(step)
        return epoch + into / self.epoch_steps[epoch]

    def samples(self, step: int) -> int:
        epoch, into = self._place(step)
        return epoch * self.n_train + min(into * self.batch_sizes[epoch], self.n_train)


def run_epoch_plan(run: Run) -> EpochPlan | None:
    """The run's epochs in steps, or None when its config plans none (no epochs, no rows)."""
    config = run.experiment.config
    if not config.get("epochs"):
        return None
    n_train = (run.summary.get("rows") or {}).get("train") or 0
    n_rows = 0 if n_train else run.experiment.dataset.n_rows or 0
    if not n_train and not n_rows:
        return None
    return _epoch_plan(n_train, n_rows, run.steps or 0, json.dumps(config, sort_keys=True))


# A plan depends only on these arguments, and a batch-size-1 run of a million steps has
# thousands of epochs: planned once per process, not on every read of its curves (it was
# two thirds of a compare page's reads of ten such runs, bench/metrics_read).
@lru_cache(maxsize=256)
def _epoch_plan(n_train: int, n_rows: int, steps: int, config_json: str) -> EpochPlan:
    config = json.loads(config_json)
    if not n_train:
        n_train = _rows_matching_steps(train_rows(n_rows, config), config, steps)
    sizes = batch_sizes_per_epoch(n_train, config)
    return EpochPlan(n_train, sizes, steps_per_epoch(n_train, config))


def _rows_matching_steps(planned: int, config: dict, steps: int) -> int:
    """The training rows near the planned count whose epochs add up to the run's reported step
    total (the planned count when none does). Steps per row count only change where a batch
    boundary is crossed, so a few candidates settle it."""
    if not steps or sum(steps_per_epoch(planned, config)) == steps:
        return planned
    for delta in range(1, _ROWS_SEARCH + 1):
        for n in (planned - delta, planned + delta):
            if n > 0 and sum(steps_per_epoch(n, config)) == steps:
                return n
    return planned


def run_start_time(run: Run) -> float | None:
    """When the run's clock starts: its start, or its first point when that is earlier (a
    resumed run carries the points of the run it goes on from)."""
    first = series_first_wall(run.pk, "train_loss")
    times = [t for t in (first, run.started_at and run.started_at.timestamp()) if t is not None]
    return min(times) if times else None


def series_on_axis(run: Run, series: dict[str, dict[str, list]], axis: str) -> str:
    """Add each series' x values on `axis` ("x": a list beside "steps"); returns the axis
    actually used: "step" when the run plans no epochs or has no clock."""
    if axis in ("epoch", "samples"):
        plan = run_epoch_plan(run)
        if plan is None:
            return series_on_axis(run, series, "step")
        to_x = plan.epoch if axis == "epoch" else plan.samples
        for data in series.values():
            data["x"] = [round(to_x(step), 6) for step in data["steps"]]
        return axis
    if axis == "time":
        start = run_start_time(run)
        if start is None:
            return series_on_axis(run, series, "step")
        for name, data in series.items():
            times = series_walls_at(run.pk, name, data["steps"])
            data["x"] = [round(times.get(step, start) - start, 3) for step in data["steps"]]
        return axis
    for data in series.values():
        data["x"] = list(data["steps"])
    return "step"
