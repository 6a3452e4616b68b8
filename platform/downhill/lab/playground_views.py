"""The playground's page: its controls, and a stored playground opened again by its id."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from downhill.datasets.selectors import datasets_visible_to
from workers.contract.playground import (
    DEFAULT_KINDS,
    DEFAULT_STEPS,
    DEFAULTS,
    MAX_STEPS,
    OPTIMIZERS,
)

from .playground import one_feature_regression_problem, playgrounds_visible_to

RECENT = 8


@login_required
def playground_page(request, playground_id: int | None = None):
    playground = None
    if playground_id is not None:
        playground = playgrounds_visible_to(request.user).filter(pk=playground_id).first()
        if playground is None:
            raise Http404("No such playground.")
    ready = datasets_visible_to(request.user).filter(status="ready", task="regression")
    kinds = [{"kind": kind, "label": spec["label"], "learning_rate": spec["learning_rate"],
              "batch_size": spec["batch_size"], "momentum": spec["momentum"],
              "checked": kind in DEFAULT_KINDS} for kind, spec in OPTIMIZERS.items()]  # fmt: skip
    context = {
        "playground": playground,
        "defaults": DEFAULTS,
        "kinds": kinds,
        "steps": DEFAULT_STEPS,
        "max_steps": MAX_STEPS,
        "datasets": [
            d for d in ready.order_by("-id")[:50] if not one_feature_regression_problem(d)
        ],
        "recent": playgrounds_visible_to(request.user).defer("result")[:RECENT],
    }
    return render(request, "lab/playground.html", context)
