"""Reads for runs and their metric series, scoped to their owner in one place."""

from __future__ import annotations

from django.db import connection
from django.db.models import Max, QuerySet

from .models import MetricPoint, Run, RunEvent

DEFAULT_MAX_POINTS = 5000
MAX_MAX_POINTS = 100_000

# Per bucket of steps: the lowest, the highest and the last point, chosen in the database.
# Three points per bucket, so a spike (or a dip) can never vanish from a downsampled curve; ties
# go to the earliest step. One statement per database, each the fastest exact form measured on
# a series of 1,000,000 points (bench/metrics_read): a reading of every row is the floor.
_BUCKET = "(CAST(step - %(lo)s AS BIGINT) * %(buckets)s) / %(span)s"
_POINTS = "FROM runs_metricpoint WHERE run_id = %(run)s AND name = %(name)s AND step > %(since)s"

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
    run: Run, names: list[str], *, max_points: int = DEFAULT_MAX_POINTS, since_step: int = 0
) -> dict[str, dict[str, list]]:
    """Each named series as parallel step/value lists, after `since_step`, at most
    `max_points` points each. A longer series is downsampled in the database to the minimum,
    maximum and last point of each of max_points // 3 equal step ranges (max_points >= 3)."""
    series = {}
    for name in names:
        points = MetricPoint.objects.filter(run=run, name=name, step__gt=since_step)
        # The first max_points + 1 rows say whether the series is longer, without counting it
        # (a count reads every row of a long series; these stop at the index's first rows).
        rows = list(points.order_by("step").values_list("step", "value")[: max_points + 1])
        if len(rows) > max_points:
            lo, hi = rows[0][0], points.aggregate(hi=Max("step"))["hi"]
            params = {
                "lo": lo,
                "span": hi - lo + 1,
                "buckets": max(1, max_points // 3),
                "run": run.pk,
                "name": name,
                "since": since_step,
            }
            sql = _EXTREMES_BY_VENDOR.get(connection.vendor, _EXTREMES_SQL)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        series[name] = {"steps": [s for s, _ in rows], "values": [v for _, v in rows]}
    return series


def run_events(run: Run) -> list[dict]:
    return [
        {"type": e.type, "step": e.step, "epoch": e.epoch, **e.details}
        for e in RunEvent.objects.filter(run=run).order_by("step", "id")
    ]
