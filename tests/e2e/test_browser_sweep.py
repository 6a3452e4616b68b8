"""The sweep page in Chromium: parallel coordinates drawn, brushing an axis filters the trials
table, sorting, "Train the best config"; no console errors; screenshots at 1440 and 390 px."""

from __future__ import annotations

import pytest

from tests.conftest import iris_rows
from tests.e2e.test_browser import screenshot
from tests.e2e.test_browser_workflow import sign_in
from tests.e2e.test_sweeps import create, wait_sweep

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sweep_page_brushing_filters_the_table(client_api, live_server, browser_page):
    page, problems = browser_page
    dataset = client_api.upload(iris_rows(), name="iris.csv")
    sweep = create(
        client_api,
        base={"dataset": dataset["id"], "epochs": 2, "seed": 1, "batch_size": 64},
        space={
            "optimizer": {"type": "categorical", "values": ["sgd", "adam"]},
            "learning_rate": {"type": "float", "low": 1e-4, "high": 0.5, "log": True},
        },
        method="random", max_trials=6, max_concurrent=3, seed=2,
    )  # fmt: skip
    wait_sweep(client_api, sweep["id"], lambda s: s["status"] == "finished")
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/sweeps/{sweep['id']}/")
    assert page.locator("svg[data-pc] polyline").count() == 6
    rows = page.locator("[data-trials] tbody tr")
    assert rows.count() == 6
    screenshot(page, "sweep-page-1440")

    hit = page.locator("svg[data-pc] rect[data-axis=val_loss]")
    box = hit.bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * 0.5)  # the better (lower) half of val_loss
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * 0.75, steps=4)
    page.mouse.move(x, box["y"] + box["height"] - 1, steps=4)
    page.mouse.up()
    visible = page.locator("[data-trials] tbody tr:not([hidden])").count()
    assert 0 < visible < 6
    assert page.locator("svg[data-pc] polyline.off").count() == 6 - visible
    screenshot(page, "sweep-page-brushed")

    page.click("[data-trials] th[data-sort=value]")
    values = page.locator("[data-trials] tbody tr td.num").all_text_contents()
    numbers = [float(v) for v in values if v != "–"]
    assert numbers == sorted(numbers)

    page.set_viewport_size({"width": 390, "height": 900})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    screenshot(page, "sweep-page-390")

    page.set_viewport_size({"width": 1440, "height": 1000})
    page.click("text=Train the best config")
    page.wait_for_url("**/runs/*/")
    assert problems == []
