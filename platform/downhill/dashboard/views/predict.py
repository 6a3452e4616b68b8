"""A run's predict page: the run page's predict form posts here; the answer is the table of
predictions, and the same form's Download button answers them as CSV."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render

from downhill.runs.selectors import runs_visible_to

from ..predict_form import FormError, csv_header, form_text, predict_table, table_csv


@login_required
def run_predict_page(request, run_id: int):
    run = get_object_or_404(runs_visible_to(request.user), pk=run_id)
    context = {"run": run, "text": "", "table": None, "placeholder": csv_header(run)}
    if request.method == "POST":
        try:
            context["text"] = form_text(request.POST, request.FILES)
            context["table"] = predict_table(run, context["text"])
        except FormError as exc:
            context["table"] = {"errors": [("", str(exc))]}
        if "download" in request.POST and context["table"].get("rows"):
            response = HttpResponse(table_csv(context["table"]), content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="run-{run.id}-predictions.csv"'
            return response
    return render(request, "dashboard/predict.html", context)
