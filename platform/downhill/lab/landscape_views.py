"""The landscape's pages: the "Landscape" card of a run's page (its landscapes, and a form
that shows the cost before it starts one), and a landscape's own page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from downhill.runs.models import Run
from downhill.runs.selectors import runs_visible_to
from workers.contract.landscape import DEFAULTS, KINDS, MAX_GRID, MAX_ROWS, MIN_GRID

from .landscape_services import landscape_create, landscape_plan, landscape_request_cancel
from .models import Landscape, RangeTest


def landscape_card(user, run: Run) -> dict:
    """The run page's "Landscape" card: its landscapes, and the default one's cost (or why
    the run has none)."""
    context = {"landscapes": list(run.landscapes.all()[:20]), "range_tests": _range_tests(user, run),
               "landscape_bounds": {
        "kinds": KINDS, "grid": DEFAULTS["grid"], "rows": DEFAULTS["rows"], "min_grid": MIN_GRID,
        "max_grid": MAX_GRID, "max_rows": MAX_ROWS, "parts": DEFAULTS["parts"]}}  # fmt: skip
    if run.status != Run.Status.SUCCEEDED:
        return context
    try:
        _, params, cost = landscape_plan(owner=user, data={"run": run.id})
    except ValidationError as exc:
        context["landscape_unavailable"] = " ".join(exc.message_dict.get("run", exc.messages))
        return context
    return {**context, "landscape_cost": cost, "landscape_params": params}


def _range_tests(user, run: Run) -> list[RangeTest]:
    """The LR range tests of the run's config ("Find a learning rate"), newest first."""
    return list(
        RangeTest.objects.filter(owner=user, experiment_id=run.experiment_id).order_by("-id")[:10]
    )


def _landscape_of(request, landscape_id: int) -> Landscape:
    landscape = Landscape.objects.select_related("run__experiment").filter(pk=landscape_id).first()
    if landscape is None or not (request.user.is_staff or landscape.owner_id == request.user.id):
        raise Http404("No such landscape.")
    return landscape


@login_required
def landscape_page(request, landscape_id: int):
    return render(
        request, "lab/landscape.html", {"landscape": _landscape_of(request, landscape_id)}
    )


@login_required
@require_POST
def landscape_start(request, run_id: int):
    """The card's form: a landscape of the run, with the settings the form sent."""
    run = runs_visible_to(request.user).filter(pk=run_id).first()
    if run is None:
        raise Http404("No such run.")
    data = {"run": run.id, "kind": request.POST.get("kind", DEFAULTS["kind"])}
    for key in ("grid", "rows", "parts"):
        value = request.POST.get(key, "").strip()
        data[key] = int(value) if value.isdigit() else value or DEFAULTS[key]
    try:
        landscape = landscape_create(owner=request.user, data=data)
    except ValidationError as exc:
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        messages.error(request, f"No landscape started — {errors}")
        return redirect("run", run_id=run.id)
    return redirect("landscape", landscape_id=landscape.id)


@login_required
@require_POST
def landscape_cancel_page(request, landscape_id: int):
    landscape_request_cancel(_landscape_of(request, landscape_id))
    return redirect("landscape", landscape_id=landscape_id)
