"""The lab's pages: start an LR range test from a run, and watch it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from downhill.runs.selectors import runs_visible_to

from .models import RangeTest
from .services import range_test_create, range_test_request_cancel


def _test_of(request, test_id: int) -> RangeTest:
    qs = RangeTest.objects.select_related("experiment")
    test = qs.filter(pk=test_id).first()
    if test is None or not (request.user.is_staff or test.owner_id == request.user.id):
        raise Http404("No such range test.")
    return test


@login_required
def range_test_page(request, test_id: int):
    test = _test_of(request, test_id)
    run = test.experiment.runs.order_by("id").first()
    return render(request, "lab/range_test.html", {"test": test, "run_id": run.id if run else None})


@login_required
@require_POST
def range_test_start(request, run_id: int):
    """ "Find a learning rate" on a run's page: a range test of its experiment's config."""
    run = runs_visible_to(request.user).filter(pk=run_id).first()
    if run is None:
        raise Http404("No such run.")
    try:
        test = range_test_create(owner=request.user, data={"experiment": run.experiment_id})
    except ValidationError as exc:
        raise Http404(str(exc)) from exc
    return redirect("range-test", test_id=test.id)


@login_required
@require_POST
def range_test_cancel_page(request, test_id: int):
    range_test_request_cancel(_test_of(request, test_id))
    return redirect("range-test", test_id=test_id)
