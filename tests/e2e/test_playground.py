"""The playground end to end: the API's POST answers with the worker's drawing (a live server
and a real Celery worker), and the page draws it — contours, every chosen path step by step,
the loss per step, the least-squares point — at 1440 and 390 px without overflow."""

from __future__ import annotations

import pytest

from tests.e2e.test_browser import screenshot
from tests.e2e.test_browser_workflow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_post_answers_with_the_workers_drawing(client_api):
    body = {"slope": -1.5, "intercept": 2.0, "noise": 0.3, "seed": 7,
            "optimizers": [{"kind": "gd", "learning_rate": 0.05, "steps": 300},
                           {"kind": "rmsprop", "steps": 50}]}  # fmt: skip
    created = client_api.post("/lab/playground/", json=body)
    assert created.status_code == 201, created.text
    playground = created.json()
    if playground["status"] in ("queued", "running"):  # a slow machine: read it again
        playground = _wait(client_api, playground["id"])
    assert playground["status"] == "succeeded", playground["error"]
    result = playground["result"]
    gd, rmsprop = result["paths"]
    assert len(gd["w"]) == 301 and len(rmsprop["w"]) == 51
    ls = result["least_squares"]
    assert (ls["w"], ls["b"]) == pytest.approx((-1.5, 2.0), abs=0.2)
    assert (gd["w"][-1], gd["b"][-1]) == pytest.approx((ls["w"], ls["b"]), abs=0.05)
    assert client_api.get(f"/lab/playground/{playground['id']}/").json()["result"] == result


def _wait(client_api, playground_id, timeout=60.0):
    import time

    deadline = time.monotonic() + timeout
    while True:
        playground = client_api.get(f"/lab/playground/{playground_id}/").json()
        if playground["status"] not in ("queued", "running"):
            return playground
        assert time.monotonic() < deadline, playground
        time.sleep(0.2)


def test_the_page_rolls_the_optimizers_down_the_surface(client_api, live_server, browser_page):
    page, problems = browser_page
    sign_in(page, live_server.url)
    page.click("nav a:text('Playground')")
    page.wait_for_url(f"{live_server.url}/lab/playground/")
    page.check("input[name=kind][value=nesterov]")
    page.fill("input[name=lr-gd]", "0.2")  # near 2/λ_max: the zig-zag across the valley
    page.click("[data-roll]")
    page.wait_for_selector("[data-playground][data-drawn]", timeout=60_000)
    assert "/lab/playground/" in page.url and page.url.rstrip("/").split("/")[-1].isdigit()
    contours = page.locator("svg.pg-contour .pg-contours path")
    assert contours.count() >= 10
    assert page.locator("svg.pg-contour .pg-target").count() == 1
    kinds = page.eval_on_selector_all(
        "svg.pg-contour path.pg-path", "ps => ps.map(p => p.dataset.kind)"
    )
    assert kinds == ["gd", "sgd", "momentum", "nesterov", "adam"]
    assert (
        page.get_by_text("w (slope)").count() == 1
        and page.get_by_text("b (intercept)").count() == 1
    )
    assert page.locator("[data-legend] li").count() == 5
    # The last step: every path drawn whole, its ball at the end.
    page.locator("[data-step]").fill("100")
    page.wait_for_function(
        "() => document.querySelector('[data-step-value]').textContent === '100'"
    )
    segments = page.eval_on_selector_all(
        "svg.pg-contour path.pg-path",
        "ps => ps.map(p => (p.getAttribute('d').match(/L/g) || []).length)",
    )
    assert segments == [100] * 5
    screenshot(page, "lab-playground-1440")
    page.locator("[data-step]").fill("10")  # step by step: ten segments each
    segments = page.eval_on_selector_all(
        "svg.pg-contour path.pg-path",
        "ps => ps.map(p => (p.getAttribute('d').match(/L/g) || []).length)",
    )
    assert segments == [10] * 5
    page.set_viewport_size({"width": 390, "height": 900})
    page.wait_for_function(
        "() => document.querySelector('svg.pg-contour').viewBox.baseVal.width < 400"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "lab-playground-390")
    page.set_viewport_size({"width": 1440, "height": 1000})

    # Opened again later: the same drawing from the stored result, its settings in the form.
    page.reload()
    page.wait_for_selector("[data-playground][data-drawn]", timeout=30_000)
    assert page.input_value("input[name=lr-gd]") == "0.2"
    assert page.locator("svg.pg-contour path.pg-path").count() == 5

    # Bad input: the field is named, nothing drawn over.
    page.fill("input[name=lr-adam]", "0")
    page.click("[data-roll]")
    page.wait_for_selector("[data-errors]:not([hidden])")
    assert "optimizers[4].learning_rate" in page.inner_text("[data-errors]")
    assert problems == [
        "console error: Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
