"""Runs' metric points as CSV: every stored point (not downsampled), on any x axis.

Long: one row per point, `run,series,step[,<axis>],value`. Wide: one row per run and step,
`run,step[,<axis>],<series>...` (empty where a series has no point at that step). The axis
column is left out when the axis is "step". Axes: step; epoch (fractional) and samples seen,
from the config's batch sizes per epoch on the run's training rows; time (seconds since the
run's first point), from each point's wall time.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import accumulate, groupby

from workers.contract.splits import batch_sizes_per_epoch, train_rows

from .models import MetricPoint, Run

CSV_AXES = ("step", "epoch", "samples", "time")
CSV_FORMATS = ("long", "wide")


class _Epochs:
    """Where a run's steps fall in its epochs (the batch size may grow between epochs)."""

    def __init__(self, run: Run):
        config = run.experiment.config
        rows = (run.summary.get("rows") or {}).get("train")
        self.n_train = rows or train_rows(max(1, run.experiment.dataset.n_rows), config)
        self.sizes = batch_sizes_per_epoch(self.n_train, config) or [self.n_train]
        self.steps = [-(-self.n_train // size) for size in self.sizes]
        self.ends = [0, *accumulate(self.steps)]

    def _place(self, step: int) -> tuple[int, int]:
        epoch = min(max(bisect_left(self.ends, step) - 1, 0), len(self.sizes) - 1)
        return epoch, step - self.ends[epoch]

    def epoch(self, step: int, _wall: float) -> float:
        epoch, into = self._place(step)
        return round(epoch + into / self.steps[epoch], 6)

    def samples(self, step: int, _wall: float) -> int:
        epoch, into = self._place(step)
        return epoch * self.n_train + min(into * self.sizes[epoch], self.n_train)


def _x_of(run: Run, axis: str):
    """(step, wall_time) -> x on `axis`, or None for the step axis."""
    if axis == "step":
        return None
    if axis == "time":
        first = MetricPoint.objects.filter(run=run).order_by("wall_time").first()
        start = first.wall_time if first else 0.0
        return lambda step, wall: round(wall - start, 3)
    return getattr(_Epochs(run), axis)


def _points(run: Run) -> Iterator[tuple[str, int, float, float]]:
    """(name, step, value, wall_time), by step then name, read in chunks."""
    points = MetricPoint.objects.filter(run=run).order_by("step", "name")
    return points.values_list("name", "step", "value", "wall_time").iterator(chunk_size=5000)


def _lines(rows: Iterable[list]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _long_rows(runs: list[Run], axis: str) -> Iterator[list]:
    yield ["run", "series", "step", *([axis] if axis != "step" else []), "value"]
    for run in runs:
        x_of = _x_of(run, axis)
        for name, step, value, wall in _points(run):
            yield [run.id, name, step, *([x_of(step, wall)] if x_of else []), repr(value)]


def _wide_rows(runs: list[Run], axis: str, names: list[str]) -> Iterator[list]:
    yield ["run", "step", *([axis] if axis != "step" else []), *names]
    for run in runs:
        x_of = _x_of(run, axis)
        for step, points in groupby(_points(run), key=lambda p: p[1]):
            values = {name: (value, wall) for name, _, value, wall in points}
            wall = next(iter(values.values()))[1]
            cells = [repr(values[n][0]) if n in values else "" for n in names]
            yield [run.id, step, *([x_of(step, wall)] if x_of else []), *cells]


def metrics_csv(runs: list[Run], *, axis: str = "step", layout: str = "long") -> Iterator[str]:
    """The CSV's lines, streamed: `runs` in the order given."""
    if layout == "long":
        return _lines(_long_rows(runs, axis))
    names = sorted(
        set(MetricPoint.objects.filter(run__in=runs).values_list("name", flat=True).distinct())
    )
    return _lines(_wide_rows(runs, axis, names))
