"""Reads for experiments, scoped to their owner in one place."""

from django.db.models import QuerySet

from .models import Experiment


def experiments_visible_to(user) -> QuerySet[Experiment]:
    qs = Experiment.objects.select_related("dataset").prefetch_related("runs")
    return qs if user.is_staff else qs.filter(owner=user)
