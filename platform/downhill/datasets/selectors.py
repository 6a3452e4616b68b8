"""Reads for datasets, scoped to their owner in one place."""

import csv
import io

from django.core.files.storage import default_storage
from django.db.models import QuerySet

from .models import Dataset


def datasets_visible_to(user) -> QuerySet[Dataset]:
    qs = Dataset.objects.all()
    return qs if user.is_staff else qs.filter(owner=user)


PREVIEW_MAX_ROWS = 100


def dataset_preview(dataset: Dataset, n_rows: int = 20) -> dict:
    """The header and the first `n_rows` data rows, as the file holds them (text)."""
    rows: list[list[str]] = []
    with default_storage.open(dataset.file.name, "rb") as stored:
        reader = csv.reader(
            io.TextIOWrapper(stored, encoding="utf-8-sig", newline=""), delimiter=dataset.delimiter
        )
        header = next(reader)
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            rows.append(row)
            if len(rows) >= n_rows:
                break
    return {"columns": header, "rows": rows}
