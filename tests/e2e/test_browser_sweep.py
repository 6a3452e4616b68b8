"""The sweep page in Chromium: parallel coordinates drawn, brushing an axis filters the trials
table and greys the left-out trials in the scatters and the curves, the objective against each
parameter, parameter importance, every trial's curve with the pruned ones marked, sorting,
"Train the best config"; no console errors; screenshots at 1440 and 390 px."""

from __future__ import annotations

import pytest

from tests.conftest import iris_rows
from tests.e2e.test_browser import screenshot
from tests.e2e.test_browser_workflow import sign_in
from tests.e2e.test_sweeps import create, wait_sweep

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sweep_page_panels_and_brushing_filters_the_table(client_api, live_server, browser_page):
    page, problems = browser_page
    dataset = client_api.upload(iris_rows(), name="iris.csv")
    sweep = create(
        client_api,
        base={"dataset": dataset["id"], "epochs": 3, "seed": 1, "batch_size": 64},
        space={
            "optimizer": {"type": "categorical", "values": ["sgd", "adam"]},
            "learning_rate": {"type": "float", "low": 1e-5, "high": 0.5, "log": True},
        },
        method="random", max_trials=6, max_concurrent=3, seed=2,
        pruner={"type": "median", "n_startup_trials": 3},
    )  # fmt: skip
    wait_sweep(client_api, sweep["id"], lambda s: s["status"] == "finished")
    trials = client_api.get(f"/sweeps/{sweep['id']}/trials/").json()
    pruned = [t for t in trials if t["state"] == "pruned"]
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/sweeps/{sweep['id']}/")
    assert page.locator("svg[data-pc] polyline").count() == 6
    rows = page.locator("[data-trials] tbody tr")
    assert rows.count() == 6
    # The objective against each parameter: every trial a point in each, the log-scale
    # learning rate said so, the optimizer as strips named by its values.
    assert page.locator("[data-scatter] figure").count() == 2
    assert page.locator("svg[data-param=learning_rate] circle").count() == 6
    assert page.locator("svg[data-param=learning_rate] text", has_text="log scale").count() == 1
    strips = page.locator("svg[data-param=optimizer] text").all_text_contents()
    assert "sgd" in strips and "adam" in strips
    assert page.locator("svg[data-param=optimizer] circle.pruned").count() == len(pruned)
    # Every trial's curve, one point per reported epoch; the pruned dashed with a cross.
    assert page.locator("svg[data-curves] g.curve").count() == 6
    assert page.locator("svg[data-curves] g.curve.pruned").count() == len(pruned)
    assert page.locator("svg[data-curves] g.curve.pruned path.mark").count() == len(pruned)
    assert pruned, "the median rule pruned nothing: the curves' marks went untested"
    # Importance from the API (fANOVA over the completed trials): one bar per parameter.
    page.wait_for_selector("svg[data-importance] rect.bar")
    bars = page.locator("svg[data-importance] rect.bar")
    assert sorted(bars.evaluate_all("bs => bs.map(b => b.dataset.param)")) == [
        "learning_rate",
        "optimizer",
    ]
    screenshot(page, "sweep-page-1440")

    hit = page.locator("svg[data-pc] rect[data-axis=val_loss]")
    box = hit.bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * 0.5)  # the better (lower) half of val_loss
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * 0.75, steps=4)
    page.mouse.move(x, box["y"] + box["height"] + 5, steps=4)  # past the end: the best kept
    page.mouse.up()
    visible = page.locator("[data-trials] tbody tr:not([hidden])").count()
    assert 0 < visible < 6
    assert page.locator("svg[data-pc] polyline.off").count() == 6 - visible
    # The brush greys the same trials in the scatters and the curves.
    assert page.locator("svg[data-param=learning_rate] circle.off").count() == 6 - visible
    assert page.locator("svg[data-curves] g.curve.off").count() == 6 - visible
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
