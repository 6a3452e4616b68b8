"""Datasets: the list with its upload form, a page per dataset, and its Delete button.

With JavaScript the upload goes to the API with a progress bar (static/dashboard/datasets.js);
this view is the same upload as a plain form post, for browsers without it.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from downhill.datasets.selectors import dataset_preview, datasets_visible_to
from downhill.datasets.services import (
    DatasetInUse,
    UploadTooLarge,
    dataset_create,
    dataset_delete,
    upload_limit_bytes,
)

PREVIEW_ROWS = 20


@login_required
@require_http_methods(["GET", "POST"])
def datasets_page(request):
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise ValidationError({"file": "Choose a file to upload."})
            dataset = dataset_create(
                owner=request.user,
                file=upload,
                name=request.POST.get("name", ""),
                target=request.POST.get("target", ""),
            )
        except UploadTooLarge as exc:
            errors, status = {"file": [str(exc)]}, 413
        except ValidationError as exc:
            errors, status = exc.message_dict, 400
        else:
            return redirect("dataset", dataset_id=dataset.id)
    datasets = datasets_visible_to(request.user).order_by("-created_at", "-id")
    context = {
        "datasets": datasets,
        "errors": errors,
        "values": request.POST,
        "max_upload_bytes": upload_limit_bytes(),
    }
    return render(request, "dashboard/datasets.html", context, status=status)


@login_required
def dataset_page(request, dataset_id: int):
    dataset = get_object_or_404(datasets_visible_to(request.user), pk=dataset_id)
    preview = None
    if dataset.status == "ready":
        try:
            preview = dataset_preview(dataset, PREVIEW_ROWS)
        except ValidationError:
            preview = None  # the stored file is unreadable: the page still shows the schema
    context = {
        "dataset": dataset,
        "preview": preview and _first_columns(preview),
        "experiments": dataset.experiments.count(),
        "columns": Paginator(dataset.columns, SCHEMA_PAGE_COLUMNS).get_page(
            request.GET.get("columns")
        ),
    }
    return render(request, "dashboard/dataset.html", context)


# A wide table's page shows its schema a page of columns at a time and previews its first
# columns only: 2,000 columns at once took 30 s to render and weighed 5 MB on a loaded 2-core
# machine (tests/datasets/test_wide_tables.py pins the page's size).
SCHEMA_PAGE_COLUMNS = 50
PREVIEW_COLUMNS = 30


def _first_columns(preview: dict) -> dict:
    more = max(0, len(preview["columns"]) - PREVIEW_COLUMNS)
    return {
        "columns": preview["columns"][:PREVIEW_COLUMNS],
        "rows": [row[:PREVIEW_COLUMNS] for row in preview["rows"]],
        "more_columns": more,
    }


@login_required
@require_POST
def dataset_delete_view(request, dataset_id: int):
    dataset = get_object_or_404(datasets_visible_to(request.user), pk=dataset_id)
    try:
        dataset_delete(dataset=dataset)
    except DatasetInUse as exc:
        messages.error(request, str(exc))
        return redirect("dataset", dataset_id=dataset.id)
    messages.success(request, f"Deleted dataset “{dataset.name}”.")
    return redirect("datasets")
