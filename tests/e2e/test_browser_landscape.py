"""A run's loss landscape in a browser: the run page's "Landscape" card shows the cost before
it starts, "Draw the landscape" opens its page, which draws the contours with the trajectory
as the ball's path and a 1-D slice, axes labelled; a line draws from the initial weights to the
final; a surface of which one part of two is in is drawn whole from the cells there are.
Screenshots at 1440 and 390 px, with no overflow."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import iris_rows
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_browser import ARTIFACTS, screenshot
from tests.e2e.test_browser_workflow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_draw_a_runs_landscape_with_its_trajectory_and_a_line(
    live_server, browser_page, django_user_model, sent_tasks, train_upload, api, user
):
    from downhill.lab.models import Landscape
    from workers.lab_landscape import execute_landscape

    page, problems = browser_page
    user.set_password(PASSWORD)
    user.save()
    text = "\n".join(",".join(map(str, row)) for row in iris_rows()).encode()
    run = train_upload(text, "iris.csv", target="species", epochs=12, batch_size=16,
                       learning_rate=0.05)  # fmt: skip

    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/runs/{run.id}/")
    cost = page.locator("[data-landscape-form] [data-cost]")
    assert "441 cells × 2 batches = 882 forward passes" in cost.inner_text()
    page.fill("[data-landscape-form] input[name=grid]", "25")
    expect(cost).to_contain_text("1250 forward passes")
    page.fill("[data-landscape-form] input[name=grid]", "99")
    expect(cost).to_contain_text("grid: a whole number from 3 to 51")
    page.fill("[data-landscape-form] input[name=grid]", "21")
    page.click("[data-landscape-form] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/lab/landscapes/*/")
    landscape = Landscape.objects.get()
    execute_landscape(landscape.id)  # the worker's function, in this process
    page.wait_for_selector("svg[data-map] path.landscape-path__core", timeout=15_000)
    assert page.locator("svg[data-map] path.landscape-contour").count() >= 5
    assert page.locator("svg[data-map] rect").count() == 21 * 21
    assert page.locator("svg[data-slice] path.landscape-line--validation").count() == 1
    assert page.get_by_text("1st principal component", exact=False).count() >= 1
    assert page.locator("form[data-cancel]").count() == 0
    screenshot(page, "lab-landscape-1440")
    page.click("[data-set=validation]")
    assert page.get_attribute("[data-set=validation]", "aria-pressed") == "true"
    page.set_viewport_size({"width": 390, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.locator("svg[data-map]")).to_have_attribute("viewBox", re.compile(r"0 0 3\d\d "))
    screenshot(page, "lab-landscape-390")
    page.set_viewport_size({"width": 1440, "height": 1000})

    page.goto(f"{live_server.url}/runs/{run.id}/")
    assert page.locator(".landscape-list li").count() == 1
    page.locator("[data-field=landscape]").screenshot(
        path=str(ARTIFACTS / "lab-landscape-card-1440.png")
    )
    page.fill("[data-landscape-form] input[name=parts]", "22")
    expect(cost).to_contain_text("parts: at most one part per grid row: from 1 to 21")
    page.fill("[data-landscape-form] input[name=parts]", "1")
    page.select_option("[data-landscape-form] select[name=kind]", "line")
    expect(cost).to_contain_text("= 42 forward passes")
    page.click("[data-landscape-form] button[type=submit]")
    page.wait_for_url(f"{live_server.url}/lab/landscapes/*/")
    execute_landscape(Landscape.objects.filter(kind="line").get().id)
    page.wait_for_selector("svg[data-slice] path.landscape-line--train", timeout=15_000)
    assert page.get_by_text("a: initial weights (0) to final weights (1)").count() == 1
    screenshot(page, "lab-landscape-line-1440")
    page.set_viewport_size({"width": 390, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "lab-landscape-line-390")
    page.goto(f"{live_server.url}/runs/{run.id}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("[data-field=landscape]").screenshot(
        path=str(ARTIFACTS / "lab-landscape-card-390.png")
    )

    # A surface in two parts, one of them computed: drawn whole from the cells there are.
    from downhill.lab.landscape_services import landscape_create

    split = landscape_create(owner=user, data={"run": run.id, "grid": 21, "parts": 2})
    execute_landscape(split.id, 0)
    page.goto(f"{live_server.url}/lab/landscapes/{split.id}/")
    expect(page.locator("[data-progress]")).to_contain_text(" of 441 cells done · 1 of 2 parts in")
    assert page.locator("svg[data-map] rect").count() == 21 * 21
    assert page.locator("svg[data-map] path.landscape-contour").count() >= 5
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "lab-landscape-part-390")
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.wait_for_timeout(300)  # the redraw after the resize
    screenshot(page, "lab-landscape-part-1440")
    refused = [p for p in problems if "status of 400" in p]  # grid 99 and parts 22, on purpose
    assert len(refused) == 2 and [p for p in problems if p not in refused] == []
