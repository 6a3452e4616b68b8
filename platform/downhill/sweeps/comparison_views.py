"""The "Compare optimizers" pages: the plan with its cost before anything starts, then each
optimizer's winner and a link to their curves overlaid on the compare page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from downhill.datasets.selectors import datasets_visible_to

from .comparison_api import compare_url
from .comparisons import (
    comparison_cancel,
    comparison_create,
    comparison_plan,
    comparison_rows,
    comparison_status,
    comparisons_visible_to,
    plan_summary,
    winners_run_ids,
)


@login_required
@require_http_methods(["GET", "POST"])
def comparison_new(request, dataset_id: int):
    """GET: what would run and what it costs. POST: launch it."""
    dataset = get_object_or_404(datasets_visible_to(request.user), pk=dataset_id)
    data = {"dataset": dataset.id}
    errors: list[str] = []
    try:
        if request.method == "POST":
            comparison = comparison_create(owner=request.user, data=data)
            return redirect("optimizer-comparison", comparison_id=comparison.id)
        plan = plan_summary(comparison_plan(request.user, data))
    except ValidationError as exc:
        errors = [f"{key}: {' '.join(m)}" for key, m in exc.message_dict.items()]
        plan = None
    context = {"dataset": dataset, "plan": plan, "errors": errors}
    return render(request, "sweeps/comparison_new.html", context, status=400 if errors else 200)


@login_required
def comparison_page(request, comparison_id: int):
    comparison = get_object_or_404(comparisons_visible_to(request.user), pk=comparison_id)
    rows = comparison_rows(comparison)
    context = {
        "comparison": comparison,
        "rows": rows,
        "status": comparison_status(rows),
        "trials": sum(row["sweep"].max_trials for row in rows),
        "compare_url": compare_url(winners_run_ids(rows)),
    }
    return render(request, "sweeps/comparison.html", context)


@login_required
@require_POST
def comparison_cancel_view(request, comparison_id: int):
    comparison_cancel(get_object_or_404(comparisons_visible_to(request.user), pk=comparison_id))
    return redirect("optimizer-comparison", comparison_id=comparison_id)
