"""Server-rendered pages. Data comes from the same selectors and services as the API."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from downhill.runs.selectors import runs_visible_to
from downhill.runs.services import run_request_cancel

RUNS_PER_PAGE = 50


@login_required
def runs_page(request):
    runs = runs_visible_to(request.user)
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    # Accuracy exists for classification runs only; a column of dashes would be noise.
    show_accuracy = any("best_val_accuracy" in run.summary for run in page.object_list)
    return render(
        request,
        "dashboard/runs.html",
        {"page": page, "runs": page.object_list, "show_accuracy": show_accuracy},
    )


@login_required
def run_page(request, run_id: int):
    run = get_object_or_404(runs_visible_to(request.user), pk=run_id)
    return render(request, "dashboard/run.html", {"run": run, "config": run.experiment.config})


@login_required
@require_POST
def run_cancel(request, run_id: int):
    """The Cancel button: a plain form post, so it works the same with or without JavaScript."""
    run = get_object_or_404(runs_visible_to(request.user), pk=run_id)
    run_request_cancel(run)
    return redirect("run", run_id=run.id)
