"""Comparing runs fairly in a real browser: the x axis, zoom into a spike, and the user's own
names, tags and notes with the runs table's search. Runs and points are written directly (the
same services a worker calls), so no worker is needed."""

from __future__ import annotations

import pytest
from django.db import transaction

from downhill.runs.models import MetricBlock, MetricChunk, Run
from downhill.runs.services import metrics_record, run_transition
from tests.e2e.conftest import PASSWORD
from tests.e2e.test_browser import screenshot
from tests.e2e.test_browser_workflow import sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
T0 = 1.7e9


@pytest.fixture
def ada(django_user_model):
    return django_user_model.objects.create_user("ada", password=PASSWORD)


def finished_run(owner, dataset, steps: int, *, spike: int | None = None, **config) -> Run:
    """A succeeded run of `config` with `steps` training-loss and lr points (value 100 at
    `spike`), and a validation loss at each epoch's end."""
    from downhill.experiments.services import experiment_create

    # Running before it is sent: the session's worker takes only queued runs.
    with transaction.atomic():
        experiment = experiment_create(
            owner=owner, data={"dataset": dataset.id, "epochs": 3, **config}
        )
        run = experiment.runs.get()
        assert run_transition(run.id, Run.Status.RUNNING)
    Run.objects.filter(pk=run.id).update(steps=steps, step=steps, epochs=3, epoch=3)
    for start in range(1, steps + 1, 50_000):
        stop = min(steps, start + 49_999)
        points = []
        for s in range(start, stop + 1):
            points.append(("train_loss", s, 100.0 if s == spike else 2.0 / (1 + s / steps), T0 + s))
            points.append(("lr", s, 0.1, T0 + s))
        metrics_record(run.id, points)
    ends = [steps // 3, 2 * steps // 3, steps]
    metrics_record(run.id, [("val_loss", s, 1.0 / (i + 1), T0 + s) for i, s in enumerate(ends)])
    run_transition(run.id, Run.Status.SUCCEEDED, summary={"best_val_loss": 0.33})
    return run


@pytest.fixture
def dataset(ada):
    """A ready 20-row dataset (16 training rows after the default split)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from downhill.datasets.services import dataset_create
    from tests.conftest import csv_file

    rows = [["x", "label"]] + [[i, "ab"[i % 2]] for i in range(20)]
    upload = SimpleUploadedFile("tiny.csv", csv_file(rows).getvalue(), "text/csv")
    return dataset_create(owner=ada, file=upload, name="tiny.csv")


def line_spans(page, chart: str) -> list[float]:
    """How far across the plot each run's line reaches (0 to 1), per drawn line."""
    return page.evaluate(
        """(chart) => {
          const svg = document.querySelector(`#${chart} svg`);
          const axis = [...svg.querySelectorAll('line.chart__axis')].pop().getBBox();
          return [...svg.querySelectorAll('path.chart__line:not(.chart__line--raw)')].map((p) => {
            const box = p.getBBox();
            return (box.x + box.width - axis.x) / axis.width;
          });
        }""",
        chart,
    )


def test_compare_batch_one_and_full_batch_on_fair_axes(live_server, browser_page, ada, dataset):
    page, problems = browser_page
    one = finished_run(ada, dataset, 48, batch_size=1)
    full = finished_run(ada, dataset, 3, batch_size="full")
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/runs/compare/?ids={one.id},{full.id}")
    page.wait_for_selector("[data-compare][data-loaded=true]")
    assert page.input_value('[data-control="x-axis"]') == "samples"
    assert "batch sizes differ" in page.inner_text('[data-field="axis-note"]')
    page.wait_for_function(
        "() => document.querySelectorAll('#chart-train path.chart__line').length >= 2"
    )
    assert all(span > 0.97 for span in line_spans(page, "chart-train")), line_spans(
        page, "chart-train"
    )
    screenshot(page, "compare-samples-1440")

    page.select_option('[data-control="x-axis"]', "step")
    page.wait_for_timeout(600)
    spans = sorted(line_spans(page, "chart-train"))
    assert spans[0] < 0.1 and spans[-1] > 0.97, spans  # on steps the full batch is a sliver
    assert page.inner_text('[data-field="axis-note"]').startswith("On optimizer steps: the runs'")

    page.select_option('[data-control="x-axis"]', "epoch")
    page.wait_for_timeout(600)
    note = page.inner_text('[data-field="axis-note"]')
    assert note.startswith("On epochs,") and "default" not in note, note  # not the stale default
    assert all(span > 0.97 for span in line_spans(page, "chart-train"))
    assert "epoch" in page.inner_text("#chart-train").lower()
    page.set_viewport_size({"width": 390, "height": 900})
    page.wait_for_timeout(300)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "compare-epoch-390")
    assert not problems, problems


MILLION = 1_000_000
SPIKE = 777_777


def million_point_run(owner, dataset) -> Run:
    """A succeeded batch-size-1 run of MILLION training-loss points, 100 at step SPIKE and a
    slow decay below 2 elsewhere, packed into chunks with their blocks as the worker's writes
    are (in batches of 100,000 points, with no Python loop per point but the batch's tuples)."""
    import numpy as np
    from django.db import connection, transaction

    from downhill.runs.metric_chunks import chunks_record

    run = finished_run(owner, dataset, 3, batch_size=1)
    Run.objects.filter(pk=run.id).update(steps=MILLION, step=MILLION)
    MetricChunk.objects.filter(run=run, name="train_loss").delete()
    MetricBlock.objects.filter(run=run, name="train_loss").delete()
    for start in range(1, MILLION + 1, 100_000):
        steps = np.arange(start, min(start + 100_000, MILLION + 1))
        values = np.where(steps == SPIKE, 100.0, 2.0 / (1 + steps / 250000.0))
        walls = (T0 + steps).tolist()
        points = list(
            zip(["train_loss"] * len(steps), steps.tolist(), values.tolist(), walls, strict=True)
        )
        with transaction.atomic(), connection.cursor() as cursor:
            chunks_record(cursor, run.id, points)
    return run


# The highest point drawn by the loss chart's lines and bands, in SVG pixels from the top.
HIGHEST_DRAWN = """(chart) => Math.min(...[...document.querySelectorAll(`#${chart} svg path`)]
  .filter((p) => p.matches('.chart__line, .chart__band')).map((p) => p.getBBox().y))"""


def spike_drawn(page) -> bool:
    """The y axis reaches 100 and a line or band reaches the plot's top (12 px): with every
    other value under 2, only the spike can."""
    ticks = page.eval_on_selector_all(
        "#chart-loss svg text.chart__tick", "(ts) => ts.map((t) => t.textContent)"
    )
    return "100" in ticks and page.evaluate(HIGHEST_DRAWN, "chart-loss") < 16


def test_a_one_step_spike_among_a_million_points_is_seen_at_every_zoom(
    live_server, browser_page, ada, dataset
):
    page, problems = browser_page
    run = million_point_run(ada, dataset)
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/runs/{run.id}/")
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => document.querySelectorAll('#chart-loss path.chart__band').length >= 1"
    )
    assert spike_drawn(page)  # at full view
    screenshot(page, "run-million-spike-1440")

    box = page.locator("#chart-loss svg").bounding_box()
    left, right = box["x"] + 60, box["x"] + box["width"] - 18  # the plot inside the margins
    at = left + (right - left) * SPIKE / MILLION
    page.mouse.move(at - 25, box["y"] + 100)
    page.mouse.down()
    page.mouse.move(at + 25, box["y"] + 120, steps=5)
    page.mouse.up()
    page.wait_for_selector("[data-run-id][data-reread='1']")
    page.wait_for_timeout(300)
    assert page.get_attribute("[data-run-id]", "data-zoomed") == "true"
    assert spike_drawn(page)  # in the finer re-read of the zoomed range
    screenshot(page, "run-million-spike-zoomed-1440")

    page.set_viewport_size({"width": 390, "height": 900})
    page.dblclick("#chart-loss svg")
    assert page.get_attribute("[data-run-id]", "data-zoomed") == "false"
    page.wait_for_timeout(300)
    assert spike_drawn(page)  # at 390 px: a few hundred pixel columns, the spike still there
    screenshot(page, "run-million-spike-390")
    assert not problems, problems


def test_name_tag_and_search_runs(live_server, browser_page, ada, dataset):
    page, problems = browser_page
    winner = finished_run(ada, dataset, 6, batch_size=8)
    other = finished_run(ada, dataset, 3, batch_size="full")
    sign_in(page, live_server.url)

    page.goto(f"{live_server.url}/runs/{winner.id}/")
    page.click("[data-run-about] summary")
    page.fill("[data-run-about] input[name=name]", "Small batch winner")
    page.fill("[data-run-about] input[name=tags]", "keep, bs-8")
    page.fill("[data-run-about] textarea[name=notes]", "lowest validation loss")
    page.click("[data-run-about] button[type=submit]")
    page.wait_for_selector("h1:has-text('Small batch winner')")
    assert page.inner_text('[data-field="tags"]').split() == ["keep", "bs-8"]
    screenshot(page, "run-named-1440")

    page.goto(f"{live_server.url}/")
    page.fill("input[name=q]", "winner")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(lambda url: "q=winner" in url)
    rows = page.eval_on_selector_all("tr[data-run]", "(rs) => rs.map((r) => r.dataset.run)")
    assert rows == [str(winner.id)]
    page.goto(f"{live_server.url}/?q=lowest")  # words of the notes
    assert page.eval_on_selector_all("tr[data-run]", "(rs) => rs.map((r) => r.dataset.run)") == [
        str(winner.id)
    ]
    page.goto(f"{live_server.url}/")
    page.click(f"tr[data-run='{winner.id}'] a.tag:has-text('keep')")
    page.wait_for_url(lambda url: url.endswith("?tag=keep"))
    assert page.eval_on_selector_all("tr[data-run]", "(rs) => rs.map((r) => r.dataset.run)") == [
        str(winner.id)
    ]
    page.goto(f"{live_server.url}/?q=full")  # a config value
    assert page.eval_on_selector_all("tr[data-run]", "(rs) => rs.map((r) => r.dataset.run)") == [
        str(other.id)
    ]
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{live_server.url}/runs/{winner.id}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "run-named-390")
    assert not problems, problems


def test_a_missing_page_is_styled_with_a_way_back(live_server, browser_page, ada):
    page, problems = browser_page
    sign_in(page, live_server.url)

    response = page.goto(f"{live_server.url}/runs/999999/")

    assert response.status == 404
    assert page.is_visible("[data-error-page='404'] a[href='/']")
    assert page.is_visible("header.topbar")
    screenshot(page, "not-found-1440")


def test_new_user_pages_fit_and_say_what_they_show(live_server, browser_page, ada, dataset):
    """The runs and compare tables show their metric columns at 1440 px; the runs table says its
    accuracy is the best one; a failed run shows no empty charts; the upload form's fields fit
    their placeholders."""
    page, problems = browser_page
    runs = [
        finished_run(
            ada, dataset, 6, batch_size=8, optimizer="sgd", momentum=0.9, learning_rate=0.05
        ),
        finished_run(ada, dataset, 3, batch_size="full", weight_decay=0.001, learning_rate=0.2),
        finished_run(ada, dataset, 6, batch_size=4, lr_schedule={"type": "cosine"}, seed=7),
    ]
    for run in runs:
        Run.objects.filter(pk=run.id).update(
            summary={"best_val_loss": 0.33, "best_val_accuracy": 0.9, "val_accuracy": 0.85}
        )
    failed = finished_run(ada, dataset, 3, batch_size=8)
    Run.objects.filter(pk=failed.id).update(status="failed", error="loss became NaN at step 2")
    MetricChunk.objects.filter(run=failed, name="val_loss").delete()
    MetricBlock.objects.filter(run=failed, name="val_loss").delete()
    sign_in(page, live_server.url)

    # Every metric column inside its card and the window (settings may scroll in the card).
    fits = """(sel) => { const t = document.querySelector(sel); const card = t.closest('.card');
        const right = Math.min(card.getBoundingClientRect().right, innerWidth) + 1;
        return [...t.querySelectorAll('thead th.num')].every(
          (th) => th.getBoundingClientRect().right <= right); }"""
    page.goto(f"{live_server.url}/")
    assert "best val acc." in page.inner_text("table.runs-table thead").lower()
    assert page.evaluate(fits, "table.runs-table")
    screenshot(page, "runs-table-1440")
    page.goto(f"{live_server.url}/runs/compare/?ids={','.join(str(r.id) for r in runs)}")
    assert "final val accuracy" in page.inner_text("table.compare-table thead").lower()
    assert page.evaluate(fits, "table.compare-table")
    screenshot(page, "compare-table-1440")

    page.goto(f"{live_server.url}/runs/{failed.id}/")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    assert page.is_hidden("#chart-accuracy")
    assert page.is_visible("#chart-loss")

    page.goto(f"{live_server.url}/datasets/")
    target = page.locator("input[name=target]")
    needed = page.evaluate(
        """(input) => { const c = document.createElement('canvas').getContext('2d');
            c.font = getComputedStyle(input).font; return c.measureText(input.placeholder).width; }""",
        target.element_handle(),
    )
    assert target.evaluate("(i) => i.clientWidth") > needed + 16
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(f"{live_server.url}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "runs-table-390")
    assert not problems, problems
