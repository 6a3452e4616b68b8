"""The dashboard's main path in a real browser (Debian's chromium through Playwright), with a
real worker: sign in, upload a CSV through the form, build an experiment and launch it, watch
its curve grow, clone it into a second run, compare the two; and a regression run's page.
Any JavaScript error or request leaving the machine fails the test (see browser_page)."""

from __future__ import annotations

import csv
import re

import pytest

from tests.conftest import diabetes_rows, iris_rows
from tests.e2e.conftest import PASSWORD, finished
from tests.e2e.test_browser import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def plotted_points(page) -> int:
    """Points of the longest line drawn (its path's move and line commands); 0 while the page
    is between two documents (a finished run's page reloads itself)."""
    try:
        return page.evaluate(
            """() => Math.max(0, ...[...document.querySelectorAll('#chart-loss svg path')]
                   .map(p => (p.getAttribute('d') || '').split(/[ML]/).length - 1))"""
        )
    except Exception:  # the execution context went away with a reload
        return 0


def run_id_of(url: str) -> int:
    return int(re.search(r"/runs/(\d+)/$", url).group(1))


def test_upload_build_launch_watch_clone_and_compare(
    client_api, live_server, browser_page, tmp_path
):
    page, problems = browser_page
    base = live_server.url
    sign_in(page, base)

    # Upload through the form: the file goes to the API with a progress bar, then its page opens.
    path = tmp_path / "iris.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows(iris_rows())
    page.click("nav >> text=Datasets")
    page.wait_for_url(f"{base}/datasets/")  # loaded: its script sees the file being chosen
    page.set_input_files("input[name=file]", str(path))
    page.wait_for_selector("#target-columns option[value=species]", state="attached")
    page.fill("input[name=target]", "species")
    screenshot(page, "datasets-upload-form")
    with page.expect_response(
        lambda r: r.url.endswith("/api/v1/datasets/") and r.request.method == "POST"
    ) as upload:
        page.click("[data-upload-submit]")
    assert upload.value.status == 201
    page.wait_for_url(re.compile(r"/datasets/\d+/$"))
    assert page.locator(".schema-table tr.is-target").inner_text().startswith("species")
    assert page.locator(".histogram").count() == 4
    screenshot(page, "dataset-page")

    # Build the experiment: the form validates and plots the schedule while it is edited.
    page.click("text=New experiment >> nth=-1")
    page.wait_for_url(re.compile(r"/experiments/new/\?dataset=\d+$"))
    page.select_option("select[name=optimizer]", "sgd")
    assert page.input_value("input[name=learning_rate]") == "0.01"  # sgd's default
    page.fill("input[name=learning_rate]", "-1")
    page.wait_for_selector('[data-error-for="learning_rate"]:has-text("greater than 0")')
    page.fill("input[name=learning_rate]", "0.05")
    page.fill("input[name=momentum]", "0.9")
    page.fill("input[name=batch_size]", "4")
    page.fill("input[name=epochs]", "1000")  # far longer than the test watches it
    page.select_option('select[name="lr_schedule.type"]', "warm_restarts")
    page.fill('input[name="lr_schedule.first_cycle_epochs"]', "20")
    page.wait_for_selector("[data-preview-summary]:has-text('30,000 steps')")
    assert page.locator('[data-error-for="learning_rate"]').is_hidden()
    screenshot(page, "experiment-form")
    page.click("[data-launch]")
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    first = run_id_of(page.url)

    # Watch it train: the page fetches the new points by itself.
    page.wait_for_function(
        "() => document.querySelectorAll('#chart-loss svg path').length > 0", timeout=60_000
    )
    early = plotted_points(page)
    page.wait_for_function(
        f"""() => Math.max(0, ...[...document.querySelectorAll('#chart-loss svg path')]
               .map(p => (p.getAttribute('d') || '').split(/[ML]/).length - 1)) > {early}""",
        timeout=20_000,
    )
    assert page.locator('[data-field="eta"]').inner_text().startswith("about")
    screenshot(page, "run-page-launched-from-the-form")
    client_api.post(f"/runs/{first}/cancel/")  # the worker trains one run at a time
    client_api.wait_for(first, finished, timeout=30)

    # Clone it with a smaller rate and a short, plain schedule; this one trains to the end.
    page.wait_for_selector("text=This run was cancelled at step", timeout=15_000)  # reloaded
    page.click("text=Clone")
    page.wait_for_url(re.compile(rf"/experiments/new/\?clone={first}$"))
    assert page.input_value("input[name=learning_rate]") == "0.05"
    assert page.input_value("input[name=momentum]") == "0.9"
    page.fill("input[name=learning_rate]", "0.01")
    page.fill("input[name=batch_size]", "32")
    page.fill("input[name=epochs]", "15")
    page.select_option('select[name="lr_schedule.type"]', "constant")
    page.wait_for_selector("[data-preview-summary]:has-text('60 steps')")
    page.click("[data-launch]")
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    second = run_id_of(page.url)
    assert client_api.wait_for(second, finished, timeout=60)["status"] == "succeeded"
    page.wait_for_selector(".confusion__table", timeout=15_000)  # the page reloaded, finished
    screenshot(page, "run-page-finished")

    # Tick both runs in the table and compare them.
    page.goto(f"{base}/")
    for run_id in (first, second):
        page.check(f"input[name=ids][value='{run_id}']")
    assert page.locator("[data-compare-count]").inner_text() == "2 runs selected"
    screenshot(page, "runs-page-selected")
    page.click("[data-compare-submit]")
    page.wait_for_url(re.compile(r"/runs/compare/\?ids="))
    page.wait_for_function(
        "() => document.querySelectorAll('#chart-train svg path.chart__line:not(.chart__line--raw)').length === 2",
        timeout=15_000,
    )
    legend = page.locator("#chart-train .chart__legend").inner_text()
    assert f"#{first}" in legend and "lr=0.05" in legend and "lr=0.01" in legend
    assert "optimizer" not in legend  # both are sgd: only what differs is named
    screenshot(page, "compare-page")
    assert problems == []


def test_regression_run_shows_its_errors_and_predictions(client_api, live_server, browser_page):
    page, problems = browser_page
    dataset = client_api.upload(diabetes_rows(), name="diabetes.csv")
    run_id = client_api.experiment(
        dataset=dataset["id"], optimizer="adam", learning_rate=0.01, epochs=40,
        lr_schedule={"type": "cosine"},
    )["run"]  # fmt: skip
    assert client_api.wait_for(run_id, finished, timeout=60)["status"] == "succeeded"

    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/runs/{run_id}/")
    page.wait_for_selector("#chart-predictions svg circle")
    page.wait_for_selector("#chart-r2 svg path")
    assert page.locator("#chart-predictions svg circle.chart__dot").count() > 50
    page.check('[data-control="log-lr"]')
    screenshot(page, "run-page-regression")
    assert problems == []
