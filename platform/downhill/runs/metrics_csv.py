"""Runs' metric points as CSV: every stored point (not downsampled), on any x axis.

Long: one row per point, `run,series,step[,<axis>],value`. Wide: one row per run and step,
`run,step[,<axis>],<series>...` (empty where a series has no point at that step). The axis
column is left out when the axis is "step". Axes as the charts have them (runs.axes): step;
epoch (fractional) and samples seen, from the run's epoch plan; time (seconds since the
run's start), from each point's wall time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from itertools import groupby

from .axes import AXES, run_epoch_plan, run_start_time
from .metric_chunks import run_points, series_names
from .models import Run

CSV_AXES = AXES
CSV_FORMATS = ("long", "wide")


def _x_of(run: Run, axis: str):
    """(step, wall_time) -> x on `axis`, or None for the step axis."""
    if axis == "step":
        return None
    if axis == "time":
        start = run_start_time(run) or 0.0
        return lambda step, wall: round(wall - start, 3)
    plan = run_epoch_plan(run)  # the same plan as the charts' axes (runs.axes)
    if plan is None:  # no epochs planned: the step stands in
        return lambda step, wall: step
    to_x = plan.epoch if axis == "epoch" else plan.samples
    return lambda step, wall: round(to_x(step), 6)


def _points(run: Run) -> Iterator[tuple[str, int, float, float]]:
    """(name, step, value, wall_time), by step then name, read in chunks."""
    return run_points(run.pk)


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
    names = series_names([run.pk for run in runs])
    return _lines(_wide_rows(runs, axis, names))
