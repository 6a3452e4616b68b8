"""The experiment form: build a config, preview its learning-rate schedule, launch the run.

The form posts its fields as they are; experiment_form.form_to_request turns them into the
request body the API takes, and the same services validate it. The live preview (what the
script asks for while the form is edited) answers with the API's preview and error shapes.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from downhill.datasets.selectors import datasets_visible_to
from downhill.experiments.services import experiment_create, experiment_preview
from downhill.runs.selectors import runs_visible_to
from downhill.runs.services import QuotaExceeded
from downhill.sweeps.create import sweep_fields
from downhill.sweeps.services import sweep_create
from workers.contract.spec.optimizers import default_learning_rates

from ..experiment_form import (
    form_to_request,
    form_values_from_config,
    initial_values,
    sections,
)
from ..sweep_form import (
    OPTIONS,
    bound_search,
    form_errors,
    form_to_sweep,
    initial_search_values,
    is_sweep,
    searchable,
    searched_choices,
)


@login_required
@require_http_methods(["GET", "POST"])
def experiment_new(request):
    datasets = list(datasets_visible_to(request.user).filter(status="ready").order_by("name"))
    errors: dict[str, list[str]] = {}
    status = 200
    clone_of = None
    if request.method == "POST":
        values = request.POST
        try:
            return redirect(_launch(request))
        except ValidationError as exc:
            errors, status = _messages(exc), 400
            errors = form_errors(errors, request.POST) if is_sweep(request.POST) else errors
        except QuotaExceeded as exc:
            errors, status = {"non_field_errors": [str(exc)]}, 429
    else:
        values = {**initial_search_values(), **initial_values()}
        clone_id = request.GET.get("clone", "")
        if clone_id.isdigit() and len(clone_id) < 19:
            clone_of = runs_visible_to(request.user).filter(pk=int(clone_id)).first()
        if clone_of is not None:
            values.update(form_values_from_config(clone_of.experiment.config))
            values["name"] = clone_of.experiment.name
            values.update(_suggested_rate(request.GET))  # "Use this rate" of an LR range test
        elif request.GET.get("dataset"):
            values["dataset"] = request.GET["dataset"]
        elif datasets:  # the newest: most likely the one just uploaded
            values["dataset"] = str(max(datasets, key=lambda d: (d.created_at, d.id)).id)
    form_sections = sections()
    field_keys = {f.key for section in form_sections for f in section.fields}
    field_keys |= {f.key for f in OPTIONS} | {"space." + f.name for f in _searchable(form_sections)}
    field_keys.add("space")
    selected = next((d for d in datasets if str(d.id) == str(values.get("dataset", ""))), None)
    context = {
        "sections": bound_sections(form_sections, values, errors),
        "other_errors": [
            message
            for key, messages in errors.items()
            if key not in field_keys
            for message in messages
        ],
        "datasets": datasets,
        "target_columns": [c["name"] for c in selected.columns] if selected else [],
        "selected_target": values.get("target") or (selected.target if selected else ""),
        "datasets_json": {
            str(d.id): {"columns": [c["name"] for c in d.columns], "target": d.target}
            for d in datasets
        },
        "learning_rates_json": default_learning_rates(),  # an untouched rate follows the optimizer
        "clone_of": clone_of,
        "sweep_options": [_bound(f, values, errors, True) for f in OPTIONS],
        "space_errors": errors.get("space", []),
    }
    return render(request, "dashboard/experiment_form.html", context, status=status)


def _launch(request) -> str:
    """Launch what the form describes: a sweep when a setting is searched, else one run.
    Returns the page to open; raises ValidationError or QuotaExceeded."""
    if is_sweep(request.POST):
        sweep = sweep_create(owner=request.user, data=form_to_sweep(request.POST))
        return reverse("sweep", args=[sweep.id])
    experiment = experiment_create(owner=request.user, data=form_to_request(request.POST))
    return reverse("run", args=[experiment.runs.order_by("-id").first().id])


def _searchable(form_sections):
    return [f for section in form_sections for f in section.fields if searchable(f)]


def _sweep_preview(request) -> dict:
    """The sweep's check and its base config's schedule; raises ValidationError with the
    form's keys."""
    body = form_to_sweep(request.POST)
    try:
        checked = sweep_fields(request.user, body)
    except ValidationError as exc:
        raise ValidationError(form_errors(_messages(exc), request.POST)) from exc
    preview = experiment_preview(owner=request.user, data=body["base"])
    return {**preview, "sweep": {"trials": checked["max_trials"], "method": checked["method"],
                                 "searched": list(checked["space"])}}  # fmt: skip


@login_required
@require_POST
def experiment_form_preview(request):
    """What the form shows while it is edited, creating nothing: the config with its defaults
    and its learning rate per step ({"valid": true, ...} as the API's preview), or the problems
    ({"valid": false, "detail", "errors"} as the API's 400). A config with problems is an
    answer here, not a failed request: 200 either way, so the browser logs no error per key."""
    try:
        if is_sweep(request.POST):
            preview = _sweep_preview(request)
        else:
            preview = experiment_preview(owner=request.user, data=form_to_request(request.POST))
    except ValidationError as exc:
        errors = _messages(exc)
        detail = " ".join(
            text if key == "non_field_errors" else f"{key}: {text}"
            for key, messages in errors.items()
            for text in messages
        )
        return JsonResponse({"valid": False, "detail": detail, "errors": errors})
    return JsonResponse({"valid": True, **preview})


def bound_sections(form_sections, values, errors: dict[str, list[str]]) -> list[dict]:
    """The form's sections with each field's value; a config key's errors go under its first
    field ("lr_schedule: ..." under the schedule type)."""
    seen: set[str] = set()
    bound = []
    choices = searched_choices(values)
    for section in form_sections:
        fields = []
        for f in section.fields:
            anchor = f.key not in seen
            seen.add(f.key)
            fields.append(
                {
                    **_bound(f, values, errors, anchor, choices),
                    "search": bound_search(f, values, errors),
                }  # fmt: skip
            )
        bound.append({"title": section.title, "fields": fields})
    return bound


def _bound(f, values, errors: dict[str, list[str]], anchor: bool, choices=None) -> dict:
    return {
        "field": f,
        "value": values.get(f.name, ""),
        "anchor": anchor,
        "applies": f.applies(values, choices),
        "errors": errors.get(f.key, []) if anchor else [],
    }


def _messages(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return exc.message_dict
    return {"non_field_errors": exc.messages}


def _suggested_rate(params) -> dict:
    """{"learning_rate": the rate a link carries} when it is a positive finite number."""
    try:
        rate = float(params.get("learning_rate", ""))
    except ValueError:
        return {}
    return {"learning_rate": repr(rate)} if 0 < rate < float("inf") else {}
