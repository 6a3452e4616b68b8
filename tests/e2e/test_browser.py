"""The dashboard in a real browser (Debian's chromium through Playwright): sign in, watch a
run's loss curve grow while a real worker trains it, find it in the runs list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import iris_rows
from tests.e2e.conftest import PASSWORD, finished

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_sign_in_watch_a_run_train_live_and_cancel_it(client_api, live_server, browser_page):
    page, problems = browser_page
    dataset = client_api.upload(iris_rows(), name="iris.csv")
    # Batch size 1 over 120 rows for 1000 epochs: far longer than the test watches it.
    run_id = client_api.experiment(
        dataset=dataset["id"], batch_size=1, epochs=1000, optimizer="sgd", learning_rate=0.01
    )["run"]

    page.goto(f"{live_server.url}/runs/{run_id}/")
    assert "/login/" in page.url  # signed out: sent to sign in first
    page.fill("input[name=username]", "ada")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/runs/{run_id}/")

    client_api.wait_for(
        run_id, lambda r: r["status"] == "running" and r["progress"]["step"] > 0, timeout=60
    )

    def plotted_points() -> int:
        # The train-loss line is an SVG path; its commands count the points drawn.
        return page.evaluate(
            """() => Math.max(0, ...[...document.querySelectorAll('svg path')]
                   .map(p => (p.getAttribute('d') || '').split(/[ML]/).length - 1))"""
        )

    def last_step_drawn() -> int:
        """The step the loss chart's readout names at the right end of its longest line: the
        newest point drawn. (The count of points drawn may stay put as a long run grows: the
        chart draws about one a pixel column.)"""
        page.locator("#chart-loss").scroll_into_view_if_needed()
        page.mouse.move(0, 0)
        right, middle = page.evaluate(
            """() => {
                const paths = [...document.querySelectorAll('#chart-loss svg path')];
                const points = (p) => (p.getAttribute('d') || '').split(/[ML]/).length;
                const box = paths.sort((a, b) => points(b) - points(a))[0].getBoundingClientRect();
                return [box.right - 0.5, box.top + box.height / 2];
            }"""
        )
        page.mouse.move(right, middle)
        readout = page.locator("#chart-loss .chart__tooltip > div").first
        return int(re.fullmatch(r"step ([\d,]+)", readout.inner_text()).group(1).replace(",", ""))

    page.wait_for_function("() => document.querySelectorAll('svg path').length > 0", timeout=15_000)
    early = last_step_drawn()
    assert early > 0 and plotted_points() > 1
    screenshot(page, "run-page-while-running")
    run = client_api.get(f"/runs/{run_id}/").json()
    assert run["status"] == "running", "the run ended before the page could watch it grow"
    page.wait_for_timeout(2500)
    late = last_step_drawn()
    assert late > early  # the page fetched the new points by itself, and drew them

    page.once("dialog", lambda dialog: dialog.accept())  # "Cancel this run?"
    page.click("text=Cancel run")
    assert client_api.wait_for(run_id, finished, timeout=15)["status"] == "cancelled"
    page.wait_for_selector("text=This run was cancelled at step", timeout=15_000)
    screenshot(page, "run-page-cancelled")
    # The finished page draws the whole (downsampled) curve, to its end.
    assert plotted_points() > 1 and last_step_drawn() >= late

    page.goto(f"{live_server.url}/")
    row = page.locator("tr", has_text=f"#{run_id}")
    assert row.count() == 1
    assert (
        "iris" in row.inner_text() and "sgd" in row.inner_text() and "Cancelled" in row.inner_text()
    )
    screenshot(page, "runs-page")
    assert problems == []
