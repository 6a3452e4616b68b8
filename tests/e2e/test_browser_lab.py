"""The LR range test in a browser: "Find a learning rate" on a run's page starts it, its page
draws loss against a log-x learning rate with the suggestions marked, and "Use this rate" opens
the experiment form with that rate. Screenshots at 1440 and 390 px, with no overflow."""

from __future__ import annotations

import pytest

from tests.conftest import diabetes_rows
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_browser import screenshot
from tests.e2e.test_browser_workflow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_find_a_learning_rate_and_use_it(live_server, browser_page, django_user_model, sent_tasks):
    from downhill.experiments.services import experiment_create
    from downhill.lab.models import RangeTest
    from tests.datasets.builders import post_bytes
    from workers.lab import execute_range_test

    page, problems = browser_page
    user = django_user_model.objects.create_user("ada", password=PASSWORD)
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(user)
    text = "\n".join(",".join(map(str, row)) for row in diabetes_rows()).encode()
    dataset = post_bytes(api, text, filename="diabetes.csv").json()["id"]
    experiment = experiment_create(owner=user, data={"dataset": dataset, "target": "progression",
                                                     "batch_size": 64, "epochs": 2})  # fmt: skip
    run_id = experiment.runs.get().id

    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/runs/{run_id}/")
    page.click("form[data-field=range-test] button")
    page.wait_for_url(f"{live_server.url}/lab/range-tests/*/")
    test = RangeTest.objects.get()
    execute_range_test(test.id)  # the worker's function, in this process
    page.wait_for_selector("a[data-rule=valley]", timeout=15_000)
    assert page.locator("svg.lab-chart path.lab-chart__smooth").count() == 1
    assert page.locator("svg.lab-chart .lab-chart__rule").count() == 3
    assert page.get_by_text("learning rate (log scale)").count() == 1
    assert page.locator("form[data-cancel]").count() == 0  # finished: nothing to cancel
    screenshot(page, "lab-range-test-1440")
    page.set_viewport_size({"width": 390, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.wait_for_function(
        "() => document.querySelector('svg.lab-chart').viewBox.baseVal.width < 400"
    )
    screenshot(page, "lab-range-test-390")
    page.set_viewport_size({"width": 1440, "height": 1000})

    # The run page lists its config's LR tests; the link opens this one again.
    page.goto(f"{live_server.url}/runs/{run_id}/")
    listed = page.locator("[data-field=range-tests] a")
    assert listed.count() == 1 and listed.inner_text() == f"LR test #{test.id}"
    page.locator("[data-field=range-tests]").scroll_into_view_if_needed()
    screenshot(page, "lab-range-tests-on-run-1440")
    listed.click()
    page.wait_for_selector("a[data-rule=valley]")

    valley = RangeTest.objects.get().suggestions["valley"]
    page.click("a[data-rule=valley]")
    page.wait_for_selector("input[name=learning_rate]")
    assert float(page.input_value("input[name=learning_rate]")) == pytest.approx(valley, rel=1e-2)
    assert problems == []
