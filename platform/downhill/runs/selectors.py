"""Reads for runs and their metric series, scoped to their owner in one place."""

from __future__ import annotations

import numpy as np
from django.db import connection
from django.db.models import QuerySet

from .metric_chunks import (
    LAST_STEP,
    Points,
    series_count_at_most,
    series_first_step,
    series_names,
    series_points,
    series_points_many,
)
from .models import BLOCK_STEPS, SPAN_STEPS, MetricBlock, MetricSpan, Run, RunEvent

DEFAULT_MAX_POINTS = 5000
MAX_MAX_POINTS = 100_000

# A long series that spans fewer blocks than it has buckets is read from its points, in finer
# buckets than whole blocks, up to this many points: ~30 ms on SQLite, ~18 ms on PostgreSQL
# (bench/metrics_read; 50,000 took 89 and 31 ms). Past it, whole blocks, even if they make
# fewer buckets than asked (at least ~100 buckets, 3 points each, for a series of every step).
POINTS_READ_MAX = 25_000

# A series that spans fewer blocks than it has buckets (and holds up to POINTS_READ_MAX points):
# per bucket of steps, the lowest, the highest and the last point, chosen here from its points
# (NumPy over the decoded chunks, _downsample_points). Three points per bucket, so a spike (or a
# dip) can never vanish from a downsampled curve; ties go to the earliest step.


def runs_visible_to(user) -> QuerySet[Run]:
    qs = Run.objects.select_related("experiment", "experiment__dataset")
    return qs if user.is_staff else qs.filter(experiment__owner=user)


def run_metric_names(run: Run) -> list[str]:
    return series_names([run.pk])


def run_metrics_series(
    run: Run,
    names: list[str],
    *,
    max_points: int = DEFAULT_MAX_POINTS,
    since_step: int = 0,
    until_step: int = LAST_STEP,
) -> dict[str, dict[str, list]]:
    """Each named series as parallel step/value lists, after `since_step` and up to
    `until_step` (a zoomed chart's range), at most `max_points` points each (max_points >= 3).
    A longer series is downsampled to the lowest, highest and last point of each of up to
    max_points // 3 buckets: equal step ranges of its points when it spans fewer blocks than
    that and holds at most POINTS_READ_MAX points, else whole MetricBlocks (a few thousand rows
    for a million points; the blocks at a range's ends are read whole)."""
    if since_step > 0 and names:  # a live page's poll: the points since its last one
        recent = _recent_series(run, names, max_points, since_step, until_step)
        if recent is not None:
            return recent
    series = {}
    for name in names:
        rows = _series_rows(run, name, (since_step, until_step), max_points)
        series[name] = {"steps": [s for s, _ in rows], "values": [v for _, v in rows]}
    return series


def _recent_series(
    run: Run, names: list[str], max_points: int, since_step: int, until_step: int
) -> dict[str, dict[str, list]] | None:
    """Every named series' points in the step range, read in one query, when all of them
    together are at most `max_points` (then no series needs downsampling, and the answer is
    the one the per-series reads give); None when there are more. A live run page polls
    with `since_step` every second, for a second's points or none: one query where the
    per-series path takes two per series (bench/load)."""
    max_chunks = len(set(names)) * (max_points // BLOCK_STEPS + 2)
    found = series_points_many(
        run.pk, list(dict.fromkeys(names)), since_step, until_step, max_chunks
    )
    if found is None or sum(len(points) for points in found.values()) > max_points:
        return None
    return {
        name: {"steps": points.steps.tolist(), "values": points.values.tolist()}
        for name, points in found.items()
    }


def _series_rows(
    run: Run, name: str, span: tuple[int, int], max_points: int
) -> list[tuple[int, float]]:
    # Whether the series holds more than max_points points, without reading a long one: the
    # chunks' counts, exact but for the two chunks at the range's ends.
    points = None
    if series_count_at_most(run.pk, name, *span) <= max_points + 2 * BLOCK_STEPS:
        points = series_points(run.pk, name, *span, walls=False)
        if len(points) <= max_points:
            return list(zip(points.steps.tolist(), points.values.tolist(), strict=True))
        first_step = int(points.steps[0])
    else:
        first_step = series_first_step(run.pk, name, *span)
    buckets = max(1, max_points // 3)
    rows = _downsample_blocks(run, name, span, first_step, buckets)
    if rows is None:
        if points is None:
            points = series_points(run.pk, name, *span, walls=False)
        rows = _downsample_points(points, buckets)
    return rows


_BLOCK_FIELDS = (
    "block",
    "n",
    "lo_step",
    "lo_value",
    "hi_step",
    "hi_value",
    "last_step",
    "last_value",
)

_BLOCKS_SQL = (
    f"SELECT {', '.join(_BLOCK_FIELDS)} FROM {MetricBlock._meta.db_table}"
    " WHERE run_id = %s AND name = %s AND block >= %s AND block <= %s ORDER BY block"
)


def _downsample_blocks(
    run: Run, name: str, span: tuple[int, int], first_step: int, buckets: int
) -> list[tuple[int, float]] | None:
    """The lowest, highest and last point of each of up to `buckets` buckets of whole blocks,
    merged from the series' MetricBlocks (3,907 rows for a million steps, not a million
    points), or of whole MetricSpans when the read is the whole series and spans at least
    `buckets` of them (977 rows for a million steps). The block that `since_step` cuts is
    summarised from its points after it. None when the series spans fewer blocks than buckets
    (whole blocks would draw it coarser than asked) and its points are few enough to read."""
    since_step, until_step = span
    if since_step < 0:  # blocks hold steps from 1 on only
        return None
    whole = _downsample_spans(run, name, span, first_step, buckets)
    if whole is not None:
        return whole
    first = (first_step - 1) // BLOCK_STEPS
    cut = since_step > first * BLOCK_STEPS  # the first block has points up to since_step
    # Plain tuples in one fetch: a million steps are 3,907 rows, and through the ORM they took
    # 50 ms where this takes 36 (10 runs at load 18, bench/metrics_read's compared runs).
    with connection.cursor() as cursor:
        cursor.execute(_BLOCKS_SQL, [run.pk, name, first + cut, (until_step - 1) // BLOCK_STEPS])
        blocks = cursor.fetchall()
    count = (blocks[-1][0] if blocks else first) - first + 1
    if not blocks or (count < buckets and sum(b[1] for b in blocks) <= POINTS_READ_MAX):
        return None
    if cut:
        points = series_points(
            run.pk, name, since_step, min(until_step, (first + 1) * BLOCK_STEPS), walls=False
        )
        rows = list(zip(points.steps.tolist(), points.values.tolist(), strict=True))
        lo = min(rows, key=lambda row: row[1])  # min and max keep the first (earliest) on a tie
        hi = max(rows, key=lambda row: row[1])
        blocks.insert(0, (first, len(rows), *lo, *hi, *rows[-1]))
    return _merge(blocks, first, count, buckets)


_SPANS_SQL = (
    f"SELECT {', '.join(('span', *_BLOCK_FIELDS[1:]))} FROM {MetricSpan._meta.db_table}"
    " WHERE run_id = %s AND name = %s AND span >= %s ORDER BY span"
)


def _downsample_spans(
    run: Run, name: str, span: tuple[int, int], first_step: int, buckets: int
) -> list[tuple[int, float]] | None:
    """A whole series (no range cut) merged from its MetricSpans (977 rows for a million steps,
    not its 3,907 blocks); None when it is a range or spans fewer spans than buckets."""
    first = (first_step - 1) // SPAN_STEPS
    if span[0] > first * SPAN_STEPS or span[1] != LAST_STEP:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_SPANS_SQL, [run.pk, name, first])
        spans = cursor.fetchall()
    count = spans[-1][0] - first + 1 if spans else 0  # the last span read: no MAX query first
    if count < buckets:
        return None
    return _merge(spans, first, count, buckets)


def _merge(units: list[tuple], first: int, count: int, buckets: int) -> list[tuple[int, float]]:
    """The lowest, highest and last point of each of `buckets` buckets of consecutive units
    (blocks or spans: number, n, lo_step, lo_value, hi_step, hi_value, last_step, last_value;
    numbered from `first`, `count` of them), as (step, value) pairs by step."""
    merged: dict[int, list] = {}
    for unit, _, lo_step, lo_value, hi_step, hi_value, last_step, last_value in units:
        key = (unit - first) * buckets // count  # a bucket: one unit or a few in a row
        bucket = merged.get(key)
        if bucket is None:
            merged[key] = [lo_step, lo_value, hi_step, hi_value, last_step, last_value]
            continue
        if lo_value < bucket[1]:
            bucket[0:2] = lo_step, lo_value
        if hi_value > bucket[3]:
            bucket[2:4] = hi_step, hi_value
        bucket[4:6] = last_step, last_value
    return sorted({(b[i], b[i + 1]) for b in merged.values() for i in (0, 2, 4)})


def _downsample_points(points: Points, buckets: int) -> list[tuple[int, float]]:
    """The lowest, highest and last point of each of `buckets` equal step ranges of `points`
    (from its first step to its last), by step."""
    steps, values = points.steps, points.values
    bucket = ((steps - steps[0]) * buckets) // (steps[-1] - steps[0] + 1)
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(steps)] - 1
    # Within each bucket (steps ascending), the first index of its lowest and of its highest
    # value: lexsort orders by bucket, then value, then position, so a tie keeps the earliest.
    position = np.arange(len(steps))
    low = np.lexsort((position, values, bucket))
    high = np.lexsort((position, -values, bucket))
    chosen = np.unique(np.concatenate([low[starts], high[starts], ends]))
    return sorted(set(zip(steps[chosen].tolist(), values[chosen].tolist(), strict=True)))


def run_events(run: Run) -> list[dict]:
    return [
        {"type": e.type, "step": e.step, "epoch": e.epoch, **e.details}
        for e in RunEvent.objects.filter(run=run).order_by("step", "id")
    ]
