"""Reads for runs and their metric series, scoped to their owner in one place."""

from __future__ import annotations

from django.db import connection
from django.db.models import Max, Min, QuerySet

from .models import MetricPoint, Run, RunEvent

DEFAULT_MAX_POINTS = 5000
MAX_MAX_POINTS = 100_000

# Per bucket of steps: the lowest, the highest and the last point, chosen in the database.
# Three points per bucket, so a spike (or a dip) can never vanish from a downsampled curve.
_EXTREMES_SQL = """
WITH bucketed AS (
    SELECT step, value, (CAST(step - %(lo)s AS BIGINT) * %(buckets)s) / %(span)s AS bucket
    FROM runs_metricpoint
    WHERE run_id = %(run)s AND name = %(name)s AND step > %(since)s
), ranked AS (
    SELECT step, value,
        ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY value, step) AS by_min,
        ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY value DESC, step) AS by_max,
        ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY step DESC) AS by_last
    FROM bucketed
)
SELECT step, value FROM ranked WHERE by_min = 1 OR by_max = 1 OR by_last = 1 ORDER BY step
"""


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
        if points.count() <= max_points:
            rows = list(points.order_by("step").values_list("step", "value"))
        else:
            bounds = points.aggregate(lo=Min("step"), hi=Max("step"))
            params = {
                "lo": bounds["lo"],
                "span": bounds["hi"] - bounds["lo"] + 1,
                "buckets": max(1, max_points // 3),
                "run": run.pk,
                "name": name,
                "since": since_step,
            }
            with connection.cursor() as cursor:
                cursor.execute(_EXTREMES_SQL, params)
                rows = cursor.fetchall()
        series[name] = {"steps": [s for s, _ in rows], "values": [v for _, v in rows]}
    return series


def run_events(run: Run) -> list[dict]:
    return [
        {"type": e.type, "step": e.step, "epoch": e.epoch, **e.details}
        for e in RunEvent.objects.filter(run=run).order_by("step", "id")
    ]
