"""The runs table, a run's page (its Cancel, Resume and Run again buttons) and the comparison
page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from downhill.datasets.selectors import datasets_visible_to
from downhill.lab.landscape_views import landscape_card
from downhill.runs.checkpoints import resume_point
from downhill.runs.metadata import run_update_metadata
from downhill.runs.metrics_csv import CSV_AXES
from downhill.runs.models import Run
from downhill.runs.selectors import runs_visible_to
from downhill.runs.services import (
    AlreadyFinished,
    NotResumable,
    QuotaExceeded,
    run_queue,
    run_request_cancel,
    run_resume,
)
from workers.contract.spec import OPTIMIZERS

from ..compare import MAX_COMPARED, axis_notes, compared_runs, parse_ids, result_rows
from ..predict_form import csv_header, is_image_run
from ..runs_listing import ACTIVE_STATUSES, RunsQuery, runs_for_table
from ..templatetags.run_display import eta_seconds

RUNS_PER_PAGE = 50
# The x axes every chart page offers (runs.axes answers each).
AXIS_CHOICES = (
    ("step", "Optimizer step"),
    ("epoch", "Epoch"),
    ("samples", "Samples seen"),
    ("time", "Wall time"),
)

# (key, heading, numeric) of the runs table; the key is also the sort parameter.
COLUMNS = (
    ("run", "Run", False),
    ("status", "Status", False),
    ("dataset", "Dataset", False),
    ("optimizer", "Optimizer", False),
    ("learning_rate", "LR", True),
    ("batch_size", "Batch", True),
    ("momentum", "Momentum", True),
    ("schedule", "Schedule", False),
    ("best_val_loss", "Best val loss", True),
    ("val_accuracy", "Best val acc.", True),
    ("duration", "Duration", True),
    ("started", "Started", False),
)


@login_required
def runs_page(request):
    query = RunsQuery.from_params(request.GET)
    runs = runs_for_table(request.user, query)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    # Accuracy exists for classification runs only; a column of dashes would be noise.
    show_accuracy = any("best_val_accuracy" in run.summary for run in page.object_list)
    columns = []
    for key, heading, numeric in COLUMNS:
        if key == "val_accuracy" and not show_accuracy:
            continue
        url, aria_sort = query.sort_link(key)
        columns.append(
            {"key": key, "heading": heading, "numeric": numeric, "url": url, "sort": aria_sort}
        )
    context = {
        "page": page,
        "runs": page.object_list,
        "query": query,
        "columns": columns,
        "show_accuracy": show_accuracy,
        "active": any(run.status in ACTIVE_STATUSES for run in page.object_list),
        "previous_url": query.url(page=page.previous_page_number()) if page.has_previous() else "",
        "next_url": query.url(page=page.next_page_number()) if page.has_next() else "",
        "max_compared": MAX_COMPARED,
    }
    if request.GET.get("partial"):  # the live refresh asks for the table alone
        return render(request, "dashboard/_runs_results.html", context)
    context.update(
        statuses=Run.Status.choices,
        datasets=datasets_visible_to(request.user).only("id", "name").order_by("name"),
        optimizers=tuple(OPTIMIZERS),
    )
    return render(request, "dashboard/runs.html", context)


# Under the loss chart where the losses are not in the target's units.
LOSS_UNITS = {
    "standardize": "Loss in standardized target units: (y − mean) / std of the training rows. "
    "The metrics, plots and predictions are in the target's units."
}


@login_required
def run_page(request, run_id: int):
    run = get_object_or_404(runs_visible_to(request.user), pk=run_id)
    summary = run.summary or {}
    matrix = summary.get("confusion_matrix")
    classes = (run.inference or {}).get("classes")
    context = {
        "run": run,
        "axes": AXIS_CHOICES,
        "axis": "step",
        "config": run.experiment.config,
        "eta_seconds": eta_seconds(run),
        "confusion": confusion_rows(matrix, classes) if matrix else None,
        "val_predictions": summary.get("val_predictions"),
        # A cancelled run with a checkpoint can go on (one storage listing, cancelled runs only).
        "resume_step": resume_point(run.id) if run.status == Run.Status.CANCELLED else None,
        "csv_axes": CSV_AXES,
        "is_image_run": is_image_run(run),
        "placeholder": csv_header(run),
        "loss_units": LOSS_UNITS.get(run.experiment.config.get("target_scaling"), ""),
        **landscape_card(request.user, run),
    }
    return render(request, "dashboard/run.html", context)


def confusion_rows(matrix: list[list[int]], classes: list | None) -> dict:
    """The confusion matrix as table rows: each cell's count, its share of the true class, and
    a shade from 0 to 10 for that share (classes, not inline styles: the page stays CSP-clean)."""
    labels = [str(c) for c in classes] if classes and len(classes) == len(matrix) else None
    labels = labels or [str(i) for i in range(len(matrix))]
    rows = []
    for label, counts in zip(labels, matrix, strict=True):
        total = sum(counts)
        cells = []
        for column, count in enumerate(counts):
            share = count / total if total else 0.0
            cells.append({"count": count, "share": share, "shade": round(share * 10),
                          "predicted": labels[column], "correct": column == len(rows)})  # fmt: skip
        rows.append({"label": label, "cells": cells, "total": total})
    return {"labels": labels, "rows": rows}


@login_required
@require_POST
def run_cancel(request, run_id: int):
    """The Cancel button: a plain form post, so it works the same with or without JavaScript."""
    run = get_object_or_404(runs_visible_to(request.user), pk=run_id)
    try:
        run_request_cancel(run)
    except AlreadyFinished as exc:
        messages.info(request, str(exc))
    return redirect("run", run_id=run.id)


@login_required
@require_POST
def run_about(request, run_id: int):
    """The run's name, tags and notes from its page's form; a refusal is said on the page."""
    run = get_object_or_404(runs_visible_to(request.user), pk=run_id)
    data = {key: request.POST[key] for key in ("name", "tags", "notes") if key in request.POST}
    try:
        run_update_metadata(run, data)
    except ValidationError as exc:
        messages.error(
            request, " ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        )
    return redirect("run", run_id=run.id)


@login_required
@require_POST
def run_resume_view(request, run_id: int):
    """Resume: a new run going on from the cancelled run's checkpoint; opens its page."""
    return _open_new_run(request, run_id, run_resume)


@login_required
@require_POST
def run_rerun(request, run_id: int):
    """Run again: another run of the same experiment (same config, same seed)."""
    return _open_new_run(request, run_id, lambda run: run_queue(experiment=run.experiment))


def _open_new_run(request, run_id: int, start):
    """Start a new run from one of the user's runs and open its page; a refusal (the quota,
    nothing to resume) is said on the run's own page."""
    run = get_object_or_404(runs_visible_to(request.user), pk=run_id)
    try:
        new_run = start(run)
    except (NotResumable, QuotaExceeded) as exc:
        messages.error(request, str(exc))
        return redirect("run", run_id=run.id)
    return redirect("run", run_id=new_run.id)


@login_required
def runs_compare(request):
    ids = parse_ids(request.GET)[:MAX_COMPARED]
    if not ids:
        messages.info(request, "Tick two or more runs in the table, then press Compare.")
        return redirect("runs")
    found = {run.id: run for run in runs_visible_to(request.user).filter(pk__in=ids)}
    if len(found) != len(ids):
        raise Http404("No such run.")
    runs = [found[i] for i in ids]
    dataset_names = {run.experiment.dataset_id: run.experiment.dataset.name for run in runs}
    comparison = compared_runs(runs, dataset_names)
    results = result_rows(runs)
    axis, notes = axis_notes(runs)
    for i, item in enumerate(comparison["runs"]):
        item["results"] = [row["cells"][i] for row in results]
    context = {
        "comparison": comparison,
        "results": results,
        "runs": runs,
        "axis": axis,
        "axis_note": notes[axis],
        "axis_notes": notes,
        "axes": AXIS_CHOICES,
        "any_classification": any(
            r.experiment.config.get("task") == "classification" for r in runs
        ),
        "any_regression": any(r.experiment.config.get("task") == "regression" for r in runs),
        "legend": [
            {"id": item["run"].id, "label": item["label"], "status": item["run"].status}
            for item in comparison["runs"]
        ],
    }
    return render(request, "dashboard/compare.html", context)
