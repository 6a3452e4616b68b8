"""The defaults in a real browser: the experiment form says what an empty `epochs` resolves to
for the chosen dataset (and says nothing once a number is typed), and a run on a standardized
target names the units of its loss curves. No worker is needed: the runs are marked running in
the transaction that creates them, so a worker that is up (the e2e session's) never takes one
and the run page, which reloads when its run ends, stays put."""

from __future__ import annotations

import pytest

from downhill.experiments.services import experiment_create
from tests.conftest import diabetes_rows, iris_rows
from tests.e2e.test_browser import screenshot
from tests.e2e.test_browser_compare import ada  # noqa: F401 (a fixture)
from tests.e2e.test_browser_workflow import sign_in
from workers.contract.spec import length

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def stored(owner, rows, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from downhill.datasets.services import dataset_create
    from tests.conftest import csv_file

    upload = SimpleUploadedFile(name, csv_file(rows).getvalue(), "text/csv")
    return dataset_create(owner=owner, file=upload, name=name)


def settled_runs(owner, *datas):
    """The runs of experiments made from `datas`, running (on no worker) before they are sent:
    a worker only takes a queued run."""
    from django.db import transaction

    from downhill.runs.models import Run
    from downhill.runs.services import run_transition

    with transaction.atomic():
        runs = [experiment_create(owner=owner, data=data).runs.get() for data in datas]
        for run in runs:
            assert run_transition(run.id, Run.Status.RUNNING)
    return runs


def fits(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_the_form_shows_what_an_empty_epochs_resolves_to(live_server, browser_page, ada):  # noqa: F811
    page, problems = browser_page
    iris = stored(ada, iris_rows(), "iris.csv")
    epochs = length.default_epochs(120, 32)  # 150 rows, 30 held out for validation
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/experiments/new/?dataset={iris.id}")
    hint = page.locator('[data-resolved-for="epochs"]')
    hint.wait_for(state="visible")
    assert page.input_value("input[name=epochs]") == ""
    assert f"{epochs} epochs of 4 steps" in hint.inner_text()
    assert "120 training rows at batch 32" in hint.inner_text()
    page.wait_for_selector(f"[data-preview-summary]:has-text('{epochs * 4:,} steps')")
    hint.scroll_into_view_if_needed()
    screenshot(page, "experiment-form-default-length")
    fits(page, 390)
    hint.scroll_into_view_if_needed()
    screenshot(page, "experiment-form-default-length-390")
    fits(page, 1440)

    page.fill("input[name=batch_size]", "64")  # 2 steps an epoch: twice the epochs
    page.wait_for_selector(
        f'[data-resolved-for="epochs"]:has-text("{min(length.MAX_EPOCHS, epochs * 2):,} epochs of 2 steps")'
    )
    page.fill("input[name=epochs]", "15")  # an explicit epochs means exactly that
    page.wait_for_selector("[data-preview-summary]:has-text('30 steps')")
    assert hint.is_hidden()
    assert problems == []


def test_a_standardized_targets_run_names_its_loss_units(live_server, browser_page, ada):  # noqa: F811
    page, problems = browser_page
    diabetes = stored(ada, diabetes_rows(), "diabetes.csv")
    iris = stored(ada, iris_rows(), "iris.csv")
    scaled, raw, classes = settled_runs(
        ada,
        {"dataset": diabetes.id},
        {"dataset": diabetes.id, "loss": "msle"},
        {"dataset": iris.id},
    )
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/runs/{scaled.id}/")
    note = page.locator('[data-field="loss-units"]')
    assert "standardized target units" in note.inner_text()
    screenshot(page, "run-page-loss-units")
    fits(page, 390)
    note.scroll_into_view_if_needed()
    screenshot(page, "run-page-loss-units-390")
    for run in (raw, classes):
        page.goto(f"{live_server.url}/runs/{run.id}/")
        assert page.locator('[data-field="loss-units"]').count() == 0
    assert problems == []
