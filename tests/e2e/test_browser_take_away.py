"""Take away in a real browser: from a succeeded run's page, download its metrics as CSV and
its model as ONNX and TorchScript, and predict rows through the form (pasted, then a file),
get the table, a named per-row error, and the predictions as CSV. Screenshots at 1440 and
390 px, no horizontal overflow."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import iris_rows
from tests.e2e.conftest import finished
from tests.e2e.test_browser import ARTIFACTS, screenshot
from tests.e2e.test_browser_workflow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASTED = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"


def overflows(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth + 1")


def downloaded(page, selector: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.click(selector)
    download = info.value
    return download.suggested_filename, open(download.path(), "rb").read()


def test_download_metrics_and_models_and_predict_through_the_form(
    client_api, live_server, browser_page, tmp_path
):
    page, problems = browser_page
    dataset = client_api.upload(iris_rows(), name="iris.csv")
    run_id = client_api.experiment(dataset=dataset["id"], epochs=10, seed=2)["run"]
    assert client_api.wait_for(run_id, finished, timeout=60)["status"] == "succeeded"
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/runs/{run_id}/")

    page.select_option('[data-field="metrics-csv-form"] select[name=axis]', "epoch")
    page.select_option('[data-field="metrics-csv-form"] select[name=layout]', "wide")
    name, body = downloaded(page, '[data-field="metrics-csv-form"] button')
    assert name == f"run-{run_id}-metrics-wide-epoch.csv"
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert float(rows[-1]["epoch"]) == 10.0 and rows[-1]["val_loss"]

    name, onnx = downloaded(page, '[data-field="download-onnx"]')
    assert name == f"run-{run_id}-model.onnx" and len(onnx) > 100
    name, script = downloaded(page, '[data-field="download-torchscript"]')
    assert name == f"run-{run_id}-model.torchscript.pt" and script[:2] == b"PK"  # a zip
    screenshot(page, "run-page-take-away")

    page.fill('[data-field="predict-form"] textarea', PASTED)
    page.click('[data-field="predict-form"] button[type=submit]')
    page.wait_for_selector('[data-field="predictions"]')
    cells = page.locator('[data-field="predictions"] tbody tr').all_inner_texts()
    assert len(cells) == 2 and "setosa" in cells[0] and "virginica" in cells[1]
    api = client_api.post(f"/runs/{run_id}/predict/", json={"rows": [
        dict(zip(PASTED.split()[0].split(","), line.split(","), strict=True))
        for line in PASTED.split()[1:]
    ]}).json()["predictions"]  # fmt: skip
    name, body = downloaded(page, '[data-field="download-predictions"]')
    assert name == f"run-{run_id}-predictions.csv"
    got = list(csv.DictReader(io.StringIO(body.decode())))
    assert [r["prediction"] for r in got] == [p["label"] for p in api]
    assert float(got[1]["probability_virginica"]) == pytest.approx(
        api[1]["probabilities"]["virginica"], abs=1e-5
    )
    screenshot(page, "predict-page")
    assert not overflows(page)

    bad = tmp_path / "bad.csv"
    bad.write_text(PASTED + "5.0,wide,1.3,0.2\n")
    page.fill('[data-field="predict-form"] textarea', "")
    page.set_input_files('[data-field="predict-file"]', str(bad))
    page.click('[data-field="predict-form"] button[type=submit]')
    error = page.locator('[data-field="predict-errors"]').inner_text()
    assert "rows[2].sepal_width" in error and "is not a number" in error
    screenshot(page, "predict-page-row-error")

    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{live_server.url}/runs/{run_id}/")
    page.locator("#take-away-title").scroll_into_view_if_needed()
    assert not overflows(page)
    screenshot(page, "run-page-take-away-390")
    page.fill('[data-field="predict-form"] textarea', PASTED)
    page.click('[data-field="predict-form"] button[type=submit]')
    page.wait_for_selector('[data-field="predictions"]')
    assert not overflows(page)
    screenshot(page, "predict-page-390")
    assert ARTIFACTS.exists()
    assert problems == []
