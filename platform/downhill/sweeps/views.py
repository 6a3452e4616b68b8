"""The sweep page: progress, best so far, the trials table, parallel coordinates (sweep.js)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from downhill.experiments.services import experiment_create
from downhill.runs.services import QuotaExceeded

from .api import TrialSerializer
from .selectors import (
    sweep_best,
    sweep_best_trials,
    sweep_history,
    sweep_progress,
    sweeps_visible_to,
)
from .services import sweep_cancel

COMPARED = 5


@login_required
def sweep_page(request, sweep_id: int):
    sweep = get_object_or_404(sweeps_visible_to(request.user), pk=sweep_id)
    trials = sweep.trials.select_related("run").order_by("number")
    best_runs = [t.run_id for t in sweep_best_trials(sweep, COMPARED) if t.run_id]
    compare_url = reverse("runs-compare") + "?ids=" + ",".join(map(str, best_runs))
    context = {
        "sweep": sweep,
        "progress": sweep_progress(sweep),
        "best": sweep_best(sweep),
        "trials": trials,
        "compare_url": compare_url if len(best_runs) >= 2 else None,
        "page_data": {
            "objective": sweep.objective,
            "direction": sweep.direction,
            "params": list(sweep.space),
            "space": sweep.space,
            "trials": TrialSerializer(trials, many=True).data,
            "history": sweep_history(sweep),
        },
    }
    return render(request, "sweeps/sweep.html", context)


@login_required
@require_POST
def sweep_train_best(request, sweep_id: int):
    """A normal experiment from the best trial's config."""
    sweep = get_object_or_404(sweeps_visible_to(request.user), pk=sweep_id)
    best = sweep_best(sweep)
    if best is None:
        return redirect("sweep", sweep_id=sweep.id)
    data = {**sweep.base, **best.params, "name": f"best of {sweep.name}"}
    try:
        experiment = experiment_create(owner=request.user, data=data)
    except QuotaExceeded:
        return redirect("sweep", sweep_id=sweep.id)
    return redirect("run", run_id=experiment.runs.first().id)


@login_required
@require_POST
def sweep_cancel_view(request, sweep_id: int):
    sweep_cancel(get_object_or_404(sweeps_visible_to(request.user), pk=sweep_id))
    return redirect("sweep", sweep_id=sweep_id)
