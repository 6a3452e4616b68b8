"""Reads for runs and their metric series, scoped to their owner in one place."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.db.models.functions import Mod

from .models import MetricPoint, Run

DEFAULT_MAX_POINTS = 5000
MAX_MAX_POINTS = 100_000


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
    """Each named series as parallel step/value lists, after `since_step`.

    When a series holds more than `max_points` points after the cursor, the database keeps
    every k-th step plus the last one (k chosen to fit), so the rows never all reach Python.
    """
    series = {}
    for name in names:
        points = MetricPoint.objects.filter(run=run, name=name, step__gt=since_step)
        count = points.count()
        if count > max_points:
            stride = -(-count // max_points)
            last_step = points.order_by("-step").values_list("step", flat=True).first()
            points = points.annotate(phase=Mod("step", stride)).filter(
                Q(phase=0) | Q(step=last_step)
            )
        rows = points.order_by("step").values_list("step", "value")
        steps, values = [], []
        for step, value in rows:
            steps.append(step)
            values.append(value)
        series[name] = {"steps": steps, "values": values}
    return series
