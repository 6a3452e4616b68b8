"""Reads for runs and their metric series, scoped to their owner in one place."""

from __future__ import annotations

from django.db import connection
from django.db.models import Max, QuerySet

from .models import BLOCK_STEPS, SPAN_STEPS, MetricBlock, MetricPoint, MetricSpan, Run, RunEvent

DEFAULT_MAX_POINTS = 5000
MAX_MAX_POINTS = 100_000

# A long series that spans fewer blocks than it has buckets is read from its points, in finer
# buckets than whole blocks, up to this many points: ~30 ms on SQLite, ~18 ms on PostgreSQL
# (bench/metrics_read; 50,000 took 89 and 31 ms). Past it, whole blocks, even if they make
# fewer buckets than asked (at least ~100 buckets, 3 points each, for a series of every step).
POINTS_READ_MAX = 25_000

# A series that spans fewer blocks than it has buckets (and holds up to POINTS_READ_MAX points):
# per bucket of steps, the lowest, the highest and the last point, chosen in the database from
# the points. Three points per bucket, so a spike (or a dip) can never vanish from a downsampled
# curve; ties go to the earliest step. One statement per database, each the fastest exact form
# measured on a series of 1,000,000 points (bench/metrics_read): a reading of every point is its
# floor (~110 ms per million here).
_BUCKET = "(CAST(step - %(lo)s AS BIGINT) * %(buckets)s) / %(span)s"
_POINTS = (
    "FROM runs_metricpoint WHERE run_id = %(run)s AND name = %(name)s"
    " AND step > %(since)s AND step <= %(until)s"
)
# No step is past this: the `until_step` of a read to the end.
LAST_STEP = 2**31 - 1

# PostgreSQL: one pass of hash aggregation; min/max over [value, step] arrays carry the step of
# each extreme along (steps are far below 2**53, exact as float8). ~5x the window form below.
_EXTREMES_SQL_POSTGRESQL = f"""
SELECT DISTINCT point[1]::bigint AS step, point[2] AS value FROM (
    SELECT MIN(ARRAY[value, step]) AS low, MAX(ARRAY[value, -step]) AS high,
        MAX(ARRAY[step, value]) AS last
    {_POINTS} GROUP BY {_BUCKET}
) AS buckets,
LATERAL (VALUES (ARRAY[low[2], low[1]]), (ARRAY[-high[2], high[1]]), (last)) AS extremes(point)
ORDER BY step
"""

# SQLite: with a single min() or max(), a bare column comes from the row holding that extreme,
# so each extreme is one grouped pass. ~3x the window form below.
_EXTREMES_SQL_SQLITE = f"""
SELECT step, value FROM (SELECT MIN(value) AS value, step {_POINTS} GROUP BY {_BUCKET})
UNION
SELECT step, value FROM (SELECT MAX(value) AS value, step {_POINTS} GROUP BY {_BUCKET})
UNION
SELECT step, value FROM (SELECT MAX(step) AS step, value {_POINTS} GROUP BY {_BUCKET})
ORDER BY step
"""

# Any other database: standard window functions.
_EXTREMES_SQL = f"""
WITH bucketed AS (
    SELECT step, value, {_BUCKET} AS bucket {_POINTS}
), ranked AS (
    SELECT step, value,
        ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY value, step) AS by_min,
        ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY value DESC, step) AS by_max,
        ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY step DESC) AS by_last
    FROM bucketed
)
SELECT step, value FROM ranked WHERE by_min = 1 OR by_max = 1 OR by_last = 1 ORDER BY step
"""
_EXTREMES_BY_VENDOR = {"postgresql": _EXTREMES_SQL_POSTGRESQL, "sqlite": _EXTREMES_SQL_SQLITE}


def runs_visible_to(user) -> QuerySet[Run]:
    qs = Run.objects.select_related("experiment", "experiment__dataset")
    return qs if user.is_staff else qs.filter(experiment__owner=user)


def run_metric_names(run: Run) -> list[str]:
    return list(
        MetricPoint.objects.filter(run=run)
        .values_list("name", flat=True)
        .distinct()
        .order_by("name")
    )


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
    series = {}
    for name in names:
        points = MetricPoint.objects.filter(
            run=run, name=name, step__gt=since_step, step__lte=until_step
        )
        # Whether the series holds more than max_points points, without counting it (a count
        # reads every row of a long series) or fetching the first max_points rows (for a long
        # series that would be a quarter of its read): the index's (max_points + 1)-th step.
        ordered = points.order_by("step").values_list("step", flat=True)
        if not ordered[max_points : max_points + 1]:
            rows = list(points.order_by("step").values_list("step", "value"))
        else:
            first_step, buckets = ordered.first(), max(1, max_points // 3)
            span = (since_step, until_step)
            rows = _downsample_blocks(run, name, span, first_step, buckets)
            if rows is None:
                rows = _downsample_points(run, name, span, first_step, buckets)
        series[name] = {"steps": [s for s, _ in rows], "values": [v for _, v in rows]}
    return series


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
        rows = list(
            MetricPoint.objects.filter(
                run=run,
                name=name,
                step__gt=since_step,
                step__lte=min(until_step, (first + 1) * BLOCK_STEPS),
            )
            .order_by("step")
            .values_list("step", "value")
        )
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
    last = MetricSpan.objects.filter(run=run, name=name).aggregate(last=Max("span"))["last"]
    if last is None or last - first + 1 < buckets:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_SPANS_SQL, [run.pk, name, first])
        return _merge(cursor.fetchall(), first, last - first + 1, buckets)


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


def _downsample_points(
    run: Run, name: str, span: tuple[int, int], first_step: int, buckets: int
) -> list[tuple[int, float]]:
    """The lowest, highest and last point of each of `buckets` equal step ranges, from every
    point of the series in the step range `span` (the first of them at `first_step`)."""
    since_step, until_step = span
    points = MetricPoint.objects.filter(
        run=run, name=name, step__gt=since_step, step__lte=until_step
    )
    last_step = points.aggregate(hi=Max("step"))["hi"]
    params = {
        "lo": first_step,
        "span": last_step - first_step + 1,
        "buckets": buckets,
        "run": run.pk,
        "name": name,
        "since": since_step,
        "until": until_step,
    }
    sql = _EXTREMES_BY_VENDOR.get(connection.vendor, _EXTREMES_SQL)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def run_events(run: Run) -> list[dict]:
    return [
        {"type": e.type, "step": e.step, "epoch": e.epoch, **e.details}
        for e in RunEvent.objects.filter(run=run).order_by("step", "id")
    ]
