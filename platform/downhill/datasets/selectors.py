"""Reads for datasets, scoped to their owner in one place."""

from django.db.models import QuerySet

from .models import Dataset


def datasets_visible_to(user) -> QuerySet[Dataset]:
    qs = Dataset.objects.all()
    return qs if user.is_staff else qs.filter(owner=user)
